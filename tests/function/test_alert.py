"""The alert action and the error-queue explanations, with stubbed SQS and SNS (the sandbox's
end-to-end alert tests are in tests/sandbox/test_alerts.py)."""

from __future__ import annotations

import datetime
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber
from lambda_support import BACKUP, DEFAULT_SETTINGS, MAIN, Context, fresh_module

QUEUE = f"https://sqs.us-east-1.amazonaws.com/{MAIN}/BackupEvents-Errors"
TOPIC = f"arn:aws:sns:us-west-2:{BACKUP}:BackupEvents-Alerts"
RP = f"arn:aws:backup:us-east-1:{MAIN}:recovery-point:0f5e1c2a"


def client(service):
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def alarm_event(state="ALARM"):
    return {
        "id": "a1",
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "account": MAIN,
        "region": "us-east-1",
        "resources": [f"arn:aws:cloudwatch:us-east-1:{MAIN}:alarm:BackupEvents-Errors"],
        "detail": {
            "alarmName": "BackupEvents-Errors",
            "state": {"value": state, "timestamp": "2026-03-10T15:30:00.000+0000"},
        },
    }


def failed_copy_message():
    body = {
        "id": "e1",
        "source": "aws.backup",
        "detail-type": "Copy Job State Change",
        "resources": [RP],
        "detail": {"state": "FAILED", "statusMessage": "Given key ID is not accessible"},
    }
    return {"MessageId": "m1", "ReceiptHandle": "r1", "Body": json.dumps(body)}


@pytest.fixture
def alerting(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    module = fresh_module()
    sqs, sns = client("sqs"), client("sns")
    environ = dict(
        DEFAULT_SETTINGS,
        COPY_ROLE_ARN=DEFAULT_SETTINGS["COPY_ROLE_ARN"].format(account=MAIN),
        ERROR_QUEUE_URL=QUEUE,
        ALERT_TOPIC_ARN=TOPIC,
    )
    handler = module.build_function(
        environ,
        clients=lambda region: client("backup"),
        clock=lambda: datetime.datetime(2026, 3, 10, tzinfo=datetime.UTC),
        sleep=lambda seconds: None,
        services=lambda service, region: {"sqs": sqs, "sns": sns}[service],
    )
    return module, handler, Stubber(sqs), Stubber(sns)


def test_an_alarm_reads_its_own_queue_without_hiding_it_and_publishes_one_summary(alerting, log_lines):
    module, handler, sqs, sns = alerting
    sqs.add_response(
        "receive_message",
        {"Messages": [failed_copy_message()]},
        {
            "QueueUrl": QUEUE,
            "MaxNumberOfMessages": 10,
            "VisibilityTimeout": 0,
            "WaitTimeSeconds": 1,
            "MessageAttributeNames": ["All"],
        },
    )
    sns.add_response("publish", {"MessageId": "p1"}, {"TopicArn": TOPIC, "Subject": ANY, "Message": ANY})
    with sqs, sns:
        result = handler(alarm_event(), Context(MAIN, "us-east-1"))
    sqs.assert_no_pending_responses()
    sns.assert_no_pending_responses()
    assert result == {"alerted": TOPIC, "messages": 1, "action": "alert"}
    [published] = [line["request"] for _, line in log_lines() if line.get("call") == "Publish"]
    assert published["TopicArn"] == TOPIC and MAIN in published["Subject"]
    assert RP in published["Message"] and module.KEY_FIX in published["Message"]


def test_an_alarm_back_to_ok_does_nothing(alerting):
    _, handler, sqs, sns = alerting
    with sqs, sns:  # no stubbed response: any call would fail the test
        result = handler(alarm_event("OK"), Context(MAIN, "us-east-1"))
    assert result["action"] == "ignore"


def test_each_kind_of_error_queue_message_is_explained_with_a_fix(alerting):
    module = alerting[0]
    dead = module.explain_failure(
        {"detail-type": "Copy Job State Change", "id": "e2"},
        {"ERROR_CODE": "CROSS_ACCOUNT_INGESTION_FAILED", "TARGET_ARN": "arn:aws:events:x", "ERROR_MESSAGE": "no"},
    )
    assert dead[0] == "dead-letter" and "bus policy" in dead[2]
    refused = module.explain_failure(
        {
            "requestContext": {"approximateInvokeCount": 3, "condition": "RetriesExhausted"},
            "requestPayload": {"detail-type": "Backup Job State Change", "id": "e3", "detail": {}},
            "responsePayload": {"errorType": "CopyRefused", "errorMessage": "EBS backups keep the key. Fix: use a CMK"},
        },
        {},
    )
    assert refused[0] == "function-error" and refused[2] == "use a CMK; then re-submit"
    other = module.explain_failure({"requestPayload": {}, "responsePayload": {"errorType": "ClientError"}}, {})
    assert other[0] == "function-error" and other[2]
    failed = module.explain_failure(json.loads(failed_copy_message()["Body"]), {})
    assert failed[0] == "job-failed" and module.KEY_FIX in failed[2]
    unknown = module.explain_failure({"something": "else"}, {})
    assert unknown[0] == "unknown" and "delete it" in unknown[2]
