"""End to end on the deployed template: layouts, switches, failures, near misses and forgeries.

Each test drives the sandbox organisation (tests/sandbox/test_organization.py shows the basics)
and asserts on what AWS would hold afterwards: recovery points, copy jobs, error queues, and
which functions ran and which AWS calls they made.
"""

from __future__ import annotations

import itertools
import json

import pytest

from backup_events_aws.sandbox import Layout, Organization
from backup_events_aws.sandbox import backup as sandbox_backup

EAST, WEST1, WEST2 = "us-east-1", "us-west-1", "us-west-2"
MAIN, BACKUP = "000022224444", "999977775555"
VAULT = "BackupEvents-Sample"
DAY = 86400


def vault_arn(account: str, region: str, name: str = VAULT) -> str:
    return f"arn:aws:backup:{region}:{account}:backup-vault:{name}"


def originals(org: Organization) -> list[sandbox_backup.RecoveryPoint]:
    return [
        p
        for p in org.backup_service.recovery_points(include_deleted=True)
        if p.source_vault_arn is None and p.account != org.backup_account
    ]


def completed_copies(org, source_arn: str) -> list[sandbox_backup.CopyJob]:
    return [
        j
        for j in org.backup_service.copy_jobs()
        if j.source_recovery_point_arn == source_arn and j.state == "COMPLETED"
    ]


def aws_calls(org: Organization, account: str | None = None) -> list[str]:
    """AWS calls the functions logged (one aws_call line per successful call)."""
    return [
        log["message"]["call"]
        for log in org.function_logs(account=account)
        if isinstance(log["message"], dict) and log["message"].get("type") == "aws_call"
    ]


def error_queues(org: Organization) -> dict[tuple[str, str], list[dict]]:
    return {(i.account, i.region): org.error_messages(i.account, i.region) for i in org.layout.instances()}


def assert_no_errors(org: Organization) -> None:
    assert {k: v for k, v in error_queues(org).items() if v} == {}


def assert_chain(org: Organization, original: sandbox_backup.RecoveryPoint, copy2_region: str) -> None:
    """copy 1 in B, same region; copy 2 in B, copy2_region; the original shortened to 8 days."""
    [copy1_job] = completed_copies(org, original.arn)
    assert copy1_job.destination_vault_arn == vault_arn(org.backup_account, original.region)
    [copy2_job] = completed_copies(org, copy1_job.destination_recovery_point_arn)
    assert copy2_job.account == org.backup_account
    assert copy2_job.destination_vault_arn == vault_arn(org.backup_account, copy2_region)
    assert original.lifecycle == {"DeleteAfterDays": 8}  # created today: max(1, 7) + 1
    for job in (copy1_job, copy2_job):
        copy = org.backup_service.find_recovery_point(job.destination_recovery_point_arn)
        assert copy.lifecycle == {"DeleteAfterDays": 35}  # copies keep the original retention


# ---------------------------------------------------------------------------- 1. layouts


def backup_region_layout() -> Layout:
    """Resources in us-east-1 and in the backup region us-west-2 itself."""
    return Layout("o-xxxxxxxxxx", BACKUP, (MAIN,), (EAST, WEST2), WEST2, EAST)


def test_every_layout_copies_twice_shortens_then_originals_expire_and_copies_stay():
    for layout in ("minimum", "typical", "backup region"):
        org = {
            "minimum": Organization.minimum,
            "typical": Organization.typical,
            "backup region": lambda: Organization(backup_region_layout()),
        }[layout]()
        with org:
            for account in org.layout.resource_accounts:
                for region in org.layout.resource_regions:
                    org.start_backup(account, region, org.create_resource("EFS", account, region))
            org.run_until_idle()
            found = originals(org)
            assert len(found) == len(org.layout.resource_accounts) * len(org.layout.resource_regions), layout
            for original in found:
                # Copy 2 goes to the backup region, or to the alternate from the backup region.
                assert_chain(org, original, EAST if original.region == WEST2 else WEST2)
            assert_no_errors(org)
            copies = [p for p in org.backup_service.recovery_points() if p.account == org.backup_account]
            assert len(copies) == 2 * len(found)

            # Past the new deletion day (8 days) and AWS's 8-hour deletion window: originals gone.
            org.advance(8 * DAY + 8 * 3600 + 60)
            assert all(p.status == "DELETED" for p in originals(org)), layout
            remaining = [p for p in org.backup_service.recovery_points() if p.account == org.backup_account]
            assert sorted(p.arn for p in remaining) == sorted(p.arn for p in copies)
            # The daily sweeps that ran meanwhile copied nothing twice.
            assert len(org.backup_service.copy_jobs()) == 2 * len(found)


# ---------------------------------------------------------------------------- 2. switches


def run_on_demand_and_scheduled(org: Organization) -> tuple[str, str]:
    """One on-demand and one plan-created backup in main/us-east-1; returns their ARNs."""
    on_demand = org.start_backup(MAIN, EAST, org.create_resource("EFS", MAIN, EAST))
    scheduled = org.start_backup(MAIN, EAST, org.create_resource("EFS", MAIN, EAST), scheduled=True)
    org.run_until_idle()
    jobs = {j.job_id: j.recovery_point_arn for j in org.backup_service.backup_jobs()}
    return jobs[on_demand], jobs[scheduled]


def invoked_for(org: Organization, recovery_point_arn: str) -> list:
    """Invocations whose event is about this recovery point (resources[0])."""
    return [
        i
        for i in org.bridge.runtime.invocations
        if isinstance(i.payload, dict) and recovery_point_arn in (i.payload.get("resources") or [])
    ]


@pytest.mark.parametrize(
    "cover, copied", [("all", {"on-demand", "scheduled"}), ("on-demand", {"on-demand"}), ("scheduled", {"scheduled"})]
)
def test_backups_to_cover_decides_which_backups_are_copied(cover, copied):
    with Organization.minimum(parameters={"BackupsToCover": cover}) as org:
        on_demand, scheduled = run_on_demand_and_scheduled(org)
        for kind, arn in (("on-demand", on_demand), ("scheduled", scheduled)):
            original = org.backup_service.find_recovery_point(arn)
            if kind in copied:
                assert_chain(org, original, WEST2)
            else:
                # The rule's pattern filters it out: no copy, no shortening, no invocation at all.
                assert completed_copies(org, arn) == [] and original.lifecycle == {"DeleteAfterDays": 35}
                assert invoked_for(org, arn) == []
        assert aws_calls(org).count("StartCopyJob") == 2 * len(copied)
        assert_no_errors(org)


def test_enable_copy_false_does_nothing_at_all():
    parameters = {"EnableCopy": "false", "EnableShortenRetention": "false"}
    with Organization.minimum(parameters=parameters) as org:
        run_on_demand_and_scheduled(org)
        org.advance(DAY + 3600)  # a day: no sweep either (it needs copying on)
        assert org.backup_service.copy_jobs() == []
        assert org.bridge.runtime.invocations == []
        assert all(p.lifecycle == {"DeleteAfterDays": 35} for p in originals(org))
        disabled = {d.rule_arn.rsplit("/", 1)[-1] for d in org.deliveries() if d.outcome == "rule-disabled"}
        assert "BackupEvents-BackupCompleted" in disabled  # the rules stay, disabled
        assert_no_errors(org)


def test_enable_shorten_retention_false_copies_but_never_touches_the_original():
    with Organization.minimum(parameters={"EnableShortenRetention": "false"}) as org:
        on_demand, scheduled = run_on_demand_and_scheduled(org)
        for arn in (on_demand, scheduled):
            [copy1] = completed_copies(org, arn)
            assert len(completed_copies(org, copy1.destination_recovery_point_arn)) == 1
            assert org.backup_service.find_recovery_point(arn).lifecycle == {"DeleteAfterDays": 35}
        calls = aws_calls(org)
        assert calls.count("StartCopyJob") == 4
        assert "UpdateRecoveryPointLifecycle" not in calls
        # Not even a DescribeRecoveryPoint: the function is not invoked for copy 1 in main.
        assert all(i.aws_calls == 1 for i in org.bridge.runtime.invocations)
        assert len(org.bridge.runtime.invocations) == 4
        assert_no_errors(org)


# ---------------------------------------------------------------------------- 3. failures


@pytest.fixture
def minimum():
    with Organization.minimum() as org:
        yield org


def one_backup(org: Organization) -> str:
    job_id = org.start_backup(MAIN, EAST, org.create_resource("EFS", MAIN, EAST))
    org.run_until_idle()
    [job] = [j for j in org.backup_service.backup_jobs() if j.job_id == job_id]
    return job.recovery_point_arn


def test_a_failed_copy_lands_in_the_error_queue_and_the_original_keeps_its_retention(minimum):
    minimum.backup_service.fail_next_copies(1)
    arn = one_backup(minimum)
    [message] = minimum.error_messages(MAIN, EAST)
    event = message["body"]
    assert event["detail-type"] == "Copy Job State Change" and event["detail"]["state"] == "FAILED"
    assert event["resources"] == [arn]  # which backup
    assert event["detail"]["statusMessage"] == sandbox_backup.MSG_ACCESS_DENIED  # why
    assert event["detail"]["destinationBackupVaultArn"] == vault_arn(BACKUP, EAST)  # where to
    assert minimum.backup_service.find_recovery_point(arn).lifecycle == {"DeleteAfterDays": 35}
    assert "UpdateRecoveryPointLifecycle" not in aws_calls(minimum)
    assert [p for p in minimum.backup_service.recovery_points() if p.account == BACKUP] == []


def test_a_function_error_is_retried_twice_then_recorded_with_the_event(minimum):
    minimum.backup_service.deny_access("StartCopyJob", MAIN)
    arn = one_backup(minimum)
    attempts = [i for i in minimum.bridge.runtime.invocations if i.error]
    assert len(attempts) == 3 and [i.attempt for i in attempts] == [1, 2, 3]
    assert [(b.at - a.at).total_seconds() // 60 for a, b in itertools.pairwise(attempts)] == [1, 2]
    [message] = minimum.error_messages(MAIN, EAST)
    record = message["body"]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"]["resources"] == [arn]
    assert "AccessDenied" in record["responsePayload"]["errorType"] + record["responsePayload"]["errorMessage"]
    assert minimum.backup_service.copy_jobs() == []
    assert minimum.backup_service.find_recovery_point(arn).lifecycle == {"DeleteAfterDays": 35}


def test_every_on_failure_outcome_is_in_the_trace_and_sending_needs_role_and_queue_policy(minimum):
    org = minimum
    minimum.backup_service.deny_access("StartCopyJob", MAIN)
    queue_arn = f"arn:aws:sqs:{EAST}:{MAIN}:" + org.stack_outputs(MAIN, EAST)["ErrorQueueUrl"].rsplit("/", 1)[-1]
    function_arn = org.function_arn(MAIN, EAST)

    def on_failure() -> list:
        return [d for d in org.deliveries() if d.outcome.startswith("on-failure-")]

    def backup_and_outcome() -> tuple[str, str | None, str | None]:
        before = len(on_failure())
        one_backup(org)
        [delivery] = on_failure()[before:]
        assert delivery.rule_arn == function_arn and delivery.account == MAIN and delivery.region == EAST
        return delivery.outcome, delivery.target_arn, delivery.error_code

    # 1. Delivered: the function role may send and the queue policy does not deny it.
    assert backup_and_outcome() == ("on-failure-delivered", queue_arn, None)
    assert len(org.error_messages(MAIN, EAST)) == 1
    # 2. The queue policy denies the function role: refused, nothing arrives.
    sqs = org.client("sqs", MAIN, EAST)
    url = org.stack_outputs(MAIN, EAST)["ErrorQueueUrl"]
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    role_name = org.stack_resources(MAIN, EAST)["FunctionRole"]["id"]
    role_arn = org.client("iam", MAIN, EAST).get_role(RoleName=role_name)["Role"]["Arn"]
    denying = {
        **policy,
        "Statement": policy["Statement"]
        + [
            {
                "Sid": "NotTheFunction",
                "Effect": "Deny",
                "Principal": {"AWS": role_arn},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(denying)})
    assert backup_and_outcome() == ("on-failure-refused", queue_arn, "NO_PERMISSIONS")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    # 3. The role loses its sqs:SendMessage (same account: the queue policy alone does not admit it).
    from moto.iam.models import iam_backends

    role = iam_backends[MAIN]["aws"].get_role(role_name)
    [(policy_name, document)] = role.policies.items()
    kept = json.loads(document) if isinstance(document, str) else document
    role.policies[policy_name] = {
        **kept,
        "Statement": [s for s in kept["Statement"] if "sqs:SendMessage" not in json.dumps(s)],
    }
    assert backup_and_outcome() == ("on-failure-refused", queue_arn, "NO_PERMISSIONS")
    role.policies[policy_name] = document
    # 4. A destination the sandbox does not send to is said so, not silently skipped.
    from moto.awslambda.models import lambda_backends

    function = lambda_backends[MAIN][EAST].get_function(function_arn.rsplit(":", 1)[-1])
    topic = f"arn:aws:sns:{EAST}:{MAIN}:errors"
    function.event_invoke_config[0].config["DestinationConfig"]["OnFailure"]["Destination"] = topic
    assert backup_and_outcome() == ("on-failure-unsupported", topic, "UNSUPPORTED")
    assert len(org.error_messages(MAIN, EAST)) == 1  # only the first one arrived


def test_a_shortening_error_is_recorded_and_leaves_the_original_as_it_was(minimum):
    minimum.backup_service.deny_access("UpdateRecoveryPointLifecycle", MAIN)
    arn = one_backup(minimum)
    [message] = minimum.error_messages(MAIN, EAST)
    assert message["body"]["requestPayload"]["detail"]["state"] == "COMPLETED"
    assert message["body"]["requestPayload"]["resources"] == [arn]
    assert minimum.backup_service.find_recovery_point(arn).lifecycle == {"DeleteAfterDays": 35}
    assert len(completed_copies(minimum, arn)) == 1  # copy 1 and copy 2 are unaffected
    assert minimum.error_messages(BACKUP, EAST) == []


def test_a_vault_policy_denying_the_shortening_sends_the_event_to_the_error_queue(minimum):
    # docs/AWS-BEHAVIOUR.md §7: UpdateRecoveryPointLifecycle "uses the existing vault access policy"; the
    # AWS Config rule backup-recovery-point-manual-deletion-disabled expects such a Deny.
    backup = minimum.client("backup", MAIN, EAST)
    policy = json.loads(backup.get_backup_vault_access_policy(BackupVaultName=VAULT)["Policy"])
    policy["Statement"].append(
        {
            "Sid": "NoManualDeletion",
            "Effect": "Deny",
            "Principal": "*",
            "Resource": "*",
            "Action": [
                "backup:DeleteRecoveryPoint",
                "backup:UpdateRecoveryPointLifecycle",
                "backup:PutBackupVaultAccessPolicy",
            ],
        }
    )
    backup.put_backup_vault_access_policy(BackupVaultName=VAULT, Policy=json.dumps(policy))
    arn = one_backup(minimum)
    assert len(completed_copies(minimum, arn)) == 1  # copy 1 (and copy 2) happened
    shortening = [
        i
        for i in minimum.bridge.runtime.invocations
        if i.error
        and i.payload["detail-type"] == "Copy Job State Change"
        and i.function_arn == minimum.function_arn(MAIN, EAST)
    ]
    assert [i.attempt for i in shortening] == [1, 2, 3]
    assert all(
        "AccessDeniedException" in i.error["errorMessage"] and "UpdateRecoveryPointLifecycle" in i.error["errorMessage"]
        for i in shortening
    )
    [message] = minimum.error_messages(MAIN, EAST)
    assert message["body"]["requestContext"]["approximateInvokeCount"] == 3
    assert message["body"]["requestPayload"]["resources"] == [arn]
    assert minimum.backup_service.find_recovery_point(arn).lifecycle == {"DeleteAfterDays": 35}


def test_a_copy2_error_is_recorded_in_the_backup_account(minimum):
    minimum.backup_service.deny_access("StartCopyJob", BACKUP)
    arn = one_backup(minimum)
    [copy1] = completed_copies(minimum, arn)
    [message] = minimum.error_messages(BACKUP, EAST)
    assert message["body"]["requestPayload"]["detail"]["destinationRecoveryPointArn"] == (
        copy1.destination_recovery_point_arn
    )
    # Copy 1 completed, so shortening the original is right.
    assert minimum.backup_service.find_recovery_point(arn).lifecycle == {"DeleteAfterDays": 8}
    assert minimum.error_messages(MAIN, EAST) == []


def test_a_missing_lambda_permission_sends_the_event_to_the_rules_dead_letter_queue(minimum):
    function = minimum.stack_outputs(MAIN, EAST)["FunctionName"]
    lambda_client = minimum.client("lambda", MAIN, EAST)
    policy = json.loads(lambda_client.get_policy(FunctionName=function)["Policy"])
    [statement] = [
        s
        for s in policy["Statement"]
        if s["Condition"]["ArnLike"]["AWS:SourceArn"].endswith("/BackupEvents-BackupCompleted")
    ]
    lambda_client.remove_permission(FunctionName=function, StatementId=statement["Sid"])
    arn = one_backup(minimum)
    [message] = minimum.error_messages(MAIN, EAST)
    assert message["attributes"]["ERROR_CODE"] == "NO_PERMISSIONS"
    assert message["attributes"]["RULE_ARN"].endswith(":rule/BackupEvents-BackupCompleted")
    assert message["attributes"]["TARGET_ARN"] == minimum.function_arn(MAIN, EAST)
    assert message["body"]["resources"] == [arn]
    assert minimum.bridge.runtime.invocations == [] and minimum.backup_service.copy_jobs() == []
    assert minimum.backup_service.find_recovery_point(arn).lifecycle == {"DeleteAfterDays": 35}


# ---------------------------------------------------------------------------- 6. near misses, forgeries


def backup_completed(arn: str, vault: str, account: str = MAIN, state: str = "COMPLETED") -> dict:
    return {
        "source": "aws.backup",
        "detail-type": "Backup Job State Change",
        "account": account,
        "region": EAST,
        "resources": [arn],
        "detail": {
            "backupJobId": "0123",
            "state": state,
            "backupVaultArn": vault,
            "backupVaultName": vault.rsplit(":", 1)[-1],
            "resourceType": "EFS",
        },
    }


def copy_completed(
    source_arn: str, destination_vault: str, destination_point: str, source_vault: str = vault_arn(MAIN, EAST)
) -> dict:
    return {
        "source": "aws.backup",
        "detail-type": "Copy Job State Change",
        "account": MAIN,
        "region": EAST,
        "resources": [source_arn],
        "detail": {
            "copyJobId": "0456",
            "state": "COMPLETED",
            "sourceBackupVaultArn": source_vault,
            "destinationBackupVaultArn": destination_vault,
            "destinationRecoveryPointArn": destination_point,
            "resourceType": "EFS",
        },
    }


def test_near_miss_events_invoke_nothing(minimum):
    point = "arn:aws:backup:us-east-1:000022224444:recovery-point:11111111-2222-4333-8444-555555555555"
    near_misses = [
        backup_completed(point, vault_arn(MAIN, EAST, "Other")),  # another vault
        backup_completed(point, vault_arn(MAIN, EAST), state="RUNNING"),  # another state
        backup_completed(point, vault_arn("111122223333", EAST)),  # another account's vault
        # copy to a vault that is not the backup account's: another name, another account, another region
        copy_completed(point, vault_arn(BACKUP, EAST, "Other"), point),
        copy_completed(point, vault_arn(MAIN, WEST2), point),
        copy_completed(point, vault_arn(BACKUP, WEST2), point),
        copy_completed(point, vault_arn(BACKUP, EAST), point, source_vault=vault_arn(MAIN, EAST, "Other")),
    ]
    for event in near_misses:
        minimum.bridge.deliver(event, MAIN, EAST)
    # The genuine event, last: proves the near misses were judged by the same rules.
    minimum.bridge.deliver(backup_completed(point, vault_arn(MAIN, EAST)), MAIN, EAST)
    minimum.run_until_idle()
    # (It names no real recovery point, so the function fails and Lambda retries it: 3 attempts.)
    invoked = {i.request_id: i.payload for i in minimum.bridge.runtime.invocations}
    [payload] = invoked.values()
    assert payload["detail"]["backupVaultArn"] == vault_arn(MAIN, EAST) and payload["detail"]["state"] == "COMPLETED"


def test_customers_cannot_put_aws_backup_events_on_the_backup_accounts_bus(minimum):
    bus = minimum.stack_outputs(BACKUP, EAST)["EventBusArn"]
    events = minimum.client("events", MAIN, EAST)
    detail = copy_completed("arn:x", vault_arn(BACKUP, EAST), "arn:y")["detail"]
    forged = events.put_events(
        Entries=[
            {
                "Source": "aws.backup",
                "DetailType": "Copy Job State Change",
                "Detail": json.dumps(detail),
                "EventBusName": bus,
            }
        ]
    )
    assert forged["Entries"][0]["ErrorCode"] == "NotAuthorizedForSourceException"
    # An organisation member may put its own source on the bus, but the rule wants aws.backup.
    other = events.put_events(
        Entries=[
            {
                "Source": "custom.backup",
                "DetailType": "Copy Job State Change",
                "Detail": json.dumps(detail),
                "EventBusName": bus,
            }
        ]
    )
    assert other["FailedEntryCount"] == 0
    minimum.run_until_idle()
    assert minimum.bridge.runtime.invocations == []
    assert [d.outcome for d in minimum.deliveries()] == []  # accepted, matched by no rule
    # Positive control: a rule on that bus that does match the custom source receives the same entry.
    backup_events = minimum.client("events", BACKUP, EAST)
    sqs = minimum.client("sqs", BACKUP, EAST)
    queue_url = sqs.create_queue(QueueName="custom-source")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{EAST}:{BACKUP}:custom-source"
    bus_name = bus.rsplit("/", 1)[-1]
    rule_arn = backup_events.put_rule(
        Name="custom-source", EventBusName=bus_name, EventPattern=json.dumps({"source": ["custom.backup"]})
    )["RuleArn"]
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={
            "Policy": json.dumps(
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": queue_arn,
                            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                        }
                    ]
                }
            )
        },
    )
    backup_events.put_targets(Rule="custom-source", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": queue_arn}])
    again = events.put_events(
        Entries=[
            {
                "Source": "custom.backup",
                "DetailType": "Copy Job State Change",
                "Detail": json.dumps(detail),
                "EventBusName": bus,
            }
        ]
    )
    assert again["FailedEntryCount"] == 0
    minimum.run_until_idle()
    [received] = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(received["Body"])["detail"] == detail
    assert minimum.bridge.runtime.invocations == []


def test_a_forged_copy_event_on_the_bus_makes_the_backup_function_raise_not_copy(minimum):
    # Say a genuine-looking event reached B's bus naming a recovery point elsewhere.
    arn = one_backup(minimum)
    [copy1] = completed_copies(minimum, arn)
    jobs_before = len(minimum.backup_service.copy_jobs())
    minimum.client("backup", BACKUP, EAST).create_backup_vault(BackupVaultName="Default")
    elsewhere = [
        copy1.destination_recovery_point_arn.replace(EAST, WEST1),  # another region
        minimum.backup_service.put_recovery_point(
            BACKUP, EAST, "Default", f"arn:aws:elasticfilesystem:us-east-1:{BACKUP}:file-system/fs-0aa"
        ),  # another vault, same region
    ]
    for point in elsewhere:
        minimum.bridge.deliver(copy_completed(arn, vault_arn(BACKUP, EAST), point), BACKUP, EAST, bus="BackupEvents")
    minimum.run_until_idle()
    assert len(minimum.backup_service.copy_jobs()) == jobs_before  # no copy started
    failed = [i for i in minimum.bridge.runtime.invocations if i.error and i.function_arn.split(":")[4] == BACKUP]
    assert len(failed) == 6  # 2 events x 3 attempts
    assert {i.error["errorType"] for i in failed} == {"BadEvent", "ResourceNotFoundException"}
    records = minimum.error_messages(BACKUP, EAST)
    assert sorted(r["body"]["requestPayload"]["detail"]["destinationRecoveryPointArn"] for r in records) == sorted(
        elsewhere
    )
