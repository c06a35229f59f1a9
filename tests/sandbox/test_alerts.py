"""Central alerts end to end: every failure kind, in every stack instance of the typical layout,
reaches the one e-mail subscription of the backup account's topic, in plain words with the fix,
within 15 simulated minutes; a burst stays bounded; a forged event acts on nothing; the sweep's
metrics and `backup-events status` name the same gaps."""

from __future__ import annotations

import contextlib
import datetime
import io
import json
from collections.abc import Iterator

import boto3
import botocore.exceptions
import pytest

from backup_events_aws.operations import common, status
from backup_events_aws.sandbox import Organization

EMAIL = "backup-team@example.com"
BACKUP, EAST, WEST1, WEST2 = "999977775555", "us-east-1", "us-west-1", "us-west-2"
LIMIT = datetime.timedelta(minutes=15)
DAY = 86400


@contextlib.contextmanager
def alerting(layout: str = "typical", **parameters: str) -> Iterator[Organization]:
    with (Organization.typical if layout == "typical" else Organization.minimum)(
        parameters={"AlertEmail": EMAIL, **parameters}
    ) as org:
        assert org.sns.confirm(EMAIL) == 1  # the recipient follows the link SNS mailed
        yield org


def resource_instances(org: Organization) -> list[tuple[str, str]]:
    return [(i.account, i.region) for i in org.layout.instances() if not i.is_backup_account]


def sns_as(org: Organization, role_arn: str, region: str = WEST2):
    """An SNS client in `region` as a session of `role_arn` (held to its policies by the gate)."""
    keys = org.credentials.for_role(role_arn)
    return boto3.client(
        "sns",
        region_name=region,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )


def back_up_everywhere(org: Organization) -> None:
    for account, region in resource_instances(org):
        org.start_backup(account, region, org.create_resource("EFS", account, region))


def alerts_by_instance(org: Organization) -> dict[tuple[str, str], list]:
    """The error-queue alerts (not the sweep's gap alerts), by instance."""
    found: dict[tuple[str, str], list] = {}
    for mail in org.sns.mail_for(EMAIL):
        if " copy gap(s) in " in (mail.subject or ""):
            continue
        _, _, account, region = mail.subject.rsplit(" ", 3)
        found.setdefault((account, region), []).append(mail)
    return found


def first_failures(org: Organization) -> dict[tuple[str, str], datetime.datetime]:
    """When each instance first failed: a function ERROR line, or an error-queue delivery."""
    seen: dict[tuple[str, str], datetime.datetime] = {}

    def note(key: tuple[str, str], at: datetime.datetime) -> None:
        seen[key] = min(at, seen.get(key, at))

    for record in org.function_logs():
        if record["level"] == "ERROR":
            note(
                (record["account"], record["region"]),
                datetime.datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")),
            )
    for delivery in org.deliveries():
        if delivery.outcome in ("dead-lettered", "on-failure-delivered") or (
            delivery.outcome == "delivered" and ":sqs:" in (delivery.target_arn or "")
        ):
            note((delivery.account, delivery.region), delivery.at)
    return seen


def remove_invoke_permission(org: Organization, account: str, region: str, rule_suffix: str) -> None:
    client = org.client("lambda", account, region)
    policy = json.loads(client.get_policy(FunctionName="BackupEvents")["Policy"])
    for statement in policy["Statement"]:
        if json.dumps(statement.get("Condition", {})).find(f'BackupEvents-{rule_suffix}"') >= 0:
            client.remove_permission(FunctionName="BackupEvents", StatementId=statement["Sid"])


def assert_alerted(org: Organization, failing: set[tuple[str, str]], kind: str, words: str) -> None:
    alerts, failed_at = alerts_by_instance(org), first_failures(org)
    assert set(alerts) == failing, "exactly the failing instances alert"
    for where in failing:
        [mail] = alerts[where]  # one alert per incident
        check_alert(mail, where, failed_at, kind, words)


def check_alert(mail, where, failed_at, kind, words) -> None:
    if True:
        assert mail.at - failed_at[where] <= LIMIT, (where, mail.at - failed_at[where])
        assert f"[{kind}]" in mail.message and words in mail.message, mail.message
        assert f"account {where[0]}, region {where[1]}" in mail.message
        assert f"backup-events redrive --region {where[1]} --yes" in mail.message


def test_failed_copies_in_every_resource_instance_alert_with_the_fix():
    with alerting() as org:
        org.backup_service.fail_next_copies(100)  # every copy 1 FAILS: AWS Backup's access-denied message
        back_up_everywhere(org)
        org.run_until_idle()
        assert_alerted(
            org, set(resource_instances(org)), "job-failed", "vault access policy must Allow backup:CopyIntoBackupVault"
        )
        [mail] = alerts_by_instance(org)[(org.main_account, EAST)]
        assert ":recovery-point:" in mail.message and "BackupEvents-Sample" in mail.message


def test_failed_copies_2_in_the_backup_account_alert():
    with alerting() as org:
        back_up_everywhere(org)
        org.advance(8 * 60)  # copies 1 are running
        org.backup_service.fail_next_copies(100)  # so the copies 2 FAIL
        org.run_until_idle()
        assert_alerted(org, {(BACKUP, EAST), (BACKUP, WEST1)}, "job-failed", "Copy Job State Change FAILED")


def test_function_errors_in_every_instance_alert_after_lambdas_retries():
    with alerting() as org:
        for account, region in resource_instances(org):
            org.backup_service.deny_access("StartCopyJob", account, region)
        org.backup_service.deny_access("ListRecoveryPointsByBackupVault", BACKUP, WEST2)  # its daily sweep fails
        back_up_everywhere(org)
        org.run_until_idle()  # the events fail (before any daily sweep)
        assert_alerted(org, set(resource_instances(org)), "function-error", "failed 3 time(s) (RetriesExhausted)")
        org.advance(DAY)  # the daily sweeps: B's in us-west-2 fails; R's fail again, a new incident each
        org.run_until_idle()
        alerts, failed_at = alerts_by_instance(org), first_failures(org)
        assert set(alerts) == set(resource_instances(org)) | {(BACKUP, WEST2)}
        [mail] = alerts[(BACKUP, WEST2)]
        check_alert(mail, (BACKUP, WEST2), failed_at, "function-error", "Scheduled Event")
        assert {len(alerts[where]) for where in resource_instances(org)} == {2}
        # The backups still have no copy 1 a day later: the sweeps that found it a gap said so, once each.
        for mail in gap_alerts(org):
            assert "copy 1 NONE" in mail.message and "sweep_action_failed" in mail.message
        assert len(gap_alerts(org)) == len({mail.subject for mail in gap_alerts(org)}) >= 1


def test_an_account_without_the_copy_role_alerts_with_the_fix():
    """AWS Backup refuses a copy role it can't assume (docs/AWS-BEHAVIOUR.md §19 item 62): the
    function's StartCopyJob fails, Lambda retries, and the alert names the role to create."""
    with alerting("minimum", CopyRoleName="team/NotCreated") as org:  # the backups use the default role
        org.start_backup(org.main_account, EAST, org.create_resource("EFS", org.main_account, EAST))
        org.run_until_idle()
        assert_alerted(
            org,
            {(org.main_account, EAST)},
            "function-error",
            "create the copy role CopyRoleName in this account, trusting backup.amazonaws.com",
        )
        assert org.backup_service.copy_jobs(account_id=org.main_account) == []


def test_events_eventbridge_could_not_deliver_alert():
    with alerting() as org:
        for account, region in resource_instances(org)[:3]:  # copy 1 is never started
            remove_invoke_permission(org, account, region, "BackupCompleted")
        for region in (EAST, WEST1):  # B's function may no longer be invoked for copy 2
            remove_invoke_permission(org, BACKUP, region, "Copy2")
        back_up_everywhere(org)
        org.run_until_idle()
        assert_alerted(
            org,
            set(resource_instances(org)[:3]) | {(BACKUP, EAST), (BACKUP, WEST1)},
            "dead-letter",
            "redeploy the stack",
        )


def test_a_burst_of_failures_gives_one_alert_that_summarises():
    with alerting("minimum") as org:
        org.backup_service.fail_next_copies(10_000)
        for _ in range(150):  # within 2 minutes, at AWS Backup's StartBackupJob rate
            org.start_backup(org.main_account, EAST, org.create_resource("EFS", org.main_account, EAST))
            org.advance(0.8)
        org.run_until_idle()
        failures = len(org.error_messages(org.main_account, EAST))
        assert failures == 150
        [mail] = org.sns.mail_for(EMAIL)
        assert "10 read: 10 job-failed" in mail.message
        assert len(mail.message.encode()) < 256 * 1024  # SNS's message limit


def test_a_forged_alarm_event_acts_on_nothing():
    with alerting("minimum") as org:
        intruder = org.client("events", org.main_account, EAST)  # an account of the organisation
        bus = f"arn:aws:events:{EAST}:{BACKUP}:event-bus/BackupEvents"
        alarm = f"arn:aws:cloudwatch:{EAST}:{BACKUP}:alarm:BackupEvents-Errors"
        forged = {
            "Source": "aws.cloudwatch",
            "DetailType": "CloudWatch Alarm State Change",
            "Resources": [alarm],
            "Detail": json.dumps({"alarmName": "BackupEvents-Errors", "state": {"value": "ALARM"}}),
            "EventBusName": bus,
        }
        [answer] = intruder.put_events(Entries=[forged])["Entries"]
        assert answer["ErrorCode"] == "NotAuthorizedForSourceException"
        intruder.put_events(Entries=[dict(forged, Source="custom.cloudwatch")])
        org.run_until_idle()
        assert org.bridge.runtime.invocations == [] and org.sns.mailbox == []
        # Even handed straight to the function, it only reads its own queue and says so.
        function = org.bridge.runtime
        from moto.awslambda.models import lambda_backends

        deployed = lambda_backends[BACKUP][EAST].get_function("BackupEvents")
        event = {
            "version": "0",
            "id": "forged",
            "source": "aws.cloudwatch",
            "account": BACKUP,
            "detail-type": "CloudWatch Alarm State Change",
            "region": EAST,
            "resources": [alarm],
            "time": "2026-01-05T02:00:00Z",
            "detail": {"state": {"value": "ALARM", "timestamp": "now"}},
        }
        invocation = function.run_once(deployed, event)
        calls = [e["message"].get("call") for e in invocation.logs if isinstance(e["message"], dict)]
        assert invocation.error is None and calls == ["Publish"]
        assert org.backup_service.copy_jobs() == []
        [mail] = org.sns.mailbox
        assert "0 read" in mail.message  # a false alert at worst


def test_an_unconfirmed_subscription_receives_nothing():
    with Organization.minimum(parameters={"AlertEmail": EMAIL}) as org:
        org.backup_service.fail_next_copies(1)
        org.start_backup(org.main_account, EAST, org.create_resource("EFS", org.main_account, EAST))
        org.run_until_idle()
        assert org.sns.mailbox == []
        assert [a.history for a in org.cloudwatch.alarms.values() if a.account == org.main_account] == [["ALARM", "OK"]]


def test_only_the_organisations_function_roles_may_publish_to_the_topic():
    with alerting("minimum") as org:
        topic = f"arn:aws:sns:{WEST2}:{BACKUP}:BackupEvents-Alerts"
        iam = org.client("iam", org.main_account, EAST)
        iam.create_role(
            RoleName="Intruder",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": org.main_account}}
                    ],
                }
            ),
        )
        iam.put_role_policy(
            RoleName="Intruder",
            PolicyName="publish",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}
            ),
        )

        def publish_as(role: str, text: str) -> None:
            sns_as(org, f"arn:aws:iam::{org.main_account}:role/{role}").publish(TopicArn=topic, Message=text)

        # Its own policy allows it, the topic's does not: another role of the organisation.
        with pytest.raises(Exception, match="AuthorizationError"):
            publish_as("Intruder", "not a function")
        publish_as(f"BackupEvents-Function-{EAST}", "the main account's function")
        assert [m.message for m in org.sns.mailbox] == ["the main account's function"]


def session(org: Organization, account: str, region: str) -> boto3.Session:
    keys = org.credentials.for_account(account)
    return boto3.Session(
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
        region_name=region,
    )


def test_the_sweeps_metrics_and_status_name_the_same_gaps(monkeypatch, capsys):
    with alerting() as org:
        back_up_everywhere(org)  # these get their copies
        org.run_until_idle()
        org.backup_service.fail_next_copies(10_000)  # these never get their copy 1, the sweeps' retries fail too
        back_up_everywhere(org)
        org.run_until_idle()
        org.advance(2 * DAY)  # two daily sweeps: the second one sees gaps older than 24 h
        instances = status.collect(
            [(i.account, session(org, i.account, i.region)) for i in org.layout.instances()],
            "BackupEvents",
            None,
            common.Progress(out=io.StringIO()),
        )
        for instance in instances:
            metric = org.cloudwatch.latest(instance["account"], instance["region"], "BackupEvents", "CopyGaps")
            assert metric is not None and metric.value == instance["counts"]["CopyGaps"], instance["account"]
        assert sum(i["counts"]["CopyGaps"] for i in instances) >= 1
        assert status.report(instances, as_json=False) == 1
        out = capsys.readouterr().out
        assert out.count("GAP") == sum(i["counts"]["CopyGaps"] for i in instances)
        assert "8 -> 8" not in out and "35 -> 8" in out  # retention before (copy 1) and after


# --- Gaps past AlertAfterHours: the daily sweep's one gap alert --------------------------------


def gap_alerts(org: Organization) -> list:
    return [mail for mail in org.sns.mail_for(EMAIL) if " copy gap(s) in " in (mail.subject or "")]


def test_a_copy_stuck_running_past_alert_after_hours_gives_one_gap_alert_and_status_agrees(capsys):
    with alerting(AlertAfterHours="30") as org:
        org.backup_service.configure(copy_run_seconds=3 * DAY)  # copy 1 stays RUNNING three days
        org.start_backup(org.main_account, EAST, org.create_resource("EFS", org.main_account, EAST))
        org.advance(DAY + 3 * 3600)  # the first daily sweeps: the backup is about 26 hours old
        [first] = [
            r["message"]["result"]
            for r in org.function_logs(org.main_account, EAST)
            if isinstance(r["message"], dict) and r["message"].get("type") == "sweep"
        ]
        assert first["recovery_points"] == 1 and "gaps_alerted" not in first
        assert org.sns.mail_for(EMAIL) == []  # under AlertAfterHours: no gap yet
        org.advance(DAY)  # the next sweeps: about 50 hours, a gap
        [mail] = org.sns.mail_for(EMAIL)  # one message, to the one subscription, and nothing else
        assert mail.subject == f"Backup Events: 1 copy gap(s) in {org.main_account} {EAST}"
        [point] = [p["RecoveryPointArn"] for p in org.recovery_points(org.main_account, EAST)]
        assert f"account {org.main_account}, region {EAST}, vault BackupEvents-Sample" in mail.message
        assert f"[gap] {point}: " in mail.message and "copy 1 RUNNING" in mail.message
        assert "Likely fix: none if its copy job completes" in mail.message and "after 30 h" in mail.message
        # `backup-events status` names the same gap, by the same coverage rule.
        instances = status.collect(
            [(i.account, session(org, i.account, i.region)) for i in org.layout.instances()],
            "BackupEvents",
            None,
            common.Progress(out=io.StringIO()),
        )
        gaps = [(i["account"], i["region"], r["recovery_point"]) for i in instances for r in i["rows"] if r["gap"]]
        assert gaps == [(org.main_account, EAST, point)]
        assert status.report(instances, as_json=False) == 1
        metric = org.cloudwatch.latest(org.main_account, EAST, "BackupEvents", "CopyGaps")
        assert metric is not None and metric.value == 1


def test_a_copy_the_sweep_cannot_start_gives_one_gap_alert_with_the_fix():
    with alerting() as org:
        org.backup_service.deny_access("StartCopyJob", org.main_account, WEST1)  # copy 1 never starts
        org.start_backup(org.main_account, WEST1, org.create_resource("EFS", org.main_account, WEST1))
        org.advance(DAY + 3600)  # the next daily sweep: 24 hours after the backup
        org.run_until_idle()
        [mail] = gap_alerts(org)  # Lambda retried the failed sweep twice: still one gap alert
        assert mail.subject == f"Backup Events: 1 copy gap(s) in {org.main_account} {WEST1}"
        assert "copy 1 NONE" in mail.message and "sweep_action_failed log line says why" in mail.message
        # The failures themselves alert too, from the error queue (a different message).
        others = [m for m in org.sns.mail_for(EMAIL) if m is not mail]
        assert others and all("[function-error]" in m.message for m in others)


def test_no_gap_no_gap_alert():
    with alerting() as org:
        back_up_everywhere(org)
        org.run_until_idle()
        org.advance(2 * DAY + 3600)  # two daily sweeps
        org.run_until_idle()
        assert org.sns.mail_for(EMAIL) == []  # the sweeps found every copy: nothing to say
        assert sum(len(org.function_logs(a, r)) for a, r in resource_instances(org)) > 0


def test_a_burst_of_gaps_is_one_bounded_gap_alert():
    with alerting("minimum", AlertAfterHours="23") as org:
        org.backup_service.configure(copy_run_seconds=3 * DAY)
        for _ in range(60):  # within a minute, at AWS Backup's StartBackupJob rate
            org.start_backup(org.main_account, EAST, org.create_resource("EFS", org.main_account, EAST))
            org.advance(0.8)
        org.advance(DAY + 3600)
        [mail] = org.sns.mail_for(EMAIL)
        assert mail.subject == f"Backup Events: 60 copy gap(s) in {org.main_account} {EAST}"
        assert mail.message.count("[gap] ") == 20 and "... and 40 more gap(s)" in mail.message
        assert len(mail.message.encode()) < 256 * 1024


# --- An encrypted topic: the publisher needs the key too -------------------------------------


@contextlib.contextmanager
def encrypted_alerting(key_policy_admits_functions: bool) -> Iterator[tuple[Organization, str]]:
    org = Organization.typical(parameters={"AlertEmail": EMAIL})
    org.start(deploy=False)
    try:
        kms = org.client("kms", BACKUP, WEST2)
        key = kms.create_key(Description="alerts")["KeyMetadata"]["Arn"]  # default policy: B's root only
        if key_policy_admits_functions:
            policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
            policy["Statement"].append(
                {
                    "Sid": "OrganizationsFunctions",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"aws:PrincipalOrgID": org.layout.org_id},
                        "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BackupEvents-Function-*"},
                    },
                }
            )
            kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))
        org.layout.parameters["AlertKmsKey"] = key
        org.deploy()
        org.bridge.start_schedules()
        assert org.sns.confirm(EMAIL) == 1
        yield org, key
    finally:
        org.stop()


def test_an_encrypted_topic_whose_key_policy_does_not_admit_the_functions_refuses_their_alerts():
    with encrypted_alerting(key_policy_admits_functions=False) as (org, key):
        org.backup_service.fail_next_copies(1)
        org.start_backup(org.main_account, EAST, org.create_resource("EFS", org.main_account, EAST))
        org.run_until_idle()
        assert org.sns.mail_for(EMAIL) == []  # SNS refused to encrypt the alert for R's function
        refused = [
            r["message"]
            for r in org.function_logs(org.main_account, EAST)
            if r["level"] == "ERROR" and isinstance(r["message"], dict)
        ]
        assert refused and {m["aws_error_code"] for m in refused} == {"KMSAccessDenied"}
        assert f"kms:GenerateDataKey on resource: {key}" in refused[0]["message"]
        assert "because no resource-based policy allows" in refused[0]["message"]
        # Not lost: after Lambda's retries the alert's failure is in R's error queue, with the copy's.
        bodies = [m["body"] for m in org.error_messages(org.main_account, EAST)]
        failed_alerts = [b for b in bodies if "requestPayload" in b]
        assert [b["requestPayload"]["detail-type"] for b in failed_alerts] == ["CloudWatch Alarm State Change"]
        error = failed_alerts[0]["responsePayload"]
        assert error["errorType"] == "KMSAccessDeniedException" and "(KMSAccessDenied)" in error["errorMessage"]
        # B's function role, in the key's account: the key policy delegates to B's identity policies,
        # and the template granted it the two KMS actions on AlertKmsKey.
        sns_as(org, f"arn:aws:iam::{BACKUP}:role/BackupEvents-Function-{WEST2}").publish(
            TopicArn=f"arn:aws:sns:{WEST2}:{BACKUP}:BackupEvents-Alerts", Message="from B"
        )
        assert [m.message for m in org.sns.mail_for(EMAIL)] == ["from B"]


def test_an_encrypted_topic_whose_key_policy_admits_the_functions_delivers_their_alerts():
    with encrypted_alerting(key_policy_admits_functions=True) as (org, _):
        org.backup_service.fail_next_copies(1)
        org.start_backup(org.main_account, EAST, org.create_resource("EFS", org.main_account, EAST))
        org.run_until_idle()
        [mail] = org.sns.mail_for(EMAIL)
        assert "[job-failed]" in mail.message


def test_the_aws_managed_key_aws_sns_admits_only_its_own_account():
    with alerting("minimum") as org:
        sns = org.client("sns", BACKUP, WEST2)
        topic = sns.create_topic(Name="Encrypted", Attributes={"KmsMasterKeyId": "alias/aws/sns"})["TopicArn"]
        sns.set_topic_attributes(
            TopicArn=topic,
            AttributeName="Policy",
            AttributeValue=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": "*",
                            "Action": "sns:Publish",
                            "Resource": topic,
                            "Condition": {"StringEquals": {"aws:PrincipalOrgID": org.layout.org_id}},
                        }
                    ],
                }
            ),
        )
        for account in (BACKUP, org.main_account):  # let both functions' roles publish to any topic
            org.client("iam", account, EAST).put_role_policy(
                RoleName=f"BackupEvents-Function-{EAST}",
                PolicyName="any-topic",
                PolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}],
                    }
                ),
            )

        def publish_as(account: str) -> None:
            role = f"arn:aws:iam::{account}:role/BackupEvents-Function-{EAST}"
            sns_as(org, role).publish(TopicArn=topic, Message=f"from {account}")

        publish_as(BACKUP)  # its own account: the managed key's policy admits it through SNS
        with pytest.raises(Exception, match="KMSAccessDenied.*alias/aws/sns"):
            publish_as(org.main_account)  # another account: the managed key's policy can't admit it


def test_a_topic_key_that_is_gone_or_disabled_refuses_with_snss_codes():
    with alerting("minimum") as org:
        sns, kms = org.client("sns", BACKUP, WEST2), org.client("kms", BACKUP, WEST2)
        role = f"arn:aws:iam::{BACKUP}:role/BackupEvents-Function-{WEST2}"
        metadata = kms.create_key()["KeyMetadata"]
        key_id, key = metadata["KeyId"], metadata["Arn"]
        org.client("iam", BACKUP, EAST).put_role_policy(
            RoleName=f"BackupEvents-Function-{WEST2}",
            PolicyName="any-topic-and-key",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"},
                        {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": key},
                    ],
                }
            ),
        )
        function = sns_as(org, role)
        topic = sns.create_topic(Name="Encrypted", Attributes={"KmsMasterKeyId": key})["TopicArn"]
        function.publish(TopicArn=topic, Message="the key's own account, delegated to the role's policy")
        kms.disable_key(KeyId=key_id)
        with pytest.raises(botocore.exceptions.ClientError) as disabled:
            function.publish(TopicArn=topic, Message="x")
        assert disabled.value.response["Error"]["Code"] == "KMSDisabled"
        gone = key.rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"
        sns.set_topic_attributes(TopicArn=topic, AttributeName="KmsMasterKeyId", AttributeValue=gone)
        with pytest.raises(botocore.exceptions.ClientError) as missing:
            function.publish(TopicArn=topic, Message="x")
        assert missing.value.response["Error"]["Code"] == "KMSNotFound" and gone in str(missing.value)
