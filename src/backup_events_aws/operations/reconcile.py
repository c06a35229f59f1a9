"""`backup-events reconcile`: run the catch-up sweep now, from your laptop.

    backup-events reconcile --profile main --region us-east-1 [--dry-run]
    backup-events reconcile --profile backup --region us-east-1 --invoke

AWS Backup events are best effort; the deployed function sweeps once a day for
what lost events left undone (copies missing, originals not yet shortened). This
command runs that sweep on demand in one stack instance (account and region):

* default: reads the deployed function's settings (the Environment of the
  stack's FunctionName), builds the function with them (lambda_function's
  build_function, as Lambda, the sandbox and the tests do), lists what the
  sweep lists, prints the actions `sweep_actions` decides, and carries them out
  with the function's own `start_copy` / `shorten_retention`, using YOUR credentials (they need
  what the function's role has: backup:List*, StartCopyJob, iam:PassRole of the
  copy role, DescribeRecoveryPoint, UpdateRecoveryPointLifecycle, and
  DescribeBackupVault: shortening reads the vault's lock minimum first).
* `--dry-run`: prints the actions, does nothing.
* `--invoke`: invokes the deployed function with a Scheduled Event instead, so
  the sweep runs with the function's role; prints what it returned.

Every action is idempotent (copies reuse their token; retention is never
lengthened), so running it when all is well changes nothing.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable
from typing import Any

from ..cli import CliError
from . import common

# The function's clock when set (the sandbox's simulated clock, in tests).
clock: Callable[[], datetime.datetime] | None = None


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "reconcile",
        help="run the function's catch-up sweep now (copies missing, originals not shortened)",
        description=__doc__.split("\n\n")[0],
    )
    common.add_aws_arguments(parser)
    common.add_stack_argument(parser)
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--dry-run", action="store_true", help="print what the sweep would do, do nothing")
    how.add_argument(
        "--invoke", action="store_true", help="invoke the deployed function with a Scheduled Event instead"
    )
    parser.set_defaults(run=run)


def load_function(variables: dict[str, str], client: Any) -> Any:
    """The function, built from the deployed function's settings; its AWS calls go
    through `client` (your credentials) and it reads `clock` when set."""
    # Loaded here, not at import: `reconcile --help` starts without boto3.
    from .. import lambda_function

    try:
        return lambda_function.build_function(
            {key: str(value) for key, value in variables.items()},
            clients=lambda region: client,
            clock=clock or lambda_function.utc_now,
        )
    except lambda_function.SettingsError as error:
        raise CliError(
            f"the deployed function's setting {error}",
            "fix the stack's parameters (the function itself fails its cold start with this setting)",
        ) from error


def deployed_function(aws: Any, stack_name: str, profile: str | None) -> dict[str, Any]:
    outputs = common.stack_outputs(aws.client("cloudformation"), stack_name, common.where(aws, profile))
    if "FunctionName" not in outputs:
        raise CliError(
            f"stack {stack_name!r} has no FunctionName output",
            "is it a Backup Events stack? pass the right --stack-name",
        )
    configuration: dict[str, Any] = aws.client("lambda").get_function_configuration(
        FunctionName=outputs["FunctionName"]
    )
    return configuration


def describe_action(action: Any) -> str:
    arguments = action.arguments or {}
    if action.name == "copy":
        return f"copy {arguments['RecoveryPointArn']} -> {arguments['DestinationBackupVaultArn']} ({action.reason})"
    return f"shorten the retention of {arguments.get('RecoveryPointArn')} ({action.reason})"


class Collector(logging.Handler):
    """The function's log records (dicts), to say what it did."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, dict):
            self.records.append(dict(record.msg))


def describe_record(record: dict[str, Any]) -> str | None:
    if record.get("call") == "StartCopyJob":
        return (
            f"started copy job {record['response'].get('CopyJobId')}: "
            f"{record['request']['RecoveryPointArn']} -> {record['request']['DestinationBackupVaultArn']}"
        )
    if record.get("call") == "UpdateRecoveryPointLifecycle":
        before = (record.get("previous") or {}).get("DeleteAfterDays")
        after = record["request"]["Lifecycle"].get("DeleteAfterDays")
        return f"shortened {record['request']['RecoveryPointArn']}: DeleteAfterDays {before} -> {after}"
    if record.get("type") == "no_change":
        return f"left {record.get('recovery_point')} as is: {record.get('reason')}"
    return None


def run(arguments: Any) -> int:
    aws = common.session(arguments.profile, arguments.region)
    stack_name = arguments.stack_name or common.DEFAULT_STACK_NAME
    configuration = deployed_function(aws, stack_name, arguments.profile)
    function_arn = configuration["FunctionArn"]
    _, partition, _, _, function_account = function_arn.split(":")[:5]
    region = aws.region_name
    if arguments.invoke:
        return invoke(aws, configuration, function_account, region)
    caller = common.account_of(aws)
    if caller != function_account:
        raise CliError(
            f"the credentials are for account {caller}, the function is in {function_account}",
            "use that account's --profile",
        )
    variables = (configuration.get("Environment") or {}).get("Variables", {})
    import botocore.config

    from .. import lambda_function

    client = aws.client("backup", config=botocore.config.Config(retries={"mode": "standard"}))
    function = load_function(variables, client)
    module, settings = lambda_function, function.settings
    place = module.Place(partition, function_account, region, settings)
    at = function.clock()
    points, states = module.sweep_inputs(place, client, at)
    actions = module.sweep_actions(points, states, place, at)
    print(
        f"Sweep of {configuration['FunctionName']} in {function_account} {region}, vault "
        f"{settings.vault_name}, last {settings.catch_up_days} days: {len(points)} recovery point(s), "
        f"{sum(len(s) for s in states.values())} copy job(s) to {module.sweep_destination(place)}"
    )
    if not actions:
        print("Nothing to do: every copy exists or is under way, and every original is shortened.")
        return 0
    print(f"{len(actions)} thing(s) to do:")
    for action in actions:
        print(f"  {describe_action(action)}")
    if arguments.dry_run:
        print("Dry run: nothing done.")
        return 0
    event = common.scheduled_event(function_account, region)
    collector = Collector()
    module.logger.addHandler(collector)
    failures = 0
    try:
        for action in actions:
            try:
                if action.name == "copy":
                    function.start_copy(place, action.arguments, event)
                else:
                    function.shorten_retention(place, action.arguments, event)
            except Exception as error:  # noqa: BLE001 - report each, carry on with the others
                failures += 1
                print(f"  FAILED {describe_action(action)}: {error}")
    finally:
        module.logger.removeHandler(collector)
    print("Done:")
    for record in collector.records:
        text = describe_record(record)
        if text:
            print(f"  {text}")
    if failures:
        raise CliError(
            f"{failures} of {len(actions)} action(s) failed",
            "fix the cause shown above (permissions, vault policy, KMS) and run reconcile again",
        )
    return 0


def invoke(aws: Any, configuration: dict[str, Any], account: str, region: str) -> int:
    ok, result = common.invoke(
        aws.client("lambda"), configuration["FunctionName"], common.scheduled_event(account, region)
    )
    if not ok:
        raise CliError(
            f"the function failed: {common.error_message(result)}",
            f"read its log group (/aws/lambda/{configuration['FunctionName']}) and fix the cause",
        )
    print(f"Invoked {configuration['FunctionName']} in {account} {region} with a Scheduled Event:")
    if isinstance(result, dict) and "copies_started" in result:
        print(
            f"  {result.get('recovery_points')} recovery point(s) seen, {result.get('copies_started')} "
            f"copy job(s) started, {result.get('retention_checked')} retention(s) checked"
        )
    else:
        print(f"  {json.dumps(result)}")
    return 0
