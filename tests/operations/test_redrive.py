"""redrive: explain the error queue, re-submit once fixed, delete only what succeeded."""

from __future__ import annotations

import json

import pytest
from operations_support import SynchronousInvoke, run, write_profiles

from backup_events_aws import lambda_function
from backup_events_aws.operations import redrive
from backup_events_aws.sandbox import Organization

EAST, WEST2 = "us-east-1", "us-west-2"
MAIN, BACKUP = "000022224444", "999977775555"
REDRIVE = ["redrive", "--profile", "main", "--region", EAST]


@pytest.fixture
def org(tmp_path, monkeypatch):
    organization = Organization.minimum().start()
    # moto keeps one copy of each queue, so short polling misses nothing there; a long poll would
    # only wait out its WaitTimeSeconds on every empty answer (test_receive_* cover long polling).
    monkeypatch.setattr(redrive, "WAIT_SECONDS", 0)
    try:
        write_profiles(organization, tmp_path, monkeypatch)
        organization.invoked = SynchronousInvoke(organization, monkeypatch)
        yield organization
    finally:
        organization.stop()


def back_up(org):
    org.start_backup(MAIN, EAST, org.create_resource("EFS", MAIN, EAST))
    org.run_until_idle()


def queue(org):
    return org.error_messages(MAIN, EAST)


def test_function_error_is_resubmitted_once_fixed(org, capsys):
    org.backup_service.deny_access("StartCopyJob", MAIN, EAST)
    back_up(org)
    [message] = queue(org)
    assert message["body"]["requestContext"]["condition"] == "RetriesExhausted"

    # Still broken: the function fails again, the message stays.
    code, out, _ = run(capsys, *REDRIVE, "--yes")
    assert code == 1 and "[function-error] the function failed 3 time(s) (RetriesExhausted)" in out
    assert "FAIL" in out and len(queue(org)) == 1

    org.backup_service.allow_access("StartCopyJob", MAIN, EAST)
    code, out, err = run(capsys, *REDRIVE, "--yes")
    assert (code, err) == (0, ""), out
    assert "1 of 1 re-submitted event(s) succeeded and were deleted" in out and queue(org) == []
    # The original event went to the function, and the copy happened.
    assert org.invoked.calls[-1][1] == message["body"]["requestPayload"]
    org.run_until_idle()
    assert len(org.recovery_points(account=BACKUP)) == 2


def test_dead_letter_is_resubmitted_once_the_permission_is_back(org, capsys):
    functions = org.client("lambda", MAIN, EAST)
    name = org.stack_outputs(MAIN, EAST)["FunctionName"]
    policy = json.loads(functions.get_policy(FunctionName=name)["Policy"])
    [statement] = [s for s in policy["Statement"] if "BackupCompleted" in json.dumps(s)]
    functions.remove_permission(FunctionName=name, StatementId=statement["Sid"])
    back_up(org)
    [message] = queue(org)
    assert message["attributes"]["ERROR_CODE"] == "NO_PERMISSIONS"

    code, out, _ = run(capsys, *REDRIVE)  # no --yes, not a terminal: shows, changes nothing
    assert code == 0 and "[dead-letter] EventBridge could not deliver Backup Job State Change COMPLETED" in out
    assert "redeploy the stack" in out and "run again with --yes" in out
    assert len(queue(org)) == 1 and org.invoked.calls == []

    functions.add_permission(
        FunctionName=name,
        StatementId=statement["Sid"],
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=statement["Condition"]["ArnLike"]["AWS:SourceArn"],
    )
    code, out, _ = run(capsys, *REDRIVE, "--yes")
    assert code == 0 and queue(org) == []
    org.run_until_idle()
    assert len(org.recovery_points(account=BACKUP)) == 2


def test_failed_copy_is_retried_by_the_sweep(org, capsys):
    vault = org.client("backup", BACKUP, EAST)
    policy = vault.get_backup_vault_access_policy(BackupVaultName=org.vault_name)["Policy"]
    vault.delete_backup_vault_access_policy(BackupVaultName=org.vault_name)
    back_up(org)
    [message] = queue(org)
    assert message["body"]["detail"]["state"] == "FAILED"

    vault.put_backup_vault_access_policy(BackupVaultName=org.vault_name, Policy=policy)
    code, out, err = run(capsys, *REDRIVE, "--yes")
    assert (code, err) == (0, ""), out
    assert "[job-failed] Copy Job State Change FAILED: Access Denied trying to call AWS Backup service" in out
    assert "vault access policy must Allow backup:CopyIntoBackupVault" in out
    assert "copy started again (copy job" in out and queue(org) == []
    assert org.invoked.calls[-1][1]["detail-type"] == "Scheduled Event"
    org.run_until_idle()
    assert len(org.recovery_points(account=BACKUP)) == 2  # copy 1, then copy 2


def test_only_what_succeeded_is_deleted(org, capsys):
    org.backup_service.deny_access("StartCopyJob", MAIN, EAST)
    back_up(org)
    org.backup_service.allow_access("StartCopyJob", MAIN, EAST)
    [real] = queue(org)
    # A second record whose event can never succeed: its recovery point does not exist.
    doomed = json.loads(json.dumps(real["body"]))
    doomed["requestPayload"]["resources"] = [
        f"arn:aws:backup:{EAST}:{MAIN}:recovery-point:00000000-0000-0000-0000-000000000000"
    ]
    url = org.stack_outputs(MAIN, EAST)["ErrorQueueUrl"]
    org.client("sqs", MAIN, EAST).send_message(QueueUrl=url, MessageBody=json.dumps(doomed))

    code, out, _ = run(capsys, *REDRIVE, "--yes")
    assert code == 1 and "1 of 2 re-submitted event(s) succeeded and were deleted" in out
    [kept] = queue(org)
    assert kept["body"] == doomed
    # What stays is visible again right away.
    code, out, _ = run(capsys, *REDRIVE)
    assert "1 message(s) in" in out


def test_selected_message_only(org, capsys):
    org.backup_service.deny_access("StartCopyJob", MAIN, EAST)
    back_up(org)
    back_up(org)
    org.backup_service.allow_access("StartCopyJob", MAIN, EAST)
    sqs = org.client("sqs", MAIN, EAST)
    url = org.stack_outputs(MAIN, EAST)["ErrorQueueUrl"]
    first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]["MessageId"]
    code, out, _ = run(capsys, *REDRIVE, "--yes", "--message-id", first)
    assert code == 0 and "1 of 1 re-submitted" in out and len(queue(org)) == 1
    code, _, err = run(capsys, *REDRIVE, "--yes", "--message-id", "no-such-id")
    assert code == 1 and "no message no-such-id" in err and len(queue(org)) == 1


def test_empty_queue(org, capsys):
    code, out, _ = run(capsys, *REDRIVE)
    assert code == 0 and "is empty" in out


def test_queue_with_messages_in_flight_is_not_called_empty(org, capsys):
    org.backup_service.deny_access("StartCopyJob", MAIN, EAST)
    back_up(org)
    url = org.stack_outputs(MAIN, EAST)["ErrorQueueUrl"]
    # Another reader holds the only message.
    assert len(org.client("sqs", MAIN, EAST).receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"]) == 1
    code, out, err = run(capsys, *REDRIVE, "--yes")
    assert code == 1 and "is empty" not in out and "Traceback" not in err
    assert "yet it counts 0 visible and 1 in flight" in err and "run redrive again once they are visible" in err


class FakeSqs:
    """receive_message answers from `batches` in turn (then empty); the queue counts `visible`."""

    def __init__(self, batches, visible):
        self.batches, self.visible, self.waits = list(batches), visible, []

    def receive_message(self, **request):
        self.waits.append(request["WaitTimeSeconds"])
        batch = self.batches.pop(0) if self.batches else []
        self.visible = max(0, self.visible - len(batch))
        return {"Messages": batch} if batch else {}

    def get_queue_attributes(self, **request):
        assert set(request["AttributeNames"]) == {
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
        }
        return {
            "Attributes": {
                "ApproximateNumberOfMessages": str(self.visible),
                "ApproximateNumberOfMessagesNotVisible": "0",
            }
        }


def test_receive_long_polls_and_reads_on_while_the_queue_counts_messages():
    message = {"MessageId": "m1", "ReceiptHandle": "r1", "Body": "{}"}
    # The first answer is empty although a message is there (it does happen): read on.
    sqs = FakeSqs([[], [message]], visible=1)
    assert redrive.receive(sqs, "url", 100, 300) == [message]
    assert redrive.WAIT_SECONDS >= 1 and sqs.waits == [redrive.WAIT_SECONDS] * 3


def test_receive_gives_up_after_empty_polls_however_many_the_queue_counts():
    sqs = FakeSqs([], visible=5)
    assert redrive.receive(sqs, "url", 100, 300) == []
    assert len(sqs.waits) == redrive.EMPTY_POLLS


@pytest.mark.parametrize(
    "given, missing, flag",
    [
        ([], "ErrorQueueUrl", "--queue-url"),
        (["--queue-url", "https://sqs.us-east-1.amazonaws.com/000022224444/q"], "FunctionName", "--function-name"),
    ],
)
def test_stack_without_the_outputs_is_refused_with_the_fix(org, capsys, given, missing, flag):
    org.client("cloudformation", MAIN, EAST).create_stack(
        StackName="Other", TemplateBody=json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}})
    )
    code, _, err = run(capsys, *REDRIVE, "--stack-name", "Other", *given)
    lines = err.splitlines()
    assert code == 1 and len(lines) == 2 and "Traceback" not in err, err
    assert f"stack 'Other' has no {missing} output" in lines[0]
    assert lines[1].startswith("  fix: ") and "--stack-name" in lines[1] and flag in lines[1]


# --------------------------------------------------------------------------- pure classification


def sqs_message(body, attributes=None):
    return {
        "MessageId": "m1",
        "ReceiptHandle": "r1",
        "Body": json.dumps(body),
        "MessageAttributes": {k: {"StringValue": v, "DataType": "String"} for k, v in (attributes or {}).items()},
    }


def test_classify_failed_backup_is_not_resubmitted(event):
    failed = event("backup_job_failed_documented")
    entry = redrive.classify(sqs_message(failed))
    assert entry.kind == "job-failed" and entry.resubmit == "" and "run the backup again" in entry.fix


# docs/AWS-BEHAVIOUR.md §4.4, "Failure messages seen for copies": each message verbatim, and words the fix must say.
OBSERVED_FAILURES = [
    (
        "Copy job failed. Both source and destination account must be a member of the same organization",
        "the organization OrgId",
    ),
    (
        "Copy job from us-west-2 to us-east-1 cannot be initiated for RDS resources. Feature is not supported "
        "for provided resource type.",
        "can't copy across accounts and regions at once",
    ),
    # Key failures are explained in the function's own words (lambda_function.KEY_FIX).
    ("Given key ID is not accessible", lambda_function.KEY_FIX),
    (
        "The source snapshot KMS key does not exist, is not enabled or you do not have permissions to access it",
        lambda_function.KEY_FIX,
    ),
    (
        "AMI snapshot copy failed with error: Given key ID is not accessible. You must have DescribeKey "
        "permissions on the default CMK",
        "encrypted with the default (AWS managed) key",
    ),
    (
        "Copy job failed. The retention period of the copy (35 days) is outside the range allowed by the "
        "destination backup vault arn:aws:backup:us-east-1:999977775555:backup-vault:BackupEvents-Sample: "
        "MinRetentionDays 60, MaxRetentionDays 400.",
        "Copy1Retention/Copy2Retention within them",
    ),
    ("Access Denied trying to call AWS Backup service", "vault access policy must Allow backup:CopyIntoBackupVault"),
    ("Access denied exception while trying to list tags", "let the copy role list tags"),
    ("The snapshot requires a target option group with the following options: ....", "RDS option group"),
    ("Source AMI not found in Region", "EC2 Allowed AMIs"),
    ("Failed to unshare snapshot", "restore the copy role"),
    # Reported for AWS Backup's other APIs; the sandbox refuses StartCopyJob so (§19 item 62).
    (
        "An error occurred (InvalidParameterValueException) when calling the StartCopyJob operation: IAM Role "
        "arn:aws:iam::000022224444:role/service-role/AWSBackupDefaultServiceRole cannot be assumed by AWS Backup",
        "create the copy role CopyRoleName",
    ),
]


@pytest.mark.parametrize("status, fix", OBSERVED_FAILURES)
def test_classify_failed_copy_gives_the_likely_fix(event, status, fix):
    failed = event("copy1_failed_main")
    failed["detail"]["statusMessage"] = status
    entry = redrive.classify(sqs_message(failed))
    assert entry.kind == "job-failed" and entry.resubmit == "sweep" and fix in entry.fix
    assert entry.copy["source"] == failed["resources"][0]
    assert entry.copy["destination"] == failed["detail"]["destinationBackupVaultArn"]


def test_every_known_failure_explains_an_observed_message():
    explained = {redrive.likely_fix(status) for status, _ in OBSERVED_FAILURES}
    assert explained == {fix for _, fix in redrive.KNOWN_FAILURES}


def test_classify_dead_letter_to_the_backup_bus_is_not_resubmitted(event):
    forwarded = event("copy1_completed_efs_main")
    entry = redrive.classify(
        sqs_message(
            forwarded,
            {
                "RULE_ARN": "arn:aws:events:us-east-1:000022224444:rule/BackupEvents-CopyCompleted",
                "TARGET_ARN": "arn:aws:events:us-east-1:999977775555:event-bus/BackupEvents",
                "ERROR_CODE": "CROSS_ACCOUNT_INGESTION_FAILED",
                "ERROR_MESSAGE": "denied",
            },
        )
    )
    assert entry.kind == "dead-letter" and entry.resubmit == ""
    assert "bus policy" in entry.fix and "reconcile" in entry.fix


def test_classify_unknown_message():
    entry = redrive.classify({"MessageId": "m", "ReceiptHandle": "r", "Body": "hello"})
    assert entry.kind == "unknown" and entry.resubmit == ""


def test_failed_copy_stays_when_the_sweep_starts_no_copy(org, capsys):
    vault = org.client("backup", BACKUP, EAST)
    vault.delete_backup_vault_access_policy(BackupVaultName=org.vault_name)
    back_up(org)
    org.advance(8 * 86400)  # the daily sweeps retry and fail; then the backup is older than CatchUpDays (7)
    org.run_until_idle()
    failures = queue(org)
    assert len(failures) > 1 and {m["body"]["detail"]["state"] for m in failures} == {"FAILED"}
    code, out, _ = run(capsys, *REDRIVE, "--yes")
    assert code == 1 and "the sweep started no copy of it" in out
    assert f"0 of {len(failures)} re-submitted" in out and len(queue(org)) == len(failures)


def test_classify_a_refused_copy_gives_the_functions_fix(event):
    """The function refused copy 1 (an AWS managed key); redrive repeats the fix it logged."""
    backup = event("backup_completed_ebs_main")
    refusal = f"copy 1 of {backup['resources'][0]} not started: " + lambda_function.AWS_MANAGED_KEY.format("EBS")
    record = {
        "version": "1.0",
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": backup,
        "responsePayload": {"errorType": "CopyRefused", "errorMessage": refusal},
    }
    entry = redrive.classify({"MessageId": "m", "ReceiptHandle": "r", "Body": json.dumps(record)})
    assert entry.kind == "function-error" and entry.resubmit == "invoke"
    assert entry.fix.startswith(lambda_function.KEY_FIX.removeprefix("Fix: "))
    assert "CopyRefused" in entry.summary and "AWS managed key can't leave its account" in entry.summary
