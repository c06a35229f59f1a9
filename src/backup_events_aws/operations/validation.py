"""Arguments checked before any AWS call: every operations command, one implementation.

`check_arguments(arguments)` runs (from cli.main) before a command's `run`. It looks
at the flags the command has, whatever the command (deploy, preflight, reconcile,
redrive, and any later one with the same flag names):

* values that become template parameters (--org-id, --backup-account-id,
  --backup-region, --alternate-region, --kms-key, --vault-name, --copy-role-name,
  every --parameter Key=Value) against the template's own Parameters definitions,
  read once (parameters.py: the check CloudFormation would make, docs/AWS-BEHAVIOUR.md §12);
* every region flag against the regions of the partitions botocore ships, all in
  one partition (copies do not cross partitions);
* OU ids, stack names and a few numbers against the forms the AWS APIs accept.

A refusal names the flag, the value and the fix, and exits 2 (CliError.exit_code).
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any

from .. import parameters
from ..cli import CliError
from . import common

USAGE = 2  # exit status of a refused argument, as argparse's own errors

# attribute -> (flag, the template parameter whose definition the value must meet)
PARAMETER_FLAGS = {
    "org_id": ("--org-id", "OrgId"),
    "backup_account_id": ("--backup-account-id", "BackupAccountId"),
    "backup_region": ("--backup-region", "BackupRegion"),
    "alternate_region": ("--alternate-region", "BackupRegionAlternate"),
    "kms_key": ("--kms-key", "VaultCustomKmsKey"),
    "vault_name": ("--vault-name", "VaultName"),
    "copy_role_name": ("--copy-role-name", "CopyRoleName"),
    "alert_kms_key": ("--alert-kms-key", "AlertKmsKey"),
    "name_prefix": ("--name-prefix", "NamePrefix"),
}

# What to do about a bad value, by parameter (the ConstraintDescription says what it must look like).
HINTS = {
    "OrgId": "give the organization's ID: 'aws organizations describe-organization --query Organization.Id'",
    "BackupAccountId": "give the backup account's 12-digit ID: 'aws sts get-caller-identity --query Account' "
    "with its profile",
    "BackupRegion": "give a region code such as us-west-2",
    "BackupRegionAlternate": "give a region code such as us-east-1",
    "VaultCustomKmsKey": "give the multi-region key's full ARN: 'aws kms describe-key --key-id mrk-... "
    "--query KeyMetadata.Arn'",
    "CloudWatchLogsKmsKey": "give the key's full ARN: 'aws kms describe-key --key-id ... --query KeyMetadata.Arn'",
    "SqsKmsKey": "give the key's full ARN: 'aws kms describe-key --key-id ... --query KeyMetadata.Arn'",
    "AlertKmsKey": "give the key's full ARN: 'aws kms describe-key --key-id ... --query KeyMetadata.Arn'",
}

# attribute -> flag, for every flag that names regions (a string or a list)
REGION_FLAGS = {
    "region": "--region",
    "regions": "--regions",
    "main_region": "--main-region",
    "backup_region": "--backup-region",
    "alternate_region": "--alternate-region",
}

# Organizations API: OrganizationalUnitId and RootId patterns (docs/AWS-BEHAVIOUR.md §12).
OU_OR_ROOT = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32}")
# CloudFormation: a stack (or StackSet) name starts with a letter; letters, digits, hyphens; at most 128.
STACK_NAME = re.compile(r"[a-zA-Z][-a-zA-Z0-9]{0,127}")
MAX_VISIBILITY_TIMEOUT = 43_200  # SQS: 12 hours


def refuse(problem: str, fix: str) -> CliError:
    return CliError(problem, fix, exit_code=USAGE)


@functools.lru_cache(maxsize=1)
def known_regions() -> dict[str, str]:
    """{region: partition} for every region of every partition in botocore's endpoints data."""
    import botocore.session

    data = botocore.session.get_session().get_data("endpoints")
    return {region: partition["partition"] for partition in data["partitions"] for region in partition["regions"]}


def check_arguments(arguments: Any) -> None:
    """Raise a CliError (exit 2) for the first bad argument; return if all are fine."""
    definitions = parameters.definitions(common.read_template(getattr(arguments, "template_file", None)))
    check_regions(arguments)
    for attribute, (flag, name) in PARAMETER_FLAGS.items():
        value = getattr(arguments, attribute, None)
        if value is not None and name in definitions:
            check_value(f"{flag} {value!r}", value, name, definitions[name])
    check_parameter_pairs(getattr(arguments, "parameter", None), definitions)
    for ou in getattr(arguments, "organizational_unit_ids", None) or []:
        if not OU_OR_ROOT.fullmatch(ou):
            raise refuse(
                f"--organizational-unit-ids {ou!r} is not an OU or root ID (ou-xxxx-xxxxxxxx or r-xxxx)",
                "list them: 'aws organizations list-roots' and 'aws organizations "
                "list-organizational-units-for-parent --parent-id r-...'",
            )
    stack_name = getattr(arguments, "stack_name", None)
    if stack_name is not None and not STACK_NAME.fullmatch(stack_name):
        raise refuse(
            f"--stack-name {stack_name!r} is not a stack name",
            "a letter, then letters, digits or hyphens, at most 128 in all (e.g. BackupEvents)",
        )
    check_numbers(arguments)


def check_value(shown: str, value: str, name: str, definition: parameters.Definition) -> None:
    """`shown` is how the user gave it: "--org-id 'org-123'" or "--parameter LogLevel=LOUD"."""
    reason = parameters.value_error(value, definition)
    if reason is not None:
        allowed = definition.get("AllowedValues")
        fix = HINTS.get(name) or (f"use one of: {', '.join(allowed)}" if allowed else f"{name} must be {reason}")
        raise refuse(f"{shown} is not a valid {name}: {reason}", fix)


def check_parameter_pairs(pairs: list[str] | None, definitions: dict[str, parameters.Definition]) -> None:
    for pair in pairs or []:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise refuse(f"--parameter {pair!r} is not Key=Value", "write it like --parameter NewDeleteAfterDays=7")
        if key not in definitions:
            close = difflib.get_close_matches(key, list(definitions), n=1)
            raise refuse(
                f"--parameter {pair!r}: the template has no parameter {key!r}",
                (f"did you mean {close[0]}? " if close else "") + f"use one of: {', '.join(definitions)}",
            )
        check_value(f"--parameter {pair}", value, key, definitions[key])


def check_regions(arguments: Any) -> None:
    regions = known_regions()
    partitions: dict[str, str] = {}
    for attribute, flag in REGION_FLAGS.items():
        given = getattr(arguments, attribute, None)
        for region in [given] if isinstance(given, str) else (given or []):
            if region not in regions:
                close = difflib.get_close_matches(region, list(regions), n=1)
                hint = f"did you mean {close[0]}? " if close else ""
                raise refuse(
                    f"{flag} {region!r} is not an AWS region",
                    f"{hint}give a region code such as us-east-1 ('aws account list-regions' lists "
                    "yours); a region newer than this botocore needs 'pip install -U boto3 botocore'",
                )
            partitions.setdefault(regions[region], f"{flag} {region}")
    if len(partitions) > 1:
        raise refuse(
            f"the regions are in different partitions: {', '.join(partitions.values())} ({', '.join(partitions)})",
            "copies cannot cross partitions: use regions of one partition",
        )


def check_numbers(arguments: Any) -> None:
    for attribute, flag, low, high in (
        ("max_messages", "--max-messages", 1, None),
        ("visibility_timeout", "--visibility-timeout", 0, MAX_VISIBILITY_TIMEOUT),
        ("poll_seconds", "--poll-seconds", 0, None),
        ("since", "--since", 1, 365),
    ):
        value = getattr(arguments, attribute, None)
        if value is None:
            continue
        if value < low or (high is not None and value > high):
            limits = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise refuse(f"{flag} {value} is out of range", f"give {flag} a value {limits}")
