"""`backup-events deploy`: put the template in place, as 3 stacks or as a StackSet.

Minimum layout (README: Accounts, regions and stack instances), 3 stacks, backup account first (its vaults and event
bus must exist before the main account copies and forwards to them):

    backup-events deploy --main-profile main --backup-profile backup \\
        --main-region us-east-1 --backup-region us-west-2 --alternate-region us-east-1 \\
        --org-id o-a1b2c3d4e5 [--parameter NewDeleteAfterDays=7 ...] [--dry-run]

Service-managed StackSet, from the management account (or a delegated admin with
--call-as DELEGATED_ADMIN), auto-deployment on by default:

    backup-events deploy --stackset --profile management --region us-east-1 \\
        --org-id o-a1b2c3d4e5 --backup-account-id 999977775555 \\
        --backup-region us-west-2 --alternate-region us-east-1 \\
        --organizational-unit-ids ou-abcd-11111111 --regions us-east-1 us-west-2

The StackSet's instances are created in two operations, the backup account's first (its
vaults and event bus must exist before the other accounts' rules target that bus).

Each stack is created, or updated if it exists ("No updates are to be performed" is
success). The template goes as TemplateBody (at most 51,200 bytes, checked first).
Every stack event and operation status change is printed as it happens.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.exceptions

from ..cli import CliError
from . import common

SUCCESSES = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE")


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "deploy",
        help="deploy the template: 3 stacks (minimum layout) or a service-managed StackSet",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--org-id", required=True, help="the organization ID, o-...")
    parser.add_argument("--backup-region", help="region that receives copy 2 (BackupRegion)")
    parser.add_argument(
        "--alternate-region", help="receives copy 2 of backups made in the backup region (BackupRegionAlternate)"
    )
    parser.add_argument(
        "--backup-account-id",
        help="the backup account (default: the --backup-profile's account, which it must "
        "match; required with --stackset)",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        metavar="Key=Value",
        default=[],
        help="any other template parameter (repeatable)",
    )
    common.add_stack_argument(parser)
    parser.add_argument("--template-file", help="the template (default: the one shipped with this tool)")
    parser.add_argument("--dry-run", action="store_true", help="print the API calls, make none")
    parser.add_argument("--poll-seconds", type=float, default=5.0, help="time between progress polls")
    stacks = parser.add_argument_group("3 stacks (minimum layout)")
    stacks.add_argument("--main-profile", help="profile of the main (resource) account")
    stacks.add_argument("--backup-profile", help="profile of the backup account")
    stacks.add_argument("--main-region", help="region where the main account has backups")
    stackset = parser.add_argument_group("StackSet")
    stackset.add_argument("--stackset", action="store_true", help="deploy a service-managed StackSet")
    stackset.add_argument("--profile", help="profile of the management (or delegated admin) account")
    stackset.add_argument("--region", help="region of the StackSet itself")
    stackset.add_argument(
        "--organizational-unit-ids",
        nargs="+",
        metavar="OU",
        help="OUs (or the root r-...) whose accounts get instances",
    )
    stackset.add_argument(
        "--regions",
        nargs="+",
        metavar="REGION",
        help="regions of the instances: where backups are, plus the backup and alternate regions",
    )
    stackset.add_argument(
        "--no-auto-deployment", action="store_true", help="do not deploy to accounts that join the OUs later"
    )
    stackset.add_argument("--call-as", choices=["SELF", "DELEGATED_ADMIN"], default="SELF")
    parser.set_defaults(run=run)


# --------------------------------------------------------------------------- plans


def base_parameters(arguments: Any, body: str, backup_account: str) -> list[dict[str, str]]:
    known = common.template_parameter_names(body)
    extra = common.parse_parameters(arguments.parameter, known)
    core = {
        "OrgId": arguments.org_id,
        "BackupAccountId": backup_account,
        "BackupRegion": arguments.backup_region,
        "BackupRegionAlternate": arguments.alternate_region,
    }
    clash = sorted(set(core) & set(extra))
    if clash:
        raise CliError(
            f"--parameter {clash[0]} repeats a flag",
            "give OrgId, BackupAccountId, BackupRegion and BackupRegionAlternate with "
            "--org-id, --backup-account-id, --backup-region and --alternate-region",
        )
    return [{"ParameterKey": key, "ParameterValue": str(value)} for key, value in {**core, **extra}.items()]


def stack_instances(main_region: str, backup_region: str, alternate_region: str) -> list[tuple[str, str]]:
    """(role, region) in deployment order: backup account first (README: Accounts, regions and stack instances)."""
    backup_regions = [main_region, backup_region]
    if main_region == backup_region:
        backup_regions = [main_region, alternate_region]  # copy 1 is already there: copy 2 goes on
    return [("backup", region) for region in backup_regions] + [("main", main_region)]


def require(arguments: Any, *names: str) -> None:
    for name in names:
        if not getattr(arguments, name.replace("-", "_")):
            raise CliError(f"--{name} is required", f"pass --{name}")


def run(arguments: Any) -> int:
    require(arguments, "backup-region", "alternate-region")
    if arguments.backup_region == arguments.alternate_region:
        raise CliError(
            "--alternate-region must differ from --backup-region",
            "it receives copy 2 of the backups made in the backup region: pick another region",
        )
    body = common.read_template(arguments.template_file)
    stack_name = arguments.stack_name or common.template_metadata(body).get(
        "SuggestedStackName", common.DEFAULT_STACK_NAME
    )
    if arguments.stackset:
        return deploy_stackset(arguments, body, stack_name)
    return deploy_stacks(arguments, body, stack_name)


# --------------------------------------------------------------------------- 3 stacks


def deploy_stacks(arguments: Any, body: str, stack_name: str) -> int:
    require(arguments, "main-region")
    for flag in ("organizational_unit_ids", "regions"):
        if getattr(arguments, flag):
            raise CliError(f"--{flag.replace('_', '-')} is for --stackset", "add --stackset, or drop it")
    capabilities = common.capabilities_for(body)
    plan = stack_instances(arguments.main_region, arguments.backup_region, arguments.alternate_region)
    profiles = {"main": arguments.main_profile, "backup": arguments.backup_profile}
    if arguments.dry_run:
        backup_account = arguments.backup_account_id or f"<account of profile {arguments.backup_profile}>"
        parameters = base_parameters(arguments, body, backup_account)
        print(f"Would deploy stack {stack_name!r} as {len(plan)} instances, in this order:")
        for role, region in plan:
            profile = profiles[role] or "default credentials"
            print(f"  {role} account (profile {profile}), {region}:")
            print(f"    cloudformation.describe_stacks(StackName={stack_name!r})")
            print(
                f"    cloudformation.create_stack (or update_stack if it exists)(StackName={stack_name!r}, "
                f"TemplateBody=<{len(body.encode()):,} bytes>, Capabilities={capabilities}, "
                f"Parameters={json.dumps(parameters)})"
            )
            print("    cloudformation.describe_stack_events / describe_stacks until complete")
        return 0
    sessions = {}
    for role, region in plan:
        sessions[(role, region)] = common.session(profiles[role], region)
    backup_account = common.account_of(sessions[plan[0]])
    if arguments.backup_account_id and arguments.backup_account_id != backup_account:
        profile = arguments.backup_profile or "default credentials"
        raise CliError(
            f"--backup-account-id {arguments.backup_account_id} is not the account of "
            f"--backup-profile ({profile}: account {backup_account})",
            "pass the backup account's profile as --backup-profile, or drop --backup-account-id "
            "(it defaults to that profile's account)",
        )
    main_account = common.account_of(sessions[plan[-1]])
    if main_account == backup_account:
        raise CliError(
            f"--main-profile and --backup-profile are both account {main_account}",
            "the backup account must be a separate account: use its profile for --backup-profile",
        )
    parameters = base_parameters(arguments, body, backup_account)
    progress = common.Progress()
    results = []
    for role, region in plan:
        account = backup_account if role == "backup" else main_account
        label = f"{role} account {account} {region}"
        progress.say(f"{label}: stack {stack_name}")
        cloudformation = sessions[(role, region)].client("cloudformation")
        status, outputs, reason = create_or_update(
            cloudformation, stack_name, body, parameters, capabilities, progress, label, arguments.poll_seconds
        )
        results.append((label, status, outputs))
        if status not in SUCCESSES + ("NO_CHANGES",):
            print_results(results)
            fix = "read the FAILED events above, fix the cause, and run deploy again"
            if status == "ROLLBACK_COMPLETE":  # a failed creation: the stack can only be deleted
                fix = (
                    f"fix the cause, delete the stack ('aws cloudformation delete-stack --stack-name "
                    f"{stack_name}') and run deploy again"
                )
            raise CliError(f"stack {stack_name} in {label} ended {status}" + (f": {reason}" if reason else ""), fix)
    print_results(results)
    return 0


def print_results(results: list[tuple[str, str, dict[str, str]]]) -> None:
    print("\nResult:")
    for label, status, outputs in results:
        print(f"  {label}: {status}")
        if outputs.get("ErrorQueueUrl"):
            print(f"    ErrorQueueUrl {outputs['ErrorQueueUrl']}")


def create_or_update(
    cloudformation: Any,
    stack_name: str,
    body: str,
    parameters: list[dict[str, str]],
    capabilities: list[str],
    progress: common.Progress,
    label: str,
    poll_seconds: float,
) -> tuple[str, dict[str, str], str]:
    """Create the stack, or update it; wait, printing each event. Returns (status, outputs, the first
    failure: "<resource> <status>: <reason>", or "")."""
    existing = common.describe_stack(cloudformation, stack_name)
    request = {"StackName": stack_name, "TemplateBody": body, "Parameters": parameters, "Capabilities": capabilities}
    seen = set()
    if existing is not None:
        if existing["StackStatus"] == "ROLLBACK_COMPLETE":
            raise CliError(
                f"stack {stack_name} in {label} is ROLLBACK_COMPLETE (its creation failed)",
                f"delete it ('aws cloudformation delete-stack --stack-name {stack_name}') and deploy again",
            )
        if existing["StackStatus"].endswith("_IN_PROGRESS"):
            raise CliError(
                f"stack {stack_name} in {label} is busy: {existing['StackStatus']}",
                "wait until it finishes, then deploy again",
            )
        # Events from earlier operations are history, not progress.
        seen = {event["EventId"] for event in recent_events(cloudformation, stack_name)}
        try:
            cloudformation.update_stack(**request)
        except botocore.exceptions.ClientError as error:
            if "No updates are to be performed" in str(error):
                progress.say(f"{label}: no changes")
                return "NO_CHANGES", common.outputs_of(existing), ""
            raise
        progress.say(f"{label}: update_stack started")
    else:
        cloudformation.create_stack(**request)
        progress.say(f"{label}: create_stack started")
    first_failure = ""
    while True:
        for event in reversed(recent_events(cloudformation, stack_name)):
            if event["EventId"] in seen:
                continue
            seen.add(event["EventId"])
            reason = f" {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
            progress.say(
                f"{label}: {event['LogicalResourceId']} {event.get('ResourceType', '')} "
                f"{event['ResourceStatus']}{reason}"
            )
            if event["ResourceStatus"].endswith("_FAILED") and reason and not first_failure:
                # The first failure is the cause; later ones are usually "Resource creation cancelled".
                first_failure = f"{event['LogicalResourceId']} {event['ResourceStatus']}:{reason}"
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            progress.say(f"{label}: {status}")
            return status, common.outputs_of(stack), first_failure
        common.sleep(poll_seconds)


def recent_events(cloudformation: Any, stack_name: str) -> list[dict[str, Any]]:
    """The latest page of stack events, newest first (enough to follow one operation)."""
    events: list[dict[str, Any]] = cloudformation.describe_stack_events(StackName=stack_name).get("StackEvents", [])
    return events


# --------------------------------------------------------------------------- StackSet


def deploy_stackset(arguments: Any, body: str, name: str) -> int:
    require(arguments, "backup-account-id", "organizational-unit-ids", "regions")
    for flag in ("main_profile", "backup_profile", "main_region"):
        if getattr(arguments, flag):
            raise CliError(
                f"--{flag.replace('_', '-')} is for the 3-stack layout",
                "with --stackset use --profile, --region and --regions",
            )
    parameters = base_parameters(arguments, body, arguments.backup_account_id)
    capabilities = common.capabilities_for(body)
    description = common.template_metadata(body).get("StackSetDescription", "Backup Events")
    auto = {"Enabled": not arguments.no_auto_deployment, "RetainStacksOnAccountRemoval": False}
    regions = list(dict.fromkeys(arguments.regions))
    for needed in (arguments.backup_region, arguments.alternate_region):
        if needed not in regions:
            raise CliError(
                f"--regions lacks {needed}",
                "the backup account needs an instance in the backup and alternate regions: add them to --regions",
            )
    stackset_request = {
        "StackSetName": name,
        "Description": description,
        "TemplateBody": body,
        "Parameters": parameters,
        "Capabilities": capabilities,
        "PermissionModel": "SERVICE_MANAGED",
        "AutoDeployment": auto,
        "CallAs": arguments.call_as,
    }
    instances_requests = stackset_instance_requests(
        name, arguments.organizational_unit_ids, arguments.backup_account_id, regions, arguments.call_as
    )
    if arguments.dry_run:
        shown = dict(stackset_request, TemplateBody=f"<{len(body.encode()):,} bytes>")
        print(
            f"Would deploy StackSet {name!r} (profile {arguments.profile or 'default credentials'}, "
            f"region {arguments.region or 'default'}):"
        )
        print(f"  cloudformation.describe_stack_set(StackSetName={name!r}, CallAs={arguments.call_as!r})")
        print(f"  cloudformation.create_stack_set (or update_stack_set if it exists)({json.dumps(shown)})")
        for step, request in zip(
            ("the backup account first", "then every other account"), instances_requests, strict=True
        ):
            print(f"  {step}: cloudformation.create_stack_instances({json.dumps(request)})")
            print("    cloudformation.describe_stack_set_operation until done")
        print("  cloudformation.describe_stack_set_operation until done; list_stack_instances")
        return 0
    aws = common.session(arguments.profile, arguments.region)
    cloudformation = aws.client("cloudformation")
    progress = common.Progress()
    exists = True
    try:
        cloudformation.describe_stack_set(StackSetName=name, CallAs=arguments.call_as)
    except botocore.exceptions.ClientError as error:
        if common.error_code(error) != "StackSetNotFoundException":
            raise
        exists = False
    if exists:
        update = {key: value for key, value in stackset_request.items() if key != "StackSetName"}
        try:
            operation = cloudformation.update_stack_set(StackSetName=name, **update)["OperationId"]
        except botocore.exceptions.ClientError as error:
            if "No updates are to be performed" not in str(error):
                raise
            progress.say(f"StackSet {name}: no changes")
        else:
            progress.say(f"StackSet {name}: update_stack_set started (operation {operation})")
            status = wait_operation(cloudformation, name, operation, arguments, progress)
            if status != "SUCCEEDED":
                # The existing instances did not take the update: adding more would spread a failure.
                failed = print_instances(cloudformation, name, arguments.call_as)
                raise CliError(
                    f"StackSet {name}: update_stack_set operation {operation} ended {status}"
                    f"{operation_reason(cloudformation, name, operation, arguments.call_as)}, "
                    f"{failed} instance(s) not CURRENT; no instances were added",
                    "read the status reasons above, fix the cause, and run deploy again",
                )
    else:
        cloudformation.create_stack_set(**stackset_request)
        progress.say(f"StackSet {name}: created")
    # Two operations, the backup account's instances first: its vaults and bus must exist before a
    # resource account's rule targets that bus (EventBridge checks the target bus when the rule's
    # targets are put, docs/AWS-BEHAVIOUR.md §14) and before copies arrive. One operation would
    # deploy the accounts in no order we choose.
    for step, request in zip(("backup account", "other accounts"), instances_requests, strict=True):
        operation = cloudformation.create_stack_instances(**request)["OperationId"]
        progress.say(f"StackSet {name}: create_stack_instances ({step}) started (operation {operation})")
        status = wait_operation(cloudformation, name, operation, arguments, progress)
        failed = print_instances(cloudformation, name, arguments.call_as)
        if status != "SUCCEEDED" or failed:
            raise CliError(
                f"StackSet {name}: operation {status}"
                f"{operation_reason(cloudformation, name, operation, arguments.call_as)}, "
                f"{failed} instance(s) not CURRENT"
                + ("; the other accounts were not started" if step == "backup account" else ""),
                "read the status reasons above, fix the cause, and run deploy again",
            )
    return 0


def stackset_instance_requests(
    name: str, organizational_units: list[str], backup_account: str, regions: list[str], call_as: str
) -> list[dict[str, Any]]:
    """The two CreateStackInstances requests: the backup account (INTERSECTION of the OUs with it),
    then every other account of the OUs (DIFFERENCE)."""
    preferences = {"RegionConcurrencyType": "PARALLEL", "FailureToleranceCount": 0, "MaxConcurrentPercentage": 100}
    return [
        {
            "StackSetName": name,
            "Regions": regions,
            "OperationPreferences": preferences,
            "CallAs": call_as,
            "DeploymentTargets": {
                "OrganizationalUnitIds": organizational_units,
                "Accounts": [backup_account],
                "AccountFilterType": filter_type,
            },
        }
        for filter_type in ("INTERSECTION", "DIFFERENCE")
    ]


def wait_operation(cloudformation: Any, name: str, operation: str, arguments: Any, progress: common.Progress) -> str:
    last = None
    while True:
        status = cloudformation.describe_stack_set_operation(
            StackSetName=name, OperationId=operation, CallAs=arguments.call_as
        )["StackSetOperation"]["Status"]
        if status != last:
            progress.say(f"StackSet {name}: operation {operation} {status}")
            last = status
        if status not in ("RUNNING", "QUEUED", "STOPPING"):
            return str(status)
        common.sleep(arguments.poll_seconds)


def operation_reason(cloudformation: Any, name: str, operation: str, call_as: str) -> str:
    """ ": <StatusReason>" of a StackSet operation, or "" when it gives none."""
    reason = cloudformation.describe_stack_set_operation(StackSetName=name, OperationId=operation, CallAs=call_as)[
        "StackSetOperation"
    ].get("StatusReason")
    return f": {reason}" if reason else ""


def print_instances(cloudformation: Any, name: str, call_as: str) -> int:
    """Prints every instance's status; returns how many are not CURRENT."""
    print("\nStack instances:")
    failed = 0
    pages = cloudformation.get_paginator("list_stack_instances").paginate(StackSetName=name, CallAs=call_as)
    for page in pages:
        for instance in page.get("Summaries", []):
            status = instance.get("Status", "")
            detailed = (instance.get("StackInstanceStatus") or {}).get("DetailedStatus", "")
            reason = instance.get("StatusReason") or ""
            print(f"  {instance['Account']} {instance['Region']}: {status} {detailed} {reason}".rstrip())
            failed += status != "CURRENT"
    return failed
