"""EventBridge -> targets in the sandbox: rule state, permissions, DLQs, Lambda retries, cross-account buses."""

from __future__ import annotations

import datetime
import json
import os

import pytest
from moto import mock_aws
from stack_helpers import client, deploy, queue_policy_for_events, receive_all

from backup_events_aws.sandbox import cloudformation as sandbox_cloudformation
from backup_events_aws.sandbox.bridge import Bridge, Faults
from backup_events_aws.sandbox.clock import Clock
from backup_events_aws.sandbox.lambda_runtime import LambdaContext

SOURCE_ACCOUNT = "111111111111"
CENTRAL_ACCOUNT = "222222222222"
OUTSIDER_ACCOUNT = "333333333333"
ORG_ID = "o-testorg123"
REGION = "us-east-1"

FUNCTION_CODE = """
import json, logging, os
import boto3

logger = logging.getLogger()
INIT_MARK = os.environ["AWS_LAMBDA_FUNCTION_NAME"] + "/" + os.environ["MODE"]
_sts = None

def lambda_handler(event, context):
    global _sts
    _sts = _sts or boto3.client("sts")
    caller = _sts.get_caller_identity()["Account"]
    logger.info({"type": "handled", "eventId": event.get("id"), "caller": caller,
                 "region": os.environ["AWS_REGION"], "init": id(INIT_MARK),
                 "arn": context.invoked_function_arn})
    if event.get("detail", {}).get("fail"):
        raise RuntimeError("asked to fail")
    return "ok"
"""


def function_stack(grant_permission: bool = True, timeout: int | None = None) -> dict:
    resources = {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": "fn-role",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                # Lambda sends on-failure records with the function's role.
                "Policies": [
                    {
                        "PolicyName": "on-failure",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "sqs:SendMessage",
                                    "Resource": {"Fn::GetAtt": ["ErrorQueue", "Arn"]},
                                }
                            ],
                        },
                    }
                ],
            },
        },
        "Function": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": "handler",
                "Handler": "index.lambda_handler",
                "Runtime": "python3.13",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": FUNCTION_CODE},
                "Environment": {"Variables": {"MODE": "test"}},
                **({"Timeout": timeout} if timeout else {}),
                "LoggingConfig": {"LogFormat": "JSON", "ApplicationLogLevel": "INFO"},
            },
        },
        "ErrorQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "errors"}},
        "ErrorQueuePolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {"Queues": [{"Ref": "ErrorQueue"}], "PolicyDocument": queue_policy_for_events("ErrorQueue")},
        },
        "InvokeConfig": {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": {"Ref": "Function"},
                "Qualifier": "$LATEST",
                "MaximumRetryAttempts": 2,
                "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["ErrorQueue", "Arn"]}}},
            },
        },
        "Rule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": "to-function",
                "EventPattern": {"source": ["sandbox.test", "aws.backup"]},
                "Targets": [
                    {
                        "Id": "fn",
                        "Arn": {"Fn::GetAtt": ["Function", "Arn"]},
                        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["ErrorQueue", "Arn"]}},
                    }
                ],
            },
        },
        "DisabledQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "disabled-target"}},
        "DisabledQueuePolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": "DisabledQueue"}],
                "PolicyDocument": queue_policy_for_events("DisabledQueue"),
            },
        },
        "DisabledRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": "disabled",
                "State": "DISABLED",
                "EventPattern": {"source": ["sandbox.test"]},
                "Targets": [{"Id": "q", "Arn": {"Fn::GetAtt": ["DisabledQueue", "Arn"]}}],
            },
        },
    }
    if grant_permission:
        resources["Permission"] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": {"Ref": "Function"},
                "Action": "lambda:InvokeFunction",
                "Principal": "events.amazonaws.com",
                "SourceArn": {"Fn::GetAtt": ["Rule", "Arn"]},
            },
        }
    return {"Resources": resources}


@pytest.fixture
def sandbox():
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
    )
    os.environ.pop("MOTO_ACCOUNT_ID", None)
    with mock_aws():
        support = sandbox_cloudformation.CloudFormationSupport().install()
        clock = Clock()
        bridge = Bridge(clock, org_of_account=lambda a: ORG_ID if a in (SOURCE_ACCOUNT, CENTRAL_ACCOUNT) else None)
        bridge.runtime.install()
        bridge.install()
        try:
            yield bridge
        finally:
            bridge.uninstall()
            bridge.runtime.uninstall()
            support.uninstall()


def put_test_event(detail: dict, account: str = SOURCE_ACCOUNT) -> dict:
    return client("events", account).put_events(
        Entries=[{"Source": "sandbox.test", "DetailType": "Test", "Detail": json.dumps(detail)}]
    )


def handled(bridge: Bridge) -> list[dict]:
    return [
        e["message"]
        for e in bridge.runtime.logs()
        if isinstance(e["message"], dict) and e["message"].get("type") == "handled"
    ]


def test_put_events_runs_the_deployed_code_in_its_own_account_and_region(sandbox):
    deploy(SOURCE_ACCOUNT, REGION, "fn", function_stack())
    result = put_test_event({"n": 1})
    assert result["FailedEntryCount"] == 0
    assert handled(sandbox) == []  # asynchronous: nothing before the clock moves
    sandbox.clock.advance(5)
    [log] = handled(sandbox)
    assert log["caller"] == SOURCE_ACCOUNT
    assert log["region"] == REGION
    assert log["arn"] == f"arn:aws:lambda:{REGION}:{SOURCE_ACCOUNT}:function:handler"
    assert log["eventId"] == result["Entries"][0]["EventId"]


def test_the_module_is_imported_once_per_execution_environment(sandbox):
    deploy(SOURCE_ACCOUNT, REGION, "fn", function_stack())
    for n in range(3):  # one after the other: events at the same moment run side by side
        put_test_event({"n": n})
        sandbox.clock.advance(5)
    invocations = sandbox.runtime.invocations
    assert [i.cold_start for i in invocations] == [True, False, False]
    assert len({log["init"] for log in handled(sandbox)}) == 1  # same module object: warm
    sandbox.runtime.recycle()
    put_test_event({"n": 4})
    sandbox.clock.advance(5)
    assert invocations[-1].cold_start is True
    assert sandbox.runtime.cold_starts == 2


def test_disabled_rule_delivers_nothing(sandbox):
    deploy(SOURCE_ACCOUNT, REGION, "fn", function_stack())
    put_test_event({"n": 1})
    sandbox.clock.advance(5)
    assert receive_all(SOURCE_ACCOUNT, REGION, "disabled-target") == []
    assert [d.outcome for d in sandbox.trace if d.rule_arn and d.rule_arn.endswith("/disabled")] == ["rule-disabled"]
    # Enabling it makes the same kind of event arrive: the test above is not vacuous.
    client("events", SOURCE_ACCOUNT).enable_rule(Name="disabled")
    put_test_event({"n": 2})
    sandbox.clock.advance(5)
    assert len(receive_all(SOURCE_ACCOUNT, REGION, "disabled-target")) == 1


def test_missing_lambda_permission_sends_the_event_to_the_rule_dlq_without_retry(sandbox):
    deploy(SOURCE_ACCOUNT, REGION, "fn", function_stack(grant_permission=False))
    put_test_event({"n": 1})
    sandbox.clock.advance(3600)
    assert sandbox.runtime.invocations == []
    [message] = receive_all(SOURCE_ACCOUNT, REGION, "errors")
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == f"arn:aws:events:{REGION}:{SOURCE_ACCOUNT}:rule/to-function"
    assert attributes["TARGET_ARN"] == f"arn:aws:lambda:{REGION}:{SOURCE_ACCOUNT}:function:handler"
    assert attributes["ERROR_CODE"] == "NO_PERMISSIONS"
    assert attributes["ERROR_MESSAGE"]
    body = json.loads(message["Body"])
    assert body["detail"] == {"n": 1} and body["account"] == SOURCE_ACCOUNT


def test_each_delivery_gets_its_own_copy_of_the_event(sandbox):
    deploy(SOURCE_ACCOUNT, REGION, "fn", function_stack())
    payloads = []
    sandbox.runtime.invoke_async = lambda function, payload: payloads.append(payload)
    sandbox.faults.duplicate_fraction = 1.0  # the same event, delivered twice
    put_test_event({"n": 1})
    sandbox.clock.advance(5)
    first, second = payloads
    first["detail"]["n"] = 99  # a handler mutating its event
    assert second["detail"] == {"n": 1} and second["id"] == first["id"]


def test_an_invocation_longer_than_the_timeout_is_a_timed_out_error_retried_then_recorded(sandbox):
    deploy(SOURCE_ACCOUNT, REGION, "fn", function_stack(timeout=3))
    sandbox.runtime.api_latency_seconds = 5.0  # its one AWS call outlasts the 3-second Timeout
    put_test_event({"n": 1})
    sandbox.clock.advance(3600)
    attempts = sandbox.runtime.invocations
    assert [i.attempt for i in attempts] == [1, 2, 3]
    assert all(
        i.seconds == 3 and i.result is None and "Task timed out after 3.00 seconds" in i.error["errorMessage"]
        for i in attempts
    )
    assert all(i.cold_start for i in attempts)  # a timed-out environment is not reused
    [message] = receive_all(SOURCE_ACCOUNT, REGION, "errors")
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert "Task timed out" in record["responsePayload"]["errorMessage"]
    # within the Timeout the same function succeeds
    sandbox.runtime.api_latency_seconds = 0.5
    put_test_event({"n": 2})
    sandbox.clock.advance(60)
    assert sandbox.runtime.invocations[-1].error is None and sandbox.runtime.invocations[-1].result == "ok"


def test_remaining_time_counts_down_on_the_simulated_clock():
    clock = Clock()
    with clock.span() as span:
        context = LambdaContext(
            "f", "arn", "id", 128, 3, "g", "s", clock=clock, deadline=span.start + datetime.timedelta(seconds=3)
        )
        assert context.get_remaining_time_in_millis() == 3000
        clock.spend(1.25)
        assert context.get_remaining_time_in_millis() == 1750
        clock.spend(5)
        assert context.get_remaining_time_in_millis() == 0


def test_function_error_is_retried_at_1_and_2_minutes_then_recorded_on_failure(sandbox):
    deploy(SOURCE_ACCOUNT, REGION, "fn", function_stack())
    start = sandbox.clock.now()
    put_test_event({"fail": True})
    sandbox.clock.advance(59)
    assert len(sandbox.runtime.invocations) == 1
    assert receive_all(SOURCE_ACCOUNT, REGION, "errors") == []
    sandbox.clock.advance(3600)
    attempts = sandbox.runtime.invocations
    assert [i.attempt for i in attempts] == [1, 2, 3]
    offsets = [round((i.at - start).total_seconds()) for i in attempts]
    assert offsets[1] - offsets[0] == 60 and offsets[2] - offsets[1] == 120
    [message] = receive_all(SOURCE_ACCOUNT, REGION, "errors")
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(":function:handler:$LATEST")
    assert record["requestPayload"]["detail"] == {"fail": True}
    assert record["responsePayload"]["errorMessage"] == "asked to fail"
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert "MessageAttributes" not in message  # an invocation record, not a rule dead letter


def test_aws_sources_are_reserved_for_aws_services(sandbox):
    deploy(SOURCE_ACCOUNT, REGION, "fn", function_stack())
    result = client("events", SOURCE_ACCOUNT).put_events(
        Entries=[{"Source": "aws.backup", "DetailType": "Copy Job State Change", "Detail": "{}"}]
    )
    assert result["FailedEntryCount"] == 1
    assert result["Entries"][0]["ErrorCode"] == "NotAuthorizedForSourceException"
    # The same event emitted by the service itself (the Backup emulation's sink) is delivered.
    sandbox.deliver(
        {"source": "aws.backup", "detail-type": "Copy Job State Change", "detail": {}}, SOURCE_ACCOUNT, REGION
    )
    sandbox.clock.advance(5)
    [log] = handled(sandbox)
    assert log["caller"] == SOURCE_ACCOUNT


# ---------------------------------------------------------------------------- cross-account bus


def central_stack(admit_org: bool) -> dict:
    statement = {
        "Sid": "Org",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "events:PutEvents",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}},
    }
    if not admit_org:
        statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": "o-someoneelse"}}
    return {
        "Resources": {
            "Bus": {
                "Type": "AWS::Events::EventBus",
                "Properties": {"Name": "central", "Policy": {"Version": "2012-10-17", "Statement": [statement]}},
            },
            "Inbox": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "inbox"}},
            "InboxPolicy": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {"Queues": [{"Ref": "Inbox"}], "PolicyDocument": queue_policy_for_events("Inbox")},
            },
            "Rule": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Name": "inbox",
                    "EventBusName": {"Ref": "Bus"},
                    "EventPattern": {"source": ["aws.backup"]},
                    "Targets": [{"Id": "q", "Arn": {"Fn::GetAtt": ["Inbox", "Arn"]}}],
                },
            },
        }
    }


def forwarder_stack(allow_put_events: bool) -> dict:
    bus_arn = f"arn:aws:events:{REGION}:{CENTRAL_ACCOUNT}:event-bus/central"
    allowed = bus_arn if allow_put_events else f"arn:aws:events:{REGION}:{CENTRAL_ACCOUNT}:event-bus/other"
    return {
        "Resources": {
            "ForwardRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": "forwarder",
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                    "Policies": [
                        {
                            "PolicyName": "put",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": allowed}],
                            },
                        }
                    ],
                },
            },
            "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "forward-dlq"}},
            "DlqPolicy": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {"Queues": [{"Ref": "Dlq"}], "PolicyDocument": queue_policy_for_events("Dlq")},
            },
            "Forward": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Name": "forward",
                    "EventPattern": {"source": ["aws.backup"]},
                    "Targets": [
                        {
                            "Id": "bus",
                            "Arn": bus_arn,
                            "RoleArn": {"Fn::GetAtt": ["ForwardRole", "Arn"]},
                            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["Dlq", "Arn"]}},
                        }
                    ],
                },
            },
        }
    }


BACKUP_EVENT = {
    "source": "aws.backup",
    "detail-type": "Copy Job State Change",
    "resources": ["arn:aws:backup:us-east-1:111111111111:recovery-point:rp-1"],
    "detail": {"state": "COMPLETED"},
}


def dead_letter_codes(account: str) -> list[str]:
    return [m["MessageAttributes"]["ERROR_CODE"]["StringValue"] for m in receive_all(account, REGION, "forward-dlq")]


def test_cross_account_bus_delivery_keeps_the_envelope(sandbox):
    deploy(CENTRAL_ACCOUNT, REGION, "central", central_stack(admit_org=True))
    deploy(SOURCE_ACCOUNT, REGION, "forward", forwarder_stack(allow_put_events=True))
    sandbox.deliver(dict(BACKUP_EVENT, id="evt-1"), SOURCE_ACCOUNT, REGION)
    sandbox.clock.advance(10)
    [message] = receive_all(CENTRAL_ACCOUNT, REGION, "inbox")
    forwarded = json.loads(message["Body"])
    assert forwarded["id"] == "evt-1"
    assert forwarded["account"] == SOURCE_ACCOUNT  # the original account, not the bus's
    assert forwarded["resources"] == BACKUP_EVENT["resources"]
    assert dead_letter_codes(SOURCE_ACCOUNT) == []


def test_cross_account_bus_refused_by_the_bus_policy_goes_to_the_dlq(sandbox):
    from moto.events.models import events_backends

    deploy(CENTRAL_ACCOUNT, REGION, "central", central_stack(admit_org=True))
    deploy(SOURCE_ACCOUNT, REGION, "forward", forwarder_stack(allow_put_events=True))
    # The bus stops admitting the organisation after the rule's targets were put.
    events_backends[CENTRAL_ACCOUNT][REGION].event_buses["central"]._statements.clear()
    sandbox.deliver(dict(BACKUP_EVENT), SOURCE_ACCOUNT, REGION)
    sandbox.clock.advance(10)
    assert receive_all(CENTRAL_ACCOUNT, REGION, "inbox") == []
    assert dead_letter_codes(SOURCE_ACCOUNT) == ["CROSS_ACCOUNT_INGESTION_FAILED"]


def test_a_rule_targeting_a_bus_that_does_not_admit_its_account_is_refused_when_created(sandbox):
    deploy(CENTRAL_ACCOUNT, REGION, "central", central_stack(admit_org=False))
    with pytest.raises(Exception) as excinfo:  # PutTargets checks the bus policy (docs/AWS-BEHAVIOUR.md §14)
        deploy(SOURCE_ACCOUNT, REGION, "forward", forwarder_stack(allow_put_events=True))
    assert "because no resource-based policy allows the events:PutEvents action" in str(excinfo.value)


def test_cross_account_bus_without_role_permission_goes_to_the_dlq(sandbox):
    deploy(CENTRAL_ACCOUNT, REGION, "central", central_stack(admit_org=True))
    deploy(SOURCE_ACCOUNT, REGION, "forward", forwarder_stack(allow_put_events=False))
    sandbox.deliver(dict(BACKUP_EVENT), SOURCE_ACCOUNT, REGION)
    sandbox.clock.advance(10)
    assert receive_all(CENTRAL_ACCOUNT, REGION, "inbox") == []
    assert dead_letter_codes(SOURCE_ACCOUNT) == ["NO_PERMISSIONS"]


def test_account_outside_the_organisation_cannot_put_on_the_central_bus(sandbox):
    deploy(CENTRAL_ACCOUNT, REGION, "central", central_stack(admit_org=True))
    bus_arn = f"arn:aws:events:{REGION}:{CENTRAL_ACCOUNT}:event-bus/central"
    entry = {"Source": "custom.app", "DetailType": "X", "Detail": "{}", "EventBusName": bus_arn}
    outsider = client("events", OUTSIDER_ACCOUNT).put_events(Entries=[entry])
    member = client("events", SOURCE_ACCOUNT).put_events(Entries=[entry])
    assert outsider["Entries"][0]["ErrorCode"] == "AccessDeniedException"
    assert member["FailedEntryCount"] == 0


# ---------------------------------------------------------------------------- faults


def test_faults_lose_and_duplicate_events_reproducibly(sandbox):
    deploy(SOURCE_ACCOUNT, REGION, "fn", function_stack())

    def run(seed: int) -> list[str]:
        sandbox.random.seed(seed)
        sandbox.faults = Faults(lose_fraction=0.3, duplicate_fraction=0.3, max_extra_delay_seconds=600)
        sandbox.runtime.invocations.clear()
        for n in range(20):
            sandbox.deliver(
                {"source": "sandbox.test", "detail-type": "T", "id": f"e{n}", "detail": {}}, SOURCE_ACCOUNT, REGION
            )
        sandbox.clock.advance(3600)
        return [log["eventId"] for log in handled(sandbox)]

    first = run(7)
    assert first == run(7)  # seeded: the same faults every time
    assert len(set(first)) < 20  # some were lost
    assert len(first) > len(set(first))  # some were delivered twice
    assert first != sorted(first, key=lambda e: int(e[1:]))  # delays reordered them


def test_durable_events_are_never_lost_but_may_come_twice(sandbox):
    """CloudWatch's alarm events: durable, at least once (docs/AWS-BEHAVIOUR.md §18.6)."""
    deploy(SOURCE_ACCOUNT, REGION, "fn", function_stack())
    sandbox.faults = Faults(lose_fraction=1.0, duplicate_fraction=1.0)
    sandbox.runtime.invocations.clear()
    for n, durable in enumerate((True, False)):
        sandbox.deliver(
            {"source": "sandbox.test", "detail-type": "T", "id": f"e{n}", "detail": {}},
            SOURCE_ACCOUNT,
            REGION,
            durable=durable,
        )
    sandbox.clock.advance(3600)
    assert [log["eventId"] for log in handled(sandbox)] == ["e0", "e0"]  # e1 lost, e0 twice
