"""`backup-events preflight`: is each account and region ready for Backup Events?

    backup-events preflight --profile main --profile backup --region us-east-1 --region us-west-2 \\
        --management-profile management --org-id o-a1b2c3d4e5 --backup-account-id 999977775555 \\
        --backup-region us-west-2 --alternate-region us-east-1 \\
        [--vault-name MyVault] [--kms-key arn:aws:kms:...:key/mrk-...] [--resource-types EFS EBS] \\
        [--sqs-kms-key arn:aws:kms:...] [--logs-kms-key arn:aws:kms:...]

Prints a pass/fail checklist, with the fix for each failure; exits 1 if any fails.

Two halves: `collect` makes the read-only API calls and keeps each response, or
the error it raised, under "service.operation"; the checks are pure functions of
those responses (`check_x(responses, ...) -> Result`), so each is tested alone.
Organization-wide checks run once, with the management account's profile; the
others in every (profile, region), including that the account is in --org-id
(DescribeOrganization, which member accounts may call). Vault and key checks run only when you bring
your own (--vault-name, --kms-key); the sample vaults are made by the template. The keys of the
error queue and the log group (--sqs-kms-key, --logs-kms-key) are checked in their own account:
their key policy must admit the service that encrypts with them.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import botocore.exceptions

from ..cli import CliError
from . import common

BACKUP_SERVICE = "backup.amazonaws.com"
MINIMUM_CONCURRENCY = 1000
DEFAULT_RESERVED_CONCURRENCY = 5  # the template's FunctionReservedConcurrency default


@dataclass(frozen=True)
class Result:
    name: str
    passed: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Failure:
    """An API call that raised: the check reports it instead of a response."""

    code: str
    message: str


# "service.operation" -> the API's response, or the Failure it raised. A check finds no key when
# the call was not made (it does not apply here).
Responses: TypeAlias = dict[str, "dict[str, Any] | Failure"]


def _failed_call(name: str, failure: Failure, permission: str, hint: str = "") -> Result:
    fix = f"use credentials allowed {permission}" + (f"; {hint}" if hint else "")
    return Result(name, False, f"could not check: {failure.code}: {failure.message}", fix)


# --------------------------------------------------------------------------- pure checks


def check_trusted_access(responses: Responses) -> Result:
    name = "Organizations trusted access for AWS Backup (cross-account monitoring)"
    response = responses.get("organizations.list_aws_service_access_for_organization")
    fix = (
        "in the management account: aws organizations enable-aws-service-access "
        f"--service-principal {BACKUP_SERVICE} (or AWS Backup console > Settings > "
        "Cross-account monitoring > Turn on)"
    )
    if isinstance(response, Failure):
        return _failed_call(
            name,
            response,
            "organizations:ListAWSServiceAccessForOrganization",
            "run it with the management account's profile: --management-profile",
        )
    principals = [p.get("ServicePrincipal") for p in (response or {}).get("EnabledServicePrincipals", [])]
    if BACKUP_SERVICE in principals:
        return Result(name, True, f"{BACKUP_SERVICE} is enabled")
    return Result(name, False, f"{BACKUP_SERVICE} is not among the trusted services", fix)


def check_organization(responses: Responses, org_id: str) -> Result:
    """The account belongs to --org-id (DescribeOrganization answers in member accounts too)."""
    name = f"Account is in organization {org_id}"
    response = responses.get("organizations.describe_organization")
    if isinstance(response, Failure):
        if response.code == "AWSOrganizationsNotInUseException":
            return Result(
                name,
                False,
                "this account is not in any organization",
                f"invite it into {org_id} (aws organizations invite-account-to-organization, from "
                "the management account) and accept: copies only work between accounts of one "
                "organization",
            )
        return _failed_call(name, response, "organizations:DescribeOrganization")
    organization = (response or {}).get("Organization", {})
    actual = organization.get("Id", "")
    if actual == org_id:
        return Result(name, True, f"management account {organization.get('MasterAccountId', '?')}")
    return Result(
        name,
        False,
        f"this account is in {actual or 'an unknown organization'}",
        f"pass --org-id {actual} if that is your organization (OrgId), or move the account into {org_id}",
    )


def check_scps_enabled(responses: Responses) -> Result:
    name = "Service control policies enabled"
    response = responses.get("organizations.list_roots")
    if isinstance(response, Failure):
        return _failed_call(
            name,
            response,
            "organizations:ListRoots",
            "run it with the management account's profile: --management-profile",
        )
    roots = (response or {}).get("Roots", [])
    if not roots:
        return Result(
            name,
            False,
            "no organization root found",
            "run it with the management account's profile: --management-profile",
        )
    types = {(p.get("Type"), p.get("Status")) for p in roots[0].get("PolicyTypes", [])}
    if ("SERVICE_CONTROL_POLICY", "ENABLED") in types:
        return Result(name, True, f"enabled on root {roots[0]['Id']}")
    return Result(
        name,
        False,
        f"not enabled on root {roots[0].get('Id')}",
        f"aws organizations enable-policy-type --root-id {roots[0].get('Id')} --policy-type SERVICE_CONTROL_POLICY",
    )


def check_cross_account_backup(responses: Responses) -> Result:
    name = "Cross-account backup enabled"
    response = responses.get("backup.describe_global_settings")
    fix = (
        "in the management account: aws backup update-global-settings --global-settings "
        "isCrossAccountBackupEnabled=true (or AWS Backup console > Settings > Cross-account backup)"
    )
    if isinstance(response, Failure):
        return _failed_call(
            name, response, "backup:DescribeGlobalSettings", "the account must belong to the organization"
        )
    value = str((response or {}).get("GlobalSettings", {}).get("isCrossAccountBackupEnabled", "")).lower()
    if value == "true":
        return Result(name, True, "isCrossAccountBackupEnabled is true")
    return Result(name, False, f"isCrossAccountBackupEnabled is {value or 'not set'}", fix)


def check_opt_in(responses: Responses, resource_types: list[str], region: str) -> Result:
    name = f"AWS Backup service opt-in ({', '.join(resource_types)})"
    response = responses.get("backup.describe_region_settings")
    if isinstance(response, Failure):
        return _failed_call(name, response, "backup:DescribeRegionSettings")
    preferences = (response or {}).get("ResourceTypeOptInPreference", {})
    off = [t for t in resource_types if preferences.get(t) is not True]
    if not off:
        return Result(name, True, "opted in")
    settings = " ".join(f"{t}=true" for t in off)
    return Result(
        name,
        False,
        f"not opted in here: {', '.join(off)}",
        f"aws backup update-region-settings --region {region} --resource-type-opt-in-preference {settings}",
    )


def check_lambda_concurrency(
    responses: Responses, region: str, reservation: int = DEFAULT_RESERVED_CONCURRENCY
) -> Result:
    """The function's reservation must leave Lambda's minimum unreserved concurrency: 100, or the
    whole quota when it is below 100 (new accounts get as little as 10), else creating the function
    fails with "... decreases account's UnreservedConcurrentExecution below its minimum value of [N]"
    (docs/AWS-BEHAVIOUR.md §13)."""
    name = f"Lambda concurrency leaves room for FunctionReservedConcurrency={reservation}"
    response = responses.get("lambda.get_account_settings")
    if isinstance(response, Failure):
        return _failed_call(name, response, "lambda:GetAccountSettings")
    account_limit = (response or {}).get("AccountLimit", {})
    quota = account_limit.get("ConcurrentExecutions", 0)
    unreserved = account_limit.get("UnreservedConcurrentExecutions", quota)
    minimum = min(100, quota)
    if reservation <= 0 or unreserved - reservation >= minimum:
        detail = f"quota {quota:,}, {unreserved:,} unreserved"
        if quota < MINIMUM_CONCURRENCY:
            detail += " (below the usual 1,000: bursts wait longer)"
        return Result(name, True, detail)
    return Result(
        name,
        False,
        f"quota {quota:,}, {unreserved:,} unreserved: reserving {reservation} would leave "
        f"{unreserved - reservation:,}, below Lambda's minimum of {minimum:,} (new accounts start low)",
        "deploy with --parameter FunctionReservedConcurrency=0 (no reservation fits this quota), or "
        f"request an increase: aws service-quotas request-service-quota-increase --region {region} "
        "--service-code lambda --quota-code L-B99A9384 --desired-value 1000",
    )


def _statements(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    statements = (document or {}).get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check_copy_role(responses: Responses, role_name: str) -> Result:
    name = f"Copy role {role_name} exists and trusts {BACKUP_SERVICE}"
    response = responses.get("iam.get_role")
    create = (
        "create it: the AWS Backup console creates service-role/AWSBackupDefaultServiceRole "
        "on the first on-demand backup made with 'Default role'; or pass --copy-role-name "
        "(CopyRoleName) with an existing role"
    )
    if isinstance(response, Failure):
        if response.code == "NoSuchEntity":
            return Result(name, False, "the role does not exist", create)
        return _failed_call(name, response, "iam:GetRole")
    role = (response or {}).get("Role", {})
    for statement in _statements(role.get("AssumeRolePolicyDocument")):
        services = _as_list((statement.get("Principal") or {}).get("Service", []))
        actions = _as_list(statement.get("Action", []))
        if (
            statement.get("Effect") == "Allow"
            and BACKUP_SERVICE in services
            and ("sts:AssumeRole" in actions or "sts:*" in actions)
        ):
            return Result(name, True, role.get("Arn", "found"))
    return Result(
        name,
        False,
        f"{role.get('Arn', 'the role')} does not trust {BACKUP_SERVICE}",
        "add a trust policy statement: Effect Allow, Principal {Service: backup.amazonaws.com}, Action sts:AssumeRole",
    )


def admits_org_copies(policy: Any, org_id: str) -> bool:
    """Does a vault access policy Allow backup:CopyIntoBackupVault to the organization?"""
    for statement in _statements(policy):
        actions = _as_list(statement.get("Action", []))
        if statement.get("Effect") != "Allow" or "backup:CopyIntoBackupVault" not in actions:
            continue
        principal = statement.get("Principal")
        everyone = principal == "*" or (isinstance(principal, dict) and "*" in _as_list(principal.get("AWS", [])))
        if not everyone:
            continue
        conditions = statement.get("Condition") or {}
        orgs = [
            value
            for operator, keys in conditions.items()
            if operator.startswith("StringEquals")
            or operator.startswith("StringLike")
            or operator.startswith("ForAnyValue:StringLike")
            for key, values in keys.items()
            if key in ("aws:PrincipalOrgID", "aws:PrincipalOrgPaths")
            for value in _as_list(values)
        ]
        if any(value == org_id or str(value).startswith(f"{org_id}/") for value in orgs):
            return True
    return False


def check_vault(responses: Responses, vault_name: str, org_id: str, is_backup_account: bool) -> Result:
    name = f"Vault {vault_name} exists" + (" and admits the organization's copies" if is_backup_account else "")
    if vault_name == "Default":
        return Result(
            name, False, "the Default vault cannot receive cross-account copies", "use another vault name (VaultName)"
        )
    vault = responses.get("backup.describe_backup_vault")
    if isinstance(vault, Failure):
        if vault.code == "ResourceNotFoundException":
            return Result(
                name,
                False,
                "the vault does not exist here",
                f"aws backup create-backup-vault --backup-vault-name {vault_name} (same name in "
                "every account and region), or deploy with CreateSampleVaults=true",
            )
        return _failed_call(name, vault, "backup:DescribeBackupVault")
    if not is_backup_account:
        return Result(name, True, (vault or {}).get("BackupVaultArn", "found"))
    policy = responses.get("backup.get_backup_vault_access_policy")
    fix = (
        "put an access policy on it: Effect Allow, Principal *, Action backup:CopyIntoBackupVault, "
        f"Resource *, Condition StringEquals aws:PrincipalOrgID {org_id} "
        "(aws backup put-backup-vault-access-policy)"
    )
    if isinstance(policy, Failure):
        if policy.code == "ResourceNotFoundException":
            return Result(name, False, "the vault has no access policy", fix)
        return _failed_call(name, policy, "backup:GetBackupVaultAccessPolicy")
    if admits_org_copies((policy or {}).get("Policy"), org_id):
        return Result(name, True, f"admits backup:CopyIntoBackupVault from {org_id}")
    return Result(name, False, f"its access policy does not admit copies from {org_id}", fix)


def check_kms_key(responses: Responses, key: str) -> Result:
    name = "KMS key is multi-region and enabled"
    response = responses.get("kms.describe_key")
    if isinstance(response, Failure):
        if response.code == "NotFoundException":
            return Result(
                name,
                False,
                f"{key} not found in this region",
                "replicate the multi-region key here: aws kms replicate-key",
            )
        return _failed_call(name, response, "kms:DescribeKey")
    metadata = (response or {}).get("KeyMetadata", {})
    problems = []
    if not metadata.get("MultiRegion"):
        problems.append("not multi-region")
    if metadata.get("KeyState") != "Enabled":
        problems.append(f"state {metadata.get('KeyState')}")
    if not problems:
        return Result(name, True, metadata.get("Arn", key))
    fixes = []
    if "not multi-region" in problems:
        fixes.append(
            "create a multi-region key (aws kms create-key --multi-region) and replicate it to every region in use"
        )
    if metadata.get("KeyState") != "Enabled":
        fixes.append("enable the key (aws kms enable-key, or cancel its deletion)")
    return Result(name, False, ", ".join(problems), "; ".join(fixes))


def check_vault_limits(responses: Responses, vault_name: str, retention: str) -> Result:
    """The backup account's vault's lock or air-gapped limits are what BackupVaultRetention says: the
    function in a resource account can't read them, and refuses copies from the parameter (§17)."""
    name = f"Vault {vault_name}'s retention limits match BackupVaultRetention {retention}"
    vault = responses.get("backup.describe_backup_vault")
    if not isinstance(vault, dict):
        return Result(name, False, "the vault could not be read", "see the vault check above")
    actual = (vault.get("MinRetentionDays") or 0, vault.get("MaxRetentionDays") or 0) if vault.get("Locked") else (0, 0)
    low, _, high = retention.partition("-") if retention != "none" else ("", "", "")
    given = (int(low or 0), int(high or 0))
    if actual == given:
        return Result(name, True, "no lock" if actual == (0, 0) else f"{actual[0] or '-'}..{actual[1] or '-'} days")
    shown = "none" if actual == (0, 0) else f"{actual[0] or ''}-{actual[1] or ''}"
    return Result(
        name,
        False,
        f"the vault's are {shown}",
        f"deploy with BackupVaultRetention={shown} (--backup-vault-retention {shown} here): copies "
        "outside them fail, and the function refuses them early only if it knows them",
    )


# docs/AWS-BEHAVIOUR.md §4.3: AWS Backup needs these on a key it encrypts or decrypts copies with;
# a source key must also be shared with the account the copy goes to.
KEY_USE = ["kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant"]
KEY_SHARE = ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"]


def _principal_matches(statement: dict[str, Any], principal_arn: str, org_id: str) -> bool:
    """Does the statement's Principal cover this IAM role (its ARN, its account, or * in the org)?"""
    account = principal_arn.split(":")[4]
    partition = principal_arn.split(":")[1]
    principal = statement.get("Principal")
    if principal == "*" or (isinstance(principal, dict) and "*" in _as_list(principal.get("AWS", []))):
        orgs = [
            v
            for keys in (statement.get("Condition") or {}).values()
            for key, values in keys.items()
            if key == "aws:PrincipalOrgID"
            for v in _as_list(values)
        ]
        return not statement.get("Condition") or org_id in orgs
    named = _as_list(principal.get("AWS", [])) if isinstance(principal, dict) else []
    return any(name in (principal_arn, account, f"arn:{partition}:iam::{account}:root") for name in named)


def key_admits(policy: Any, principal_arn: str, actions: list[str], org_id: str = "") -> bool:
    """Does a key policy Allow every one of `actions` to this principal, with no Deny of any?"""
    allowed: set[str] = set()
    for statement in _statements(policy):
        if not _principal_matches(statement, principal_arn, org_id):
            continue
        granted = [
            a
            for a in actions
            if any(fnmatch.fnmatchcase(a, pattern) for pattern in _as_list(statement.get("Action", [])))
        ]
        if statement.get("Effect") == "Deny" and granted:
            return False
        if statement.get("Effect") == "Allow" and not statement.get("NotAction"):
            allowed.update(granted)
    return allowed >= set(actions)


def key_needs(
    key_role: str, account: str, accounts: list[str], backup_account: str, copy_role: str, partition: str = "aws"
) -> list[tuple[str, str, list[str]]]:
    """Who must be able to use a key: (who, principal ARN, actions).

    key_role: "watched" (this account's vault key: its copy role; in a resource account, also the
    backup account, as copy 1 leaves with it), "backup" (the backup account's vault key: its copy role),
    "custom" (VaultCustomKmsKey, every sample vault's: every account's copy role and the backup account).
    """

    def role(of: str) -> str:
        return f"arn:{partition}:iam::{of}:role/{copy_role}"

    users = accounts if key_role == "custom" else [account]
    needs = [(f"the copy role of {of}", role(of), KEY_USE) for of in users]
    if backup_account and (key_role == "custom" or (key_role == "watched" and account != backup_account)):
        needs.append((f"the backup account {backup_account}", f"arn:{partition}:iam::{backup_account}:root", KEY_SHARE))
    return needs


def check_key_policy(
    responses: Responses, what: str, key: str, needs: list[tuple[str, str, list[str]]], org_id: str
) -> Result:
    """The key policy admits each of `needs`; else names the statement to add (§4.3)."""
    name = f"{what} key admits the copies"
    response = responses.get(f"kms.get_key_policy {key}")
    if isinstance(response, Failure):
        return _failed_call(name, response, "kms:GetKeyPolicy", "run it with the profile of the key's account")
    policy = (response or {}).get("Policy")
    missing = [(who, arn, actions) for who, arn, actions in needs if not key_admits(policy, arn, actions, org_id)]
    if not missing:
        return Result(name, True, f"{key} admits {', '.join(who for who, _, _ in needs)}")
    fixes = [
        f"add to {key}'s key policy: Effect Allow, Principal {{AWS: {arn}}}, Action "
        f"[{', '.join(actions)}], Resource * ({who})"
        for who, arn, actions in missing
    ]
    return Result(name, False, f"no statement admits {', '.join(who for who, _, _ in missing)}", "; ".join(fixes))


# docs/AWS-BEHAVIOUR.md §19 items 70 to 72: the services that use SqsKmsKey and CloudWatchLogsKmsKey
# have no identity policy, only the key policy can let them.
EVENTS_SERVICE = "events.amazonaws.com"
QUEUE_KEY_USE = ["kms:GenerateDataKey", "kms:Decrypt"]
LOGS_KEY_USE = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:DescribeKey",
]


def key_admits_service(policy: Any, service: str, actions: list[str]) -> bool:
    """Does a key policy Allow every one of `actions` to this service principal, with no Deny of any?
    (A condition, e.g. on the log group's encryption context, is the policy author's business.)"""
    allowed: set[str] = set()
    for statement in _statements(policy):
        principal = statement.get("Principal")
        named = _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
        if principal != "*" and service not in named:
            continue
        granted = [
            a
            for a in actions
            if any(fnmatch.fnmatchcase(a, pattern) for pattern in _as_list(statement.get("Action", [])))
        ]
        if statement.get("Effect") == "Deny" and granted:
            return False
        if statement.get("Effect") == "Allow" and not statement.get("NotAction"):
            allowed.update(granted)
    return allowed >= set(actions)


def check_service_key_policy(responses: Responses, what: str, key: str, service: str, actions: list[str]) -> Result:
    """The key policy lets `service` use the key; else names the statement to add."""
    name = f"{what} key admits {service}"
    response = responses.get(f"kms.get_key_policy {key}")
    if isinstance(response, Failure):
        return _failed_call(name, response, "kms:GetKeyPolicy", "run it with the profile of the key's account")
    if key_admits_service((response or {}).get("Policy"), service, actions):
        return Result(name, True, f"{key} admits {service}")
    return Result(
        name,
        False,
        f"no statement of {key}'s key policy allows {service} {', '.join(actions)}",
        f"add to its key policy: Effect Allow, Principal {{Service: {service}}}, Action [{', '.join(actions)}], "
        "Resource *",
    )


def check_queue_key_roles(responses: Responses, key: str, role_arns: list[str], org_id: str) -> Result:
    """Another account's error queue uses the key too (the template keeps the key's account): its
    function role sends on-failure records and reads the queue, so the key policy must admit it."""
    name = "SqsKmsKey key admits the other accounts' function roles"
    response = responses.get(f"kms.get_key_policy {key}")
    if isinstance(response, Failure):
        return _failed_call(name, response, "kms:GetKeyPolicy", "run it with the profile of the key's account")
    policy = (response or {}).get("Policy")
    missing = [arn for arn in role_arns if not key_admits(policy, arn, QUEUE_KEY_USE, org_id)]
    if not missing:
        return Result(name, True, f"{key} admits {', '.join(role_arns)}")
    return Result(
        name,
        False,
        f"no statement admits {', '.join(missing)}",
        "; ".join(
            f"add to {key}'s key policy: Effect Allow, Principal {{AWS: {arn}}}, Action "
            f"[{', '.join(QUEUE_KEY_USE)}], Resource *"
            for arn in missing
        ),
    )


def check_regions_differ(backup_region: str, alternate_region: str) -> Result:
    name = "Backup and alternate regions differ"
    if backup_region and backup_region == alternate_region:
        return Result(
            name,
            False,
            f"both are {backup_region}",
            "pick another --alternate-region: it receives copy 2 of backups made in the backup region",
        )
    return Result(name, True, f"{backup_region} / {alternate_region}")


# --------------------------------------------------------------------------- collecting


def make_client(aws: Any, service: str, region: str) -> Any:
    """The client each call uses (tests replace it to stand in for APIs moto lacks)."""
    return aws.client(service, region_name=region)


def call(responses: Responses, aws: Any, region: str, service: str, operation: str, **request: Any) -> None:
    try:
        responses[f"{service}.{operation}"] = getattr(make_client(aws, service, region), operation)(**request)
    except botocore.exceptions.ClientError as error:
        responses[f"{service}.{operation}"] = Failure(
            common.error_code(error), error.response.get("Error", {}).get("Message", "")
        )
    except botocore.exceptions.BotoCoreError as error:
        if isinstance(error, (botocore.exceptions.NoCredentialsError, botocore.exceptions.ProfileNotFound)):
            raise
        responses[f"{service}.{operation}"] = Failure(type(error).__name__, str(error))


def key_in_region(key: str, region: str) -> str:
    """A multi-region key's ARN in `region` (replicas share the key ID)."""
    parts = key.split(":")
    if len(parts) == 6 and parts[2] == "kms":
        parts[3] = region
        return ":".join(parts)
    return key


def organization_results(aws: Any, region: str) -> list[Result]:
    responses: Responses = {}
    call(responses, aws, region, "organizations", "list_aws_service_access_for_organization")
    call(responses, aws, region, "organizations", "list_roots")
    return [check_trusted_access(responses), check_scps_enabled(responses)]


def location_results(aws: Any, region: str, options: Any, account: str, first_region: bool) -> list[Result]:
    responses: Responses = {}
    results = []
    call(responses, aws, region, "backup", "describe_global_settings")
    call(responses, aws, region, "backup", "describe_region_settings")
    call(responses, aws, region, "lambda", "get_account_settings")
    if first_region:  # IAM, the organization and the global settings are per account
        call(responses, aws, region, "organizations", "describe_organization")
        call(responses, aws, region, "iam", "get_role", RoleName=options.copy_role_name.rsplit("/", 1)[-1])
        results += [
            check_organization(responses, options.org_id),
            check_cross_account_backup(responses),
            check_copy_role(responses, options.copy_role_name),
        ]
    results += [
        check_opt_in(responses, options.resource_types, region),
        check_lambda_concurrency(responses, region, options.function_reserved_concurrency),
    ]
    if options.vault_name:
        is_backup = account == options.backup_account_id
        call(responses, aws, region, "backup", "describe_backup_vault", BackupVaultName=options.vault_name)
        if is_backup:
            call(responses, aws, region, "backup", "get_backup_vault_access_policy", BackupVaultName=options.vault_name)
        results.append(check_vault(responses, options.vault_name, options.org_id, is_backup))
        if is_backup and getattr(options, "backup_vault_retention", None):
            results.append(check_vault_limits(responses, options.vault_name, options.backup_vault_retention))
        vault = responses.get("backup.describe_backup_vault")
        vault_key = vault.get("EncryptionKeyArn") if isinstance(vault, dict) else None
        if vault_key and ":alias/aws/" not in vault_key and vault_key.split(":")[4:5] == [account]:
            results += key_results(
                aws, region, "backup" if is_backup else "watched", "The vault's", vault_key, account, options
            )
    if options.kms_key:
        key = key_in_region(options.kms_key, region)
        call(responses, aws, region, "kms", "describe_key", KeyId=key)
        results.append(check_kms_key(responses, options.kms_key))
        if key.split(":")[4:5] == [account]:  # only the key's own account may read its policy
            results += key_results(aws, region, "custom", "VaultCustomKmsKey", key, account, options)
    # The error queue's and the log group's keys: the template uses the parameter's key in each region.
    service_keys = [
        ("SqsKmsKey", getattr(options, "sqs_kms_key", None), EVENTS_SERVICE, QUEUE_KEY_USE),
        ("CloudWatchLogsKmsKey", getattr(options, "logs_kms_key", None), f"logs.{region}.amazonaws.com", LOGS_KEY_USE),
    ]
    for what, given, service, actions in service_keys:
        if given and given.split(":")[4:5] == [account]:
            key = key_in_region(given, region)
            key_responses: Responses = {}
            read_key_policy(key_responses, aws, region, key)
            results.append(check_service_key_policy(key_responses, what, key, service, actions))
            others = [a for a in dict.fromkeys(getattr(options, "accounts", None) or []) if a != account]
            if what == "SqsKmsKey" and others:
                partition, prefix = key.split(":")[1], getattr(options, "name_prefix", "BackupEvents")
                roles = [f"arn:{partition}:iam::{other}:role/{prefix}-Function-{region}" for other in others]
                results.append(check_queue_key_roles(key_responses, key, roles, options.org_id))
    return results


def read_key_policy(responses: Responses, aws: Any, region: str, key: str) -> None:
    try:
        responses[f"kms.get_key_policy {key}"] = make_client(aws, "kms", region).get_key_policy(
            KeyId=key, PolicyName="default"
        )
    except botocore.exceptions.ClientError as error:
        responses[f"kms.get_key_policy {key}"] = Failure(
            common.error_code(error), error.response.get("Error", {}).get("Message", "")
        )


def key_results(aws: Any, region: str, key_role: str, what: str, key: str, account: str, options: Any) -> list[Result]:
    """The key policy check, unless the key is AWS managed (its policy is AWS's: nothing to add)."""
    responses: Responses = {}
    call(responses, aws, region, "kms", "describe_key", KeyId=key)
    described = responses["kms.describe_key"]
    if isinstance(described, dict) and described.get("KeyMetadata", {}).get("KeyManager") == "AWS":
        return []
    read_key_policy(responses, aws, region, key)
    accounts = list(dict.fromkeys(getattr(options, "accounts", None) or [account]))
    needs = key_needs(
        key_role, account, accounts, options.backup_account_id or "", options.copy_role_name, key.split(":")[1]
    )
    return [check_key_policy(responses, what, key, needs, options.org_id)]


# --------------------------------------------------------------------------- the command


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "preflight",
        help="check that accounts and regions are ready (pass/fail, with fixes)",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        help="an account's profile (repeatable; default: the current credentials)",
    )
    parser.add_argument("--region", action="append", default=[], help="a region to check (repeatable)")
    parser.add_argument(
        "--management-profile", help="profile of the organization's management account (Organizations checks)"
    )
    parser.add_argument("--org-id", required=True, help="the organization ID, o-...")
    parser.add_argument(
        "--backup-account-id", help="the backup account (its vault must admit copies; required with --vault-name)"
    )
    parser.add_argument("--backup-region", required=True)
    parser.add_argument("--alternate-region", required=True)
    parser.add_argument(
        "--copy-role-name",
        default="service-role/AWSBackupDefaultServiceRole",
        help="CopyRoleName (default %(default)s)",
    )
    parser.add_argument("--vault-name", help="your own vault's name (VaultName) when not using sample vaults")
    parser.add_argument("--kms-key", help="your own multi-region KMS key's ARN (VaultCustomKmsKey)")
    parser.add_argument("--name-prefix", default="BackupEvents", help="NamePrefix (default %(default)s)")
    parser.add_argument(
        "--sqs-kms-key", help="SqsKmsKey you will deploy with: its key policy must admit events.amazonaws.com"
    )
    parser.add_argument(
        "--logs-kms-key",
        help="CloudWatchLogsKmsKey you will deploy with: its key policy must admit logs.<region>.amazonaws.com",
    )
    parser.add_argument(
        "--backup-vault-retention",
        metavar="MIN-MAX",
        help="BackupVaultRetention: with --vault-name, the backup account's vault lock or "
        "air-gapped limits must be these (none = no lock)",
    )
    parser.add_argument(
        "--function-reserved-concurrency",
        type=int,
        default=DEFAULT_RESERVED_CONCURRENCY,
        metavar="N",
        help="FunctionReservedConcurrency you will deploy with (default %(default)s)",
    )
    parser.add_argument(
        "--resource-types",
        nargs="+",
        default=["EFS"],
        metavar="TYPE",
        help="resource types you back up, as AWS Backup names them (default: EFS)",
    )
    parser.set_defaults(run=run)


def print_results(title: str, results: list[Result], out: Callable[[str], None] = print) -> None:
    out(f"\n{title}")
    for result in results:
        out(f"  {'PASS' if result.passed else 'FAIL'}  {result.name}: {result.detail}")
        if not result.passed and result.fix:
            out(f"        fix: {result.fix}")


def run(arguments: Any) -> int:
    if arguments.vault_name and not arguments.backup_account_id:
        # Only the backup account's vault must admit the organization's copies: without knowing which
        # account that is, every account's policy would be checked (and fail) or none would.
        raise CliError(
            "--vault-name needs --backup-account-id",
            "pass --backup-account-id: its vault is checked for an access policy admitting the "
            "organization's copies, the other accounts' vaults only for existing",
        )
    profiles = arguments.profile or [None]
    regions = list(dict.fromkeys(arguments.region)) or [None]
    failures = 0
    # Every account's copy role must be able to use VaultCustomKmsKey: know them all first.
    arguments.accounts = [common.account_of(common.session(profile, regions[0])) for profile in profiles]
    general = [check_regions_differ(arguments.backup_region, arguments.alternate_region)]
    print_results("Layout", general)
    failures += sum(not r.passed for r in general)
    management = arguments.management_profile or profiles[0]
    aws = common.session(management, regions[0])
    results = organization_results(aws, aws.region_name)
    print_results(f"Organization (profile {management or 'default credentials'})", results)
    failures += sum(not r.passed for r in results)
    for profile in profiles:
        for index, region in enumerate(regions):
            aws = common.session(profile, region)
            account = common.account_of(aws)
            results = location_results(aws, aws.region_name, arguments, account, index == 0)
            print_results(f"Account {account} (profile {profile or 'default credentials'}), {aws.region_name}", results)
            failures += sum(not r.passed for r in results)
    print(f"\n{failures} check(s) failed" if failures else "\nAll checks passed")
    return 1 if failures else 0
