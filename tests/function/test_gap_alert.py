"""Issue 12: a gap that lasts past AlertAfterHours raises one central alert from the daily sweep,
after its repairs, naming each gap (at most GAP_ALERT_ROWS), where it is and the fix. Stubbed AWS
Backup and SNS; the end-to-end runs are in tests/sandbox/test_alerts.py."""

from __future__ import annotations

import datetime

import boto3
import pytest
from botocore.stub import ANY, Stubber
from lambda_support import BACKUP, DEFAULT_SETTINGS, MAIN, Context, fresh_module

UTC = datetime.UTC
NOW = datetime.datetime(2026, 1, 10, 3, 0, tzinfo=UTC)
VAULT = "BackupEvents-Sample"
TOPIC = f"arn:aws:sns:us-west-2:{BACKUP}:BackupEvents-Alerts"


def client(service):
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def original(n, hours_old):
    return {
        "RecoveryPointArn": f"arn:aws:backup:us-east-1:{MAIN}:recovery-point:rp-{n}",
        "BackupVaultName": VAULT,
        "Status": "COMPLETED",
        "CreationDate": NOW - datetime.timedelta(hours=hours_old),
        "Lifecycle": {"DeleteAfterDays": 35},
    }


class Sweeper:
    """The function in R, with stubbed AWS Backup and SNS; ALERTS_ON as the template sets it."""

    def __init__(self, **settings):
        self.module = fresh_module()
        self.backup, self.sns = client("backup"), client("sns")
        self.backup_stub, self.sns_stub = Stubber(self.backup), Stubber(self.sns)
        environ = dict(
            DEFAULT_SETTINGS,
            COPY_ROLE_ARN=DEFAULT_SETTINGS["COPY_ROLE_ARN"].format(account=MAIN),
            **{"ALERTS_ON": "true", **settings},
        )
        self.handler = self.module.build_function(
            environ,
            clients=lambda region: self.backup,
            clock=lambda: NOW,
            sleep=lambda seconds: None,
            services=lambda service, region: {"sns": self.sns}[service],
        )
        self.place = self.module.Place.of(Context(MAIN, "us-east-1"), self.handler.settings)

    def lists(self, points, jobs):
        self.backup_stub.add_response("list_copy_jobs", {"CopyJobs": jobs})
        self.backup_stub.add_response("list_recovery_points_by_backup_vault", {"RecoveryPoints": points})

    def sweep(self, event):
        with self.backup_stub, self.sns_stub:
            result = self.handler(event, Context(MAIN, "us-east-1"))
        self.backup_stub.assert_no_pending_responses()
        self.sns_stub.assert_no_pending_responses()
        return result


@pytest.fixture
def sweeper(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    return Sweeper


def published(log_lines):
    return [line["request"] for _, line in log_lines() if line.get("call") == "Publish"]


def test_a_copy_running_past_the_threshold_and_one_never_started_give_one_alert_after_the_repair(
    sweeper, event, log_lines
):
    function = sweeper()
    stuck, lost, young = original(1, 30), original(2, 26), original(3, 2)
    function.lists([stuck, lost, young], [{"SourceRecoveryPointArn": stuck["RecoveryPointArn"], "State": "RUNNING"}])
    function.backup_stub.add_response("start_copy_job", {"CopyJobId": "C2"})  # the sweep repairs rp-2
    function.backup_stub.add_response("start_copy_job", {"CopyJobId": "C3"})  # and rp-3 (not a gap yet)
    function.sns_stub.add_response("publish", {"MessageId": "m1"}, {"TopicArn": TOPIC, "Subject": ANY, "Message": ANY})
    result = function.sweep(event("scheduled_event"))
    assert result["copies_started"] == 2 and result["gaps_alerted"] == 2
    [alert] = published(log_lines)
    assert alert["Subject"] == f"Backup Events: 2 copy gap(s) in {MAIN} us-east-1"
    text = alert["Message"]
    assert f"account {MAIN}, region us-east-1, vault {VAULT}" in text and "after 24 h" in text
    assert f"{stuck['RecoveryPointArn']}: 30.0 h old, copy 1 RUNNING" in text
    assert "none if its copy job completes" in text  # the fix for a long-running copy
    assert f"{lost['RecoveryPointArn']}: 26.0 h old, copy 1 NONE" in text
    assert "the sweep started its copy now" in text
    assert young["RecoveryPointArn"] not in text
    # Published after the repairs: the StartCopyJob lines come first.
    calls = [line.get("call") for _, line in log_lines() if line.get("call")]
    assert calls == ["StartCopyJob", "StartCopyJob", "Publish"]


def test_no_gap_no_alert(sweeper, event):
    function = sweeper()
    done, young = original(1, 40), original(2, 3)
    function.lists(
        [done, young],
        [
            {"SourceRecoveryPointArn": done["RecoveryPointArn"], "State": "COMPLETED"},
            {"SourceRecoveryPointArn": young["RecoveryPointArn"], "State": "RUNNING"},
        ],
    )
    function.backup_stub.add_response("describe_recovery_point", dict(done, StorageClass="WARM"))
    function.backup_stub.add_response("describe_backup_vault", {"BackupVaultName": VAULT})
    function.backup_stub.add_response("update_recovery_point_lifecycle", {})
    result = function.sweep(event("scheduled_event"))  # no stubbed Publish: one would fail the test
    assert "gaps_alerted" not in result


def test_without_alerts_a_gap_is_measured_but_not_published(sweeper, event, capsys):
    function = sweeper(ALERTS_ON="false", ALERT_AFTER_HOURS="6")
    stuck = original(1, 7)
    function.lists([stuck], [{"SourceRecoveryPointArn": stuck["RecoveryPointArn"], "State": "RUNNING"}])
    assert "gaps_alerted" not in function.sweep(event("scheduled_event"))
    assert '"CopyGaps": 1' in capsys.readouterr().out  # the EMF metric still counts it


def test_alert_after_hours_moves_the_threshold(sweeper, event, log_lines):
    function = sweeper(ALERT_AFTER_HOURS="48")
    stuck = original(1, 30)
    function.lists([stuck], [{"SourceRecoveryPointArn": stuck["RecoveryPointArn"], "State": "RUNNING"}])
    assert "gaps_alerted" not in function.sweep(event("scheduled_event"))
    assert published(log_lines) == []


def test_a_failed_publish_keeps_the_repairs_and_fails_the_sweep(sweeper, event, log_lines):
    function = sweeper()
    lost = original(1, 30)
    function.lists([lost], [{"SourceRecoveryPointArn": lost["RecoveryPointArn"], "State": "FAILED"}])
    function.backup_stub.add_response("start_copy_job", {"CopyJobId": "C1"})
    function.sns_stub.add_client_error("publish", "KMSAccessDenied", "not authorized to use the key", 400)
    with pytest.raises(function.module.SweepIncomplete, match="0 of 1 sweep actions failed, its gap alert too"):
        function.sweep(event("scheduled_event"))
    errors = [line for level, line in log_lines() if level == "ERROR"]
    assert [line["type"] for line in errors] == ["gap_alert_failed", "error"]
    assert errors[0]["aws_error_code"] == "KMSAccessDenied" and "KMS key's policy" in errors[0]["fix"]
    [result] = [line["result"] for _, line in log_lines() if line["type"] == "sweep"]
    assert result["copies_started"] == 1 and result["gap_alert_failed"] == 1  # the copy was started


def test_a_burst_of_gaps_is_one_bounded_message(sweeper):
    function = sweeper()
    rows = [
        {
            "recovery_point": f"arn:aws:backup:us-east-1:{MAIN}:recovery-point:{n:036d}",
            "age_hours": 30.0,
            "copy": ("RUNNING", "NONE", "FAILED")[n % 3],
            "gap": True,
            "awaiting_shortening": False,
        }
        for n in range(1000)
    ] + [{"recovery_point": "young", "age_hours": 1.0, "copy": "NONE", "gap": False, "awaiting_shortening": False}]
    subject, text = function.module.gap_alert_text(function.place, rows)
    assert subject == f"Backup Events: 1000 copy gap(s) in {MAIN} us-east-1" and len(subject) <= 100
    named = function.module.GAP_ALERT_ROWS
    assert text.count("[gap] ") == named and f"... and {1000 - named} more gap(s)" in text
    assert len(text.encode()) < 16 * 1024  # far below SNS's 256 KB
    assert "the error-queue alert says why the copy failed" in text  # FAILED
    assert "sweep_action_failed" in text  # NONE, and the sweep did not start it
    assert f"backup-events status --region us-east-1, as {MAIN}" in text


def test_in_the_backup_account_the_gap_is_copy_2(sweeper):
    function = sweeper()
    place = function.module.Place.of(Context(BACKUP, "us-east-1"), function.handler.settings)
    rows = [{"recovery_point": "copy-1-arn", "age_hours": 25.0, "copy": "NONE", "gap": True}]
    _, text = function.module.gap_alert_text(place, rows, {"copy-1-arn"})
    assert "no completed copy 2 after 24 h" in text and "copy 2 NONE" in text
    assert "the sweep started its copy now" in text
    paused = sweeper(ENABLE_COPY="false", ENABLE_SHORTEN_RETENTION="false")
    _, text = paused.module.gap_alert_text(paused.place, rows)
    assert "set EnableCopy to true" in text


def test_lambdas_retry_of_a_failed_sweep_does_not_repeat_the_alert_on_a_warm_instance(sweeper, event, log_lines):
    function = sweeper()
    lost = original(1, 30)
    daily = event("scheduled_event")
    for attempt in range(3):  # the first attempt, then Lambda's 2 retries of the same event
        function.lists([lost], [])
        function.backup_stub.add_client_error("start_copy_job", "AccessDeniedException", "denied", 400)
        if attempt == 0:
            function.sns_stub.add_response(
                "publish", {"MessageId": "m1"}, {"TopicArn": TOPIC, "Subject": ANY, "Message": ANY}
            )
        with pytest.raises(function.module.SweepIncomplete, match="1 of 1 sweep actions failed"):
            function.sweep(daily)
    [alert] = published(log_lines)
    assert "sweep_action_failed log line says why" in alert["Message"]
    function.lists([lost], [])  # the next day's sweep is a new event: it alerts again
    function.backup_stub.add_response("start_copy_job", {"CopyJobId": "C1"})
    function.sns_stub.add_response("publish", {"MessageId": "m2"}, {"TopicArn": TOPIC, "Subject": ANY, "Message": ANY})
    function.sweep(dict(daily, id="next-day"))
    assert len(published(log_lines)) == 2
