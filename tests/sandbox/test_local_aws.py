"""The sandbox as a local AWS: what the AWS CLI and SDKs ask of it, in-process (test_aws_cli.py
does the same through the real CLI against `sandbox serve`)."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
from botocore.exceptions import ClientError

from backup_events_aws.sandbox import Organization

# The module's organisation is built once: on pytest-xdist workers (make test), all its tests
# run on the same one (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_local_aws")

EAST, WEST = "us-east-1", "us-west-2"


@pytest.fixture(scope="module")
def org():
    with Organization.minimum() as organization:
        yield organization


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def scheduled_event(org) -> dict:
    return {
        "version": "0",
        "id": "manual",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": org.main_account,
        "time": f"{org.now():%Y-%m-%dT%H:%M:%SZ}",
        "region": EAST,
        "resources": [],
        "detail": {},
    }


# ---------------------------------------------------------------------------- one clock


def test_moto_stamps_stacks_and_resources_with_the_sandbox_clock(org):
    stack = org.client("cloudformation", org.main_account, EAST).describe_stacks(StackName="BackupEvents")["Stacks"][0]
    assert stack["CreationTime"] == datetime.datetime(2026, 1, 5, 2, 0, tzinfo=datetime.UTC)
    before = org.now()
    org.advance(3600)
    volume = org.client("ec2", org.main_account, EAST).create_volume(AvailabilityZone=f"{EAST}a", Size=8)
    assert volume["CreateTime"] - before >= datetime.timedelta(seconds=3600)
    assert abs(volume["CreateTime"] - org.now()) < datetime.timedelta(seconds=1)


def test_answers_carry_the_sandbox_time_in_their_date_header(org):
    response = org.client("sts", org.main_account, EAST).get_caller_identity()
    date = response["ResponseMetadata"]["HTTPHeaders"]["date"]
    assert date == org.now().strftime("%a, %d %b %Y %H:%M:%S GMT")


def test_function_logs_reach_cloudwatch_logs_on_the_simulated_clock(org):
    efs = org.create_resource("EFS", org.main_account, EAST)
    job = org.start_backup(org.main_account, EAST, efs)
    org.run_until_idle()
    point = org.client("backup", org.main_account, EAST).describe_backup_job(BackupJobId=job)["RecoveryPointArn"]
    name = org.stack_outputs(org.main_account, EAST)["FunctionName"]
    events = org.client("logs", org.main_account, EAST).filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    assert any(point in e["message"] for e in events)
    assert all(abs(e["timestamp"] / 1000 - org.now().timestamp()) < 86400 for e in events)


# ---------------------------------------------------------------------------- Lambda


def test_invoke_runs_the_deployed_code_synchronously(org):
    name = org.stack_outputs(org.main_account, EAST)["FunctionName"]
    client = org.client("lambda", org.main_account, EAST)
    answer = client.invoke(FunctionName=name, Payload=json.dumps(scheduled_event(org)), LogType="Tail")
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert json.loads(answer["Payload"].read())["action"] == "sweep"
    assert "sweep" in base64.b64decode(answer["LogResult"]).decode()
    assert org.lambda_api.calls[-1][:2] == (org.function_arn(org.main_account, EAST), "RequestResponse")


def test_invoke_reports_a_function_error_as_lambda_does(org):
    name = org.stack_outputs(org.main_account, EAST)["FunctionName"]
    answer = org.client("lambda", org.main_account, EAST).invoke(FunctionName=name, Payload=b'"not an event"')
    assert answer["FunctionError"] == "Unhandled"
    assert {"errorMessage", "errorType", "stackTrace"} <= set(json.loads(answer["Payload"].read()))


def test_event_and_dry_run_invocations(org):
    name = org.stack_outputs(org.main_account, EAST)["FunctionName"]
    client = org.client("lambda", org.main_account, EAST)
    runs = len(org.bridge.runtime.invocations)
    assert client.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    assert (
        client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(scheduled_event(org)))["StatusCode"]
        == 202
    )
    assert len(org.bridge.runtime.invocations) == runs  # queued, not run yet
    org.advance(5)
    assert len(org.bridge.runtime.invocations) == runs + 1


def test_get_account_settings_answers_the_quota(org):
    settings = org.client("lambda", org.main_account, EAST).get_account_settings()
    limit = settings["AccountLimit"]
    assert limit["ConcurrentExecutions"] == org.bridge.runtime.concurrency_quota(org.main_account)
    assert limit["UnreservedConcurrentExecutions"] <= limit["ConcurrentExecutions"]
    assert settings["AccountUsage"]["FunctionCount"] == 1


# ---------------------------------------------------------------------------- Organizations


def test_organizations_knows_its_accounts(org):
    member = org.client("organizations", org.main_account, EAST).describe_organization()["Organization"]
    assert member["Id"] == org.layout.org_id and member["MasterAccountId"] == org.backup_account
    management = org.client("organizations", org.backup_account, EAST)
    assert {a["Id"] for a in management.list_accounts()["Accounts"]} == set(org.accounts)
    principals = management.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert "backup.amazonaws.com" in [p["ServicePrincipal"] for p in principals]


# ---------------------------------------------------------------------------- AWS Backup read-outs


def test_global_settings_belong_to_the_management_account(org):
    member = org.client("backup", org.main_account, EAST)
    assert member.describe_global_settings()["GlobalSettings"]["isCrossAccountBackupEnabled"] == "true"
    with pytest.raises(ClientError) as refused:
        member.update_global_settings(GlobalSettings={"isCrossAccountBackupEnabled": "false"})
    assert error_code(refused) == "InvalidRequestException"


def test_region_settings_opt_in_per_region(org):
    west = org.client("backup", org.main_account, WEST)
    assert west.describe_region_settings()["ResourceTypeOptInPreference"]["Aurora"] is False
    west.update_region_settings(ResourceTypeOptInPreference={"Aurora": True})
    assert west.describe_region_settings()["ResourceTypeOptInPreference"]["Aurora"] is True
    east = org.client("backup", org.main_account, EAST)
    assert east.describe_region_settings()["ResourceTypeOptInPreference"]["Aurora"] is False
    with pytest.raises(ClientError) as refused:
        west.update_region_settings(ResourceTypeOptInPreference={"Floppy": True})
    assert error_code(refused) == "InvalidParameterValueException"


def test_vault_notifications(org):
    backup = org.client("backup", org.main_account, EAST)
    with pytest.raises(ClientError) as none:
        backup.get_backup_vault_notifications(BackupVaultName=org.vault_name)
    assert error_code(none) == "ResourceNotFoundException"
    topic = f"arn:aws:sns:{EAST}:{org.main_account}:alerts"
    backup.put_backup_vault_notifications(
        BackupVaultName=org.vault_name, SNSTopicArn=topic, BackupVaultEvents=["COPY_JOB_FAILED"]
    )
    got = backup.get_backup_vault_notifications(BackupVaultName=org.vault_name)
    assert got["SNSTopicArn"] == topic and got["BackupVaultEvents"] == ["COPY_JOB_FAILED"]
    backup.delete_backup_vault_notifications(BackupVaultName=org.vault_name)
    with pytest.raises(ClientError):
        backup.get_backup_vault_notifications(BackupVaultName=org.vault_name)


def test_recovery_points_by_resource_and_a_missing_resource_fails(org):
    backup = org.client("backup", org.main_account, EAST)
    efs = org.create_resource("EFS", org.main_account, EAST)
    missing = efs.replace("fs-", "fs-0dead")
    good, bad = (org.start_backup(org.main_account, EAST, arn) for arn in (efs, missing))
    org.run_until_idle()
    failed = backup.describe_backup_job(BackupJobId=bad)
    assert failed["State"] == "FAILED" and failed["StatusMessage"] == (
        f"Backup job failed because the resource {missing} does not exist."
    )
    assert backup.describe_backup_job(BackupJobId=good)["State"] == "COMPLETED"
    points = backup.list_recovery_points_by_resource(ResourceArn=efs)["RecoveryPoints"]
    assert [p["RecoveryPointArn"] for p in points] == [backup.describe_backup_job(BackupJobId=good)["RecoveryPointArn"]]
    assert backup.list_recovery_points_by_resource(ResourceArn=missing)["RecoveryPoints"] == []


# ---------------------------------------------------------------------------- CloudFormation


def test_the_yaml_template_updates_with_conditions_read_as_cloudformation_does(org):
    cloudformation = org.client("cloudformation", org.main_account, EAST)
    before = set(org.stack_resources(org.main_account, EAST))
    parameters = {**org.layout.template_parameters(), "NewDeleteAfterDays": "9"}
    cloudformation.update_stack(
        StackName="BackupEvents",
        TemplateBody=org.template_path.read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    assert cloudformation.describe_stacks(StackName="BackupEvents")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    assert set(org.stack_resources(org.main_account, EAST)) == before  # no backup-account-only resource appeared
    function = org.client("lambda", org.main_account, EAST).get_function_configuration(
        FunctionName=org.stack_outputs(org.main_account, EAST)["FunctionName"]
    )
    assert "9" in json.dumps(function["Environment"]["Variables"])


def test_an_empty_change_set_fails_as_on_aws(org):
    cloudformation = org.client("cloudformation", org.main_account, EAST)
    body = json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}})
    cloudformation.create_stack(StackName="Tiny", TemplateBody=body)
    created = cloudformation.create_change_set(
        StackName="Tiny", ChangeSetName="nothing", ChangeSetType="UPDATE", TemplateBody=body
    )
    change_set = cloudformation.describe_change_set(ChangeSetName=created["Id"])
    assert change_set["Status"] == "FAILED"
    assert change_set["StatusReason"].startswith("The submitted information didn't contain changes.")
