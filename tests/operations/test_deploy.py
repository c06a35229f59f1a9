"""deploy: 3 stacks and a service-managed StackSet, on the sandbox."""

from __future__ import annotations

import pytest
from moto.organizations.models import organizations_backends
from operations_support import json_template, run, write_profiles

from backup_events_aws.operations import common, deploy
from backup_events_aws.sandbox import Organization

EAST, WEST2 = "us-east-1", "us-west-2"
MAIN, BACKUP = "000022224444", "999977775555"
ARGS = [
    "deploy",
    "--main-profile",
    "main",
    "--backup-profile",
    "backup",
    "--main-region",
    EAST,
    "--backup-region",
    WEST2,
    "--alternate-region",
    EAST,
    "--org-id",
    "o-xxxxxxxxxx",
    "--poll-seconds",
    "0",
]


@pytest.fixture
def org(tmp_path, monkeypatch):
    organization = Organization.minimum().start(deploy=False)
    try:
        write_profiles(organization, tmp_path, monkeypatch)
        yield organization
    finally:
        organization.stop()


def test_three_stacks_backup_account_first_with_outputs(org, tmp_path, capsys):
    code, out, err = run(
        capsys, *ARGS, "--template-file", str(json_template(tmp_path)), "--parameter", "NewDeleteAfterDays=9"
    )
    assert (code, err) == (0, "")
    for account, region in [(BACKUP, EAST), (BACKUP, WEST2), (MAIN, EAST)]:
        stack = org.client("cloudformation", account, region).describe_stacks(StackName="BackupEvents")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
        assert parameters["BackupAccountId"] == BACKUP and parameters["NewDeleteAfterDays"] == "9"
        assert org.stack_outputs(account, region)["ErrorQueueUrl"] in out
    assert "EventBusArn" in org.stack_outputs(BACKUP, EAST)
    assert "EventBusArn" not in org.stack_outputs(MAIN, EAST)
    # Backup account first (its bus and vaults), then the main account; progress has elapsed times.
    order = [
        out.index(f"{role} account {account} {region}: stack")
        for role, account, region in [("backup", BACKUP, EAST), ("backup", BACKUP, WEST2), ("main", MAIN, EAST)]
    ]
    assert order == sorted(order)
    # Each stack event as it happens (moto records stack-level events only).
    assert "s] backup account 999977775555 us-east-1: BackupEvents AWS::CloudFormation::Stack CREATE_COMPLETE" in out
    # The deployed stacks work: a backup ends up copied twice and the original shortened.
    org.bridge.start_schedules()
    org.start_backup(MAIN, EAST, org.create_resource("EFS", MAIN, EAST))
    org.run_until_idle()
    assert len(org.recovery_points(account=BACKUP)) == 2


def test_second_deploy_is_an_update_without_changes(org, tmp_path, capsys, monkeypatch):
    template = str(json_template(tmp_path))
    assert run(capsys, *ARGS, "--template-file", template)[0] == 0
    # moto updates even when nothing changed; AWS answers with this error, which is success.
    import botocore.exceptions

    calls = []

    def no_updates(self, **request):
        calls.append(request["StackName"])
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "ValidationError", "Message": "No updates are to be performed."}}, "UpdateStack"
        )

    monkeypatch.setattr("botocore.client.BaseClient._make_api_call", _only("UpdateStack", no_updates))
    code, out, err = run(capsys, *ARGS, "--template-file", template)
    assert (code, err) == (0, "") and len(calls) == 3
    assert out.count(": NO_CHANGES") == 3


def _only(operation, replacement):
    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    def call(self, name, request):
        if name == operation:
            return replacement(self, **request)
        return original(self, name, request)

    return call


def test_update_when_the_parameters_change(org, tmp_path, capsys):
    template = str(json_template(tmp_path))
    assert run(capsys, *ARGS, "--template-file", template)[0] == 0
    code, out, _ = run(capsys, *ARGS, "--template-file", template, "--parameter", "NewDeleteAfterDays=14")
    assert code == 0 and "update_stack started" in out
    stack = org.client("cloudformation", MAIN, EAST).describe_stacks(StackName="BackupEvents")["Stacks"][0]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["NewDeleteAfterDays"] == "14"


def test_dry_run_prints_the_calls_and_makes_none(org, capsys):
    code, out, _ = run(capsys, *ARGS, "--backup-account-id", BACKUP, "--dry-run")
    assert code == 0
    size = len(common.read_template().encode())
    # The template names the function's role (the alert topic admits it by name): CAPABILITY_NAMED_IAM.
    assert f"TemplateBody=<{size:,} bytes>" in out and "Capabilities=['CAPABILITY_NAMED_IAM']" in out
    assert out.index("backup account (profile backup), us-west-2") < out.index("main account (profile main), us-east-1")
    for account, region in [(BACKUP, EAST), (MAIN, EAST)]:
        assert org.client("cloudformation", account, region).describe_stacks()["Stacks"] == []


def test_the_shipped_template_fits_template_body():
    body = common.read_template()
    assert len(body.encode()) <= common.MAX_TEMPLATE_BYTES
    assert common.template_metadata(body)["SuggestedStackName"] == "BackupEvents"
    assert {"OrgId", "BackupAccountId", "NewDeleteAfterDays", "FunctionTimeout"} <= set(
        common.template_parameter_names(body)
    )


def test_too_big_template_is_refused(tmp_path, capsys):
    big = tmp_path / "big.yaml"
    big.write_text("#" * 51_201)
    code, out, err = run(capsys, *ARGS, "--template-file", str(big), "--dry-run")
    assert code == 1 and "51,201 bytes" in err and "fix:" in err and "Traceback" not in err


def test_unknown_parameter_and_same_regions_are_refused(capsys):
    code, _, err = run(capsys, *ARGS, "--parameter", "NoSuch=1", "--dry-run")
    assert code == 2 and "no parameter 'NoSuch'" in err  # refused before any call: a usage error
    bad = [a if a != WEST2 else EAST for a in ARGS]
    code, _, err = run(capsys, *bad, "--dry-run")
    assert code == 1 and "--alternate-region must differ" in err


def test_capabilities():
    assert common.capabilities_for("Type: AWS::IAM::Role\n") == ["CAPABILITY_IAM"]
    assert common.capabilities_for("Type: AWS::IAM::Role\n  RoleName: x\n") == ["CAPABILITY_NAMED_IAM"]
    assert common.capabilities_for('{"Type":"AWS::IAM::Role","Properties":{"RoleName":"x"}}') == [
        "CAPABILITY_NAMED_IAM"
    ]
    assert common.capabilities_for("CopyRoleName: x\nType: AWS::SQS::Queue\n") == []


def test_stack_order_when_main_region_is_the_backup_region():
    assert deploy.stack_instances(WEST2, WEST2, EAST) == [("backup", WEST2), ("backup", EAST), ("main", WEST2)]


# --------------------------------------------------------------------------- StackSet


def organisation_with_ou(org):
    """moto Organizations in a management account, with an OU holding the two sandbox accounts."""
    management = "111111111111"
    organizations = org.client("organizations", management, EAST)
    organizations.create_organization(FeatureSet="ALL")
    root = organizations.list_roots()["Roots"][0]["Id"]
    ou = organizations.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    backend = organizations_backends[management]["aws"]
    for account_id, name in [(MAIN, "main"), (BACKUP, "backup")]:
        created = organizations.create_account(Email=f"{name}@example.com", AccountName=name)
        account = backend.get_account_by_id(created["CreateAccountStatus"]["AccountId"])
        account.id = account_id  # moto draws random IDs; the sandbox's accounts are fixed
        organizations.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=ou)
    return management, ou


def test_stackset_service_managed_with_instances(org, tmp_path, capsys, monkeypatch):
    management, ou = organisation_with_ou(org)
    write_profiles(org, tmp_path, monkeypatch, {"management": management})
    code, out, err = run(
        capsys,
        "deploy",
        "--stackset",
        "--profile",
        "management",
        "--region",
        EAST,
        "--org-id",
        "o-xxxxxxxxxx",
        "--backup-account-id",
        BACKUP,
        "--backup-region",
        WEST2,
        "--alternate-region",
        EAST,
        "--organizational-unit-ids",
        ou,
        "--regions",
        EAST,
        WEST2,
        "--template-file",
        str(json_template(tmp_path)),
        "--poll-seconds",
        "0",
    )
    assert (code, err) == (0, ""), out
    cloudformation = org.client("cloudformation", management, EAST)
    stackset = cloudformation.describe_stack_set(StackSetName="BackupEvents")["StackSet"]
    assert stackset["PermissionModel"] == "SERVICE_MANAGED"
    instances = {
        (i["Account"], i["Region"])
        for i in cloudformation.list_stack_instances(StackSetName="BackupEvents")["Summaries"]
    }
    assert instances == {(MAIN, EAST), (MAIN, WEST2), (BACKUP, EAST), (BACKUP, WEST2)}
    for account, region in instances:
        assert f"{account} {region}: CURRENT" in out
    assert "operation" in out and "SUCCEEDED" in out
    # Real resources in the instance accounts: the backup account's function exists.
    functions = org.client("lambda", BACKUP, WEST2).list_functions()["Functions"]
    assert [f["FunctionName"] for f in functions] == ["BackupEvents"]


def test_stackset_dry_run(capsys):
    code, out, _ = run(
        capsys,
        "deploy",
        "--stackset",
        "--org-id",
        "o-xxxxxxxxxx",
        "--backup-account-id",
        BACKUP,
        "--backup-region",
        WEST2,
        "--alternate-region",
        EAST,
        "--organizational-unit-ids",
        "ou-ab12-34567890",
        "--regions",
        EAST,
        WEST2,
        "--dry-run",
    )
    assert code == 0
    assert '"PermissionModel": "SERVICE_MANAGED"' in out and '"AutoDeployment": {"Enabled": true' in out
    assert '"OrganizationalUnitIds": ["ou-ab12-34567890"]' in out


def test_stackset_instances_go_in_two_operations_backup_account_first(capsys):
    first, then = deploy.stackset_instance_requests("BackupEvents", ["ou-ab12-34567890"], BACKUP, [EAST, WEST2], "SELF")
    assert first["DeploymentTargets"] == {
        "OrganizationalUnitIds": ["ou-ab12-34567890"],
        "Accounts": [BACKUP],
        "AccountFilterType": "INTERSECTION",
    }
    assert then["DeploymentTargets"]["AccountFilterType"] == "DIFFERENCE"
    assert then["DeploymentTargets"]["Accounts"] == [BACKUP] and first["Regions"] == then["Regions"] == [EAST, WEST2]
    code, out, _ = run(
        capsys,
        "deploy",
        "--stackset",
        "--org-id",
        "o-xxxxxxxxxx",
        "--backup-account-id",
        BACKUP,
        "--backup-region",
        WEST2,
        "--alternate-region",
        EAST,
        "--organizational-unit-ids",
        "ou-ab12-34567890",
        "--regions",
        EAST,
        WEST2,
        "--dry-run",
    )
    assert code == 0
    assert out.index('"AccountFilterType": "INTERSECTION"') < out.index('"AccountFilterType": "DIFFERENCE"')
    assert "the backup account first" in out


def test_stackset_needs_the_backup_and_alternate_regions(capsys):
    code, _, err = run(
        capsys,
        "deploy",
        "--stackset",
        "--org-id",
        "o-xxxxxxxxxx",
        "--backup-account-id",
        BACKUP,
        "--backup-region",
        WEST2,
        "--alternate-region",
        EAST,
        "--organizational-unit-ids",
        "ou-ab12-34567890",
        "--regions",
        EAST,
        "--dry-run",
    )
    assert code == 1 and "--regions lacks us-west-2" in err


def test_backup_account_id_must_be_the_backup_profiles_account(org, tmp_path, capsys):
    code, out, err = run(
        capsys, *ARGS, "--template-file", str(json_template(tmp_path)), "--backup-account-id", "123456789012"
    )
    lines = err.splitlines()
    assert code == 1 and len(lines) == 2 and "Traceback" not in err
    assert (
        "--backup-account-id 123456789012 is not the account of --backup-profile (backup: account "
        f"{BACKUP})" in lines[0]
    )
    assert lines[1].startswith("  fix: ") and "--backup-profile" in lines[1]
    # Refused before any stack is created.
    for account, region in [(BACKUP, EAST), (BACKUP, WEST2), (MAIN, EAST)]:
        assert org.client("cloudformation", account, region).describe_stacks()["Stacks"] == []


def test_backup_account_id_equal_to_the_backup_profiles_account_is_accepted(org, tmp_path, capsys):
    code, _, err = run(capsys, *ARGS, "--template-file", str(json_template(tmp_path)), "--backup-account-id", BACKUP)
    assert (code, err) == (0, "")
    stack = org.client("cloudformation", MAIN, EAST).describe_stacks(StackName="BackupEvents")["Stacks"][0]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["BackupAccountId"] == BACKUP


# --------------------------------------------------------------------------- failures


class FakeCloudFormation:
    """Answers the CloudFormation calls deploy makes (everything else goes to moto), so that a test
    can make a stack or a StackSet operation fail the way AWS reports it. Records each call."""

    def __init__(self, answers):
        self.answers = answers  # operation name -> function(request) -> response
        self.calls = []

    def install(self, monkeypatch):
        import botocore.client

        original = botocore.client.BaseClient._make_api_call
        fake = self

        def call(client, name, request):
            if client.meta.service_model.service_name != "cloudformation":
                return original(client, name, request)
            fake.calls.append(name)
            return fake.answers[name](request)

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)
        return self


def _no_such_stack(request):
    import botocore.exceptions

    raise botocore.exceptions.ClientError(
        {"Error": {"Code": "ValidationError", "Message": (f"Stack with id {request['StackName']} does not exist")}},
        "DescribeStacks",
    )


CAUSE = (
    'Resource handler returned message: "User: arn:aws:sts::999977775555:assumed-role/x is not '
    'authorized to perform: backup:CreateBackupVault" (HandlerErrorCode: AccessDenied)'
)


def test_stack_ending_rollback_complete_exits_1_with_the_reason(org, tmp_path, capsys, monkeypatch):
    created = []
    events = [  # newest first, as DescribeStackEvents returns them
        {
            "EventId": "4",
            "LogicalResourceId": "BackupEvents",
            "ResourceType": "AWS::CloudFormation::Stack",
            "ResourceStatus": "ROLLBACK_COMPLETE",
        },
        {
            "EventId": "3",
            "LogicalResourceId": "ErrorQueue",
            "ResourceType": "AWS::SQS::Queue",
            "ResourceStatus": "CREATE_FAILED",
            "ResourceStatusReason": "Resource creation cancelled",
        },
        {
            "EventId": "2",
            "LogicalResourceId": "SampleVault",
            "ResourceType": "AWS::Backup::BackupVault",
            "ResourceStatus": "CREATE_FAILED",
            "ResourceStatusReason": CAUSE,
        },
        {
            "EventId": "1",
            "LogicalResourceId": "BackupEvents",
            "ResourceType": "AWS::CloudFormation::Stack",
            "ResourceStatus": "CREATE_IN_PROGRESS",
            "ResourceStatusReason": "User Initiated",
        },
    ]
    fake = FakeCloudFormation(
        {
            "DescribeStacks": lambda request: (
                {"Stacks": [{"StackName": request["StackName"], "StackStatus": "ROLLBACK_COMPLETE"}]}
                if created
                else _no_such_stack(request)
            ),
            "CreateStack": lambda request: created.append(request) or {"StackId": "arn:aws:cloudformation:x"},
            "DescribeStackEvents": lambda request: {"StackEvents": events},
        }
    ).install(monkeypatch)
    code, out, err = run(capsys, *ARGS, "--template-file", str(json_template(tmp_path)))
    lines = err.splitlines()
    assert code == 1 and len(lines) == 2 and "Traceback" not in err, err
    assert lines[0] == (
        f"backup-events: error: stack BackupEvents in backup account {BACKUP} {EAST} ended "
        f"ROLLBACK_COMPLETE: SampleVault CREATE_FAILED: {CAUSE}"
    )
    assert "delete-stack --stack-name BackupEvents" in lines[1]
    # The first stack failed: the others were not attempted.
    assert len(created) == 1 and fake.calls.count("CreateStack") == 1
    assert f"backup account {BACKUP} {EAST}: ROLLBACK_COMPLETE" in out and "main account" not in out


def stackset_args(management_profile="management"):
    return [
        "deploy",
        "--stackset",
        "--profile",
        management_profile,
        "--region",
        EAST,
        "--org-id",
        "o-xxxxxxxxxx",
        "--backup-account-id",
        BACKUP,
        "--backup-region",
        WEST2,
        "--alternate-region",
        EAST,
        "--organizational-unit-ids",
        "ou-ab12-34567890",
        "--regions",
        EAST,
        WEST2,
        "--poll-seconds",
        "0",
    ]


def failing_stackset(failing_operation):
    """A StackSet that exists; the operation `failing_operation` ("update" or "instances") FAILS."""
    statuses = {"update": "SUCCEEDED", "instances": "SUCCEEDED", failing_operation: "FAILED"}
    reason = "Account 999977775555 should have 'AWSCloudFormationStackSetExecutionRole' role"

    def operation(request):
        status = statuses[request["OperationId"]]
        return {
            "StackSetOperation": {
                "OperationId": request["OperationId"],
                "Status": status,
                **({"StatusReason": reason} if status == "FAILED" else {}),
            }
        }

    instance = {
        "Account": BACKUP,
        "Region": EAST,
        "Status": "OUTDATED",
        "StatusReason": reason,
        "StackInstanceStatus": {"DetailedStatus": "FAILED"},
    }
    return reason, FakeCloudFormation(
        {
            "DescribeStackSet": lambda request: {"StackSet": {"StackSetName": request["StackSetName"]}},
            "UpdateStackSet": lambda request: {"OperationId": "update"},
            "CreateStackInstances": lambda request: {"OperationId": "instances"},
            "DescribeStackSetOperation": operation,
            "ListStackInstances": lambda request: {"Summaries": [instance]},
        }
    )


def test_failed_stackset_update_stops_before_creating_instances(org, tmp_path, capsys, monkeypatch):
    write_profiles(org, tmp_path, monkeypatch, {"management": "111111111111"})
    reason, fake = failing_stackset("update")
    fake.install(monkeypatch)
    code, out, err = run(capsys, *stackset_args(), "--template-file", str(json_template(tmp_path)))
    lines = err.splitlines()
    assert code == 1 and len(lines) == 2 and "Traceback" not in err, err
    assert f"update_stack_set operation update ended FAILED: {reason}" in lines[0]
    assert "no instances were added" in lines[0] and lines[1].startswith("  fix: ")
    assert "CreateStackInstances" not in fake.calls
    assert f"{BACKUP} {EAST}: OUTDATED FAILED {reason}" in out


def test_failed_stack_instances_operation_exits_1_with_the_reason(org, tmp_path, capsys, monkeypatch):
    write_profiles(org, tmp_path, monkeypatch, {"management": "111111111111"})
    reason, fake = failing_stackset("instances")
    fake.install(monkeypatch)
    code, out, err = run(capsys, *stackset_args(), "--template-file", str(json_template(tmp_path)))
    assert code == 1 and "Traceback" not in err, err
    assert f"StackSet BackupEvents: operation FAILED: {reason}, 1 instance(s) not CURRENT" in err
    assert fake.calls.count("CreateStackInstances") == 1


def test_stackset_deploy_creates_the_backup_accounts_instances_in_the_first_operation(
    org, tmp_path, capsys, monkeypatch
):
    from moto.cloudformation.models import cloudformation_backends

    management, ou = organisation_with_ou(org)
    write_profiles(org, tmp_path, monkeypatch, {"management": management})
    code, out, err = run(
        capsys,
        "deploy",
        "--stackset",
        "--profile",
        "management",
        "--region",
        EAST,
        "--org-id",
        "o-xxxxxxxxxx",
        "--backup-account-id",
        BACKUP,
        "--backup-region",
        WEST2,
        "--alternate-region",
        EAST,
        "--organizational-unit-ids",
        ou,
        "--regions",
        EAST,
        WEST2,
        "--template-file",
        str(json_template(tmp_path)),
        "--poll-seconds",
        "0",
    )
    assert (code, err) == (0, ""), out
    stackset = cloudformation_backends[management][EAST].describe_stack_set("BackupEvents")
    created = [instance.account_id for instance in stackset.instances.stack_instances]
    # the OU lists MAIN first; the backup account's instances were still created first
    assert created == [BACKUP, BACKUP, MAIN, MAIN]
    assert "create_stack_instances (backup account)" in out and "create_stack_instances (other accounts)" in out
