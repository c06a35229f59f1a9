"""The template deployed with its own customer managed keys: SqsKmsKey (the error queue) and
CloudWatchLogsKmsKey (the function's log group). The sandbox refuses what AWS refuses when a key
policy leaves out a service that must use the key (docs/AWS-BEHAVIOUR.md §19 items 70 to 72),
and everything works when the policy is right."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from backup_events_aws.sandbox import Organization

MAIN, BACKUP = "000022224444", "999977775555"
EAST, WEST = "us-east-1", "us-west-2"
USE = ["kms:GenerateDataKey", "kms:Decrypt"]
EMAIL = "backup-team@example.com"


def admin() -> dict[str, Any]:
    return {
        "Sid": "Admin",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{BACKUP}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def resource_account_use() -> dict[str, Any]:
    # The resource account's error queue uses the backup account's key (the template keeps the
    # parameter's account): the function role there needs the key policy as well (cross account).
    return {
        "Sid": "ResourceAccount",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{MAIN}:root"},
        "Action": USE,
        "Resource": "*",
    }


def eventbridge_use() -> dict[str, Any]:
    return {
        "Sid": "EventBridge",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": USE,
        "Resource": "*",
    }


def logs_use(service: str) -> dict[str, Any]:
    return {
        "Sid": "Logs",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*:*:log-group:/aws/lambda/*"}},
    }


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def multi_region_key(org: Organization, statements_in: Any) -> str:
    """A multi-region key of the backup account in us-east-1, replicated to us-west-2; the policy of
    each region's copy from `statements_in(region)`. Returns the us-east-1 ARN."""
    kms = org.client("kms", BACKUP, EAST)
    key = kms.create_key(MultiRegion=True, Policy=policy(*statements_in(EAST)))["KeyMetadata"]
    kms.replicate_key(KeyId=key["KeyId"], ReplicaRegion=WEST)
    org.client("kms", BACKUP, WEST).put_key_policy(
        KeyId=key["KeyId"], PolicyName="default", Policy=policy(*statements_in(WEST))
    )
    return str(key["Arn"])


@pytest.fixture
def undeployed() -> Iterator[Organization]:
    org = Organization.minimum().start(deploy=False)
    try:
        yield org
    finally:
        org.stop()


def deploy_with(org: Organization, **parameters: str) -> None:
    org.layout.parameters.update(parameters)
    org.deploy()
    org.bridge.start_schedules()


def back_up(org: Organization) -> None:
    org.start_backup(MAIN, EAST, org.create_resource("EFS", MAIN, EAST))
    org.run_until_idle()


def outcomes(org: Organization, account: str = MAIN) -> list[Any]:
    return [
        d
        for d in org.deliveries()
        if d.account == account and (":sqs:" in (d.target_arn or "") or d.outcome.startswith("on-failure"))
    ]


# --------------------------------------------------------------------------- SqsKmsKey


def test_a_queue_key_admitting_eventbridge_and_the_function_roles_keeps_every_failure(undeployed):
    org = undeployed
    key = multi_region_key(org, lambda region: [admin(), resource_account_use(), eventbridge_use()])
    deploy_with(org, SqsKmsKey=key, AlertEmail=EMAIL)
    assert org.sns.confirm(EMAIL) == 1
    org.backup_service.fail_next_copies(1)  # copy 1 FAILS: its job-failed event goes to the error queue
    back_up(org)
    assert [d.outcome for d in outcomes(org)] == ["delivered"]
    org.backup_service.deny_access("StartCopyJob", MAIN, EAST)  # the function fails: Lambda's on-failure record
    back_up(org)
    assert [d.outcome for d in outcomes(org)] == ["delivered", "on-failure-delivered"]
    messages = org.error_messages(MAIN, EAST)
    assert len(messages) == 2, messages
    # The alert function reads the queue (kms:Decrypt, granted by the template and the key policy).
    alerts = [m for m in org.sns.mail_for(EMAIL) if m.subject.endswith(f"{MAIN} {EAST}")]
    assert alerts and "[job-failed]" in alerts[0].message, [m.message for m in org.sns.mail_for(EMAIL)]


def test_a_queue_key_without_eventbridge_loses_failed_job_events(undeployed):
    """The error queue is the job-failed rule's target and its DLQ: EventBridge can use the key
    for neither, so the event is lost (InvocationsFailedToBeSentToDLQ), the queue stays empty."""
    org = undeployed
    key = multi_region_key(org, lambda region: [admin(), resource_account_use()])
    deploy_with(org, SqsKmsKey=key)
    org.backup_service.fail_next_copies(1)
    back_up(org)
    [lost] = outcomes(org)
    assert (lost.outcome, lost.error_code) == ("dlq-refused", "NO_PERMISSIONS")
    assert lost.error_message == (  # the resource account's queue (us-east-1) uses the us-east-1 key
        f"User: events.amazonaws.com is not authorized to perform: kms:GenerateDataKey on resource: {key} "
        "because no resource-based policy allows the kms:GenerateDataKey action"
    )
    assert org.error_messages(MAIN, EAST) == []
    # Lambda's own records still arrive: the function role may use the key.
    org.backup_service.deny_access("StartCopyJob", MAIN, EAST)
    back_up(org)
    assert outcomes(org)[-1].outcome == "on-failure-delivered"


def test_a_queue_key_not_admitting_the_resource_account_leaves_its_failures_unalerted(undeployed):
    """The function role's identity policy grants the key (the template does), but across accounts
    the key policy must too: the alert function cannot read the queue (SQS refuses ReceiveMessage
    with KMS's words), and Lambda cannot record that failure in the queue either."""
    org = undeployed
    key = multi_region_key(org, lambda region: [admin(), eventbridge_use()])
    deploy_with(org, SqsKmsKey=key, AlertEmail=EMAIL)
    assert org.sns.confirm(EMAIL) == 1
    org.backup_service.fail_next_copies(1)  # EventBridge may use the key: the job-failed event lands
    back_up(org)
    assert [d.outcome for d in outcomes(org)] == ["delivered", "on-failure-refused"]
    assert not [m for m in org.sns.mail_for(EMAIL) if m.subject.endswith(f"{MAIN} {EAST}")]
    session = f"arn:aws:sts::{MAIN}:assumed-role/BackupEvents-Function-{EAST}/BackupEvents"
    assert any(
        f"{session} is not authorized to perform: kms:Decrypt on resource: {key}" in json.dumps(r)
        for r in org.function_logs(MAIN)
        if r["level"] == "ERROR"
    )
    refused = outcomes(org)[-1]
    assert refused.error_code == "KMS.AccessDeniedException"
    assert refused.error_message == (
        f"User: {session} is not authorized to perform: kms:GenerateDataKey on resource: {key} because no "
        "resource-based policy allows the kms:GenerateDataKey action"
    )


# --------------------------------------------------------------------------- CloudWatchLogsKmsKey


def test_a_log_group_key_without_the_regional_logs_principal_fails_the_stack(undeployed):
    """logs.amazonaws.com is not CloudWatch Logs' principal: logs.<region>.amazonaws.com is."""
    org = undeployed
    key = multi_region_key(org, lambda region: [admin(), logs_use("logs.amazonaws.com")])
    with pytest.raises(RuntimeError) as refused:
        deploy_with(org, CloudWatchLogsKmsKey=key)
    assert f"Stack in {BACKUP}/{EAST}: ROLLBACK_COMPLETE" in str(refused.value)
    assert (
        'Resource handler returned message: "The specified KMS key does not exist or is not allowed to be used '
        f"with Arn 'arn:aws:logs:{EAST}:{BACKUP}:log-group:/aws/lambda/BackupEvents' (Service: CloudWatchLogs, "
        'Status Code: 400)"'
    ) in str(refused.value)
    events = org.client("cloudformation", BACKUP, EAST).describe_stack_events(StackName="BackupEvents")["StackEvents"]
    assert [e["LogicalResourceId"] for e in events if e.get("ResourceStatus") == "CREATE_FAILED"] == [
        "FunctionLogGroup"
    ]


def test_a_log_group_key_admitting_each_regions_logs_principal_deploys_and_logs(undeployed):
    org = undeployed
    key = multi_region_key(org, lambda region: [admin(), logs_use(f"logs.{region}.amazonaws.com")])
    deploy_with(org, CloudWatchLogsKmsKey=key)
    group = org.client("logs", MAIN, EAST).describe_log_groups(logGroupNamePrefix="/aws/lambda/BackupEvents")
    assert [g.get("kmsKeyId") for g in group["logGroups"]] == [key]
    back_up(org)
    assert org.function_logs(MAIN)
