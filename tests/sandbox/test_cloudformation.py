"""The resource types moto skips are really created by the sandbox's stacks."""

from __future__ import annotations

import json
import os

import moto
import pytest
from moto import mock_aws
from stack_helpers import client, deploy

from backup_events_aws.sandbox import cloudformation as sandbox_cloudformation
from backup_events_aws.sandbox.backup import BackupService
from backup_events_aws.sandbox.clock import Clock

ACCOUNT = "111111111111"
REGION = "us-west-2"
ORG_ID = "o-testorg123"

VAULT_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyCopyOut",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "backup:CopyFromBackupVault",
            "Resource": "*",
        }
    ],
}


@pytest.fixture
def stack_account():
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    os.environ.pop("MOTO_ACCOUNT_ID", None)
    with mock_aws():
        backup = BackupService(Clock()).install()  # vault access policies are AWS Backup's (backup/models.py)
        support = sandbox_cloudformation.CloudFormationSupport().install()
        try:
            yield ACCOUNT
        finally:
            support.uninstall()
            backup.uninstall()


def test_moto_internals_the_extension_relies_on_are_still_there():
    # Canary: moto is pinned because these are private (docs/TESTING.md).
    from moto.cloudformation import parsing
    from moto.events.models import EventsBackend, Rule

    assert moto.__version__ == "5.2.5"
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        assert hasattr(cached, "cache_clear")
    assert callable(parsing.clean_json)
    assert callable(Rule.send_to_targets) and callable(EventsBackend.put_events)
    support = sandbox_cloudformation.CloudFormationSupport().install()
    try:
        model_map = parsing.get_model_map()
        for resource_type in (
            "AWS::Backup::BackupVault",
            "AWS::SQS::QueuePolicy",
            "AWS::Lambda::EventInvokeConfig",
            "AWS::Events::EventBusPolicy",
        ):
            assert resource_type in model_map
    finally:
        support.uninstall()
    assert "AWS::Backup::BackupVault" not in parsing.get_model_map()  # moto's own map again


def test_backup_vault_with_access_policy_and_lock(stack_account):
    outputs = deploy(
        stack_account,
        REGION,
        "vault",
        {
            "Resources": {
                "Vault": {
                    "Type": "AWS::Backup::BackupVault",
                    "Properties": {
                        "BackupVaultName": "BackupEvents-Sample",
                        "AccessPolicy": VAULT_POLICY,
                        "LockConfiguration": {"MinRetentionDays": "7"},
                    },
                }
            },
            "Outputs": {
                "Arn": {"Value": {"Fn::GetAtt": ["Vault", "BackupVaultArn"]}},
                "Name": {"Value": {"Fn::GetAtt": ["Vault", "BackupVaultName"]}},
                "Ref": {"Value": {"Ref": "Vault"}},
            },
        },
    )
    arn = f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:BackupEvents-Sample"
    assert outputs == {"Arn": arn, "Name": "BackupEvents-Sample", "Ref": "BackupEvents-Sample"}
    backup = client("backup", ACCOUNT, REGION)
    vault = backup.describe_backup_vault(BackupVaultName="BackupEvents-Sample")
    assert vault["BackupVaultArn"] == arn
    assert vault["Locked"] is True and vault["MinRetentionDays"] == 7
    from moto.backup.models import backup_backends

    stored = backup_backends[ACCOUNT][REGION].vaults["BackupEvents-Sample"].sandbox_access_policy
    assert json.loads(stored) == VAULT_POLICY


def test_queue_policy_is_stored_on_the_queue(stack_account):
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
            }
        ],
    }
    deploy(
        stack_account,
        REGION,
        "queue",
        {
            "Resources": {
                "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "errors"}},
                "Policy": {
                    "Type": "AWS::SQS::QueuePolicy",
                    "Properties": {"Queues": [{"Ref": "Queue"}], "PolicyDocument": document},
                },
            }
        },
    )
    sqs = client("sqs", ACCOUNT, REGION)
    url = sqs.get_queue_url(QueueName="errors")["QueueUrl"]
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert policy["Statement"][0]["Resource"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:errors"
    assert policy["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}


def function_with_on_failure_queue(role_may_send: bool) -> dict:
    """A function whose EventInvokeConfig names a queue as OnFailure; its role may send there or not."""
    send = [
        {
            "PolicyName": "send",
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["Queue", "Arn"]}}
                ],
            },
        }
    ]
    return {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "errors"}},
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
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
                    **({"Policies": send} if role_may_send else {}),
                },
            },
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "fn",
                    "Handler": "index.lambda_handler",
                    "Runtime": "python3.13",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"ZipFile": "def lambda_handler(e, c): pass\n"},
                    "LoggingConfig": {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "LogGroup": "/custom"},
                },
            },
            "InvokeConfig": {
                "Type": "AWS::Lambda::EventInvokeConfig",
                "Properties": {
                    "FunctionName": {"Ref": "Function"},
                    "Qualifier": "$LATEST",
                    "MaximumRetryAttempts": "1",
                    "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["Queue", "Arn"]}}},
                },
            },
        }
    }


def test_event_invoke_config_and_function_logging_config(stack_account):
    deploy(stack_account, REGION, "fn", function_with_on_failure_queue(role_may_send=True))
    config = client("lambda", ACCOUNT, REGION).get_function_event_invoke_config(FunctionName="fn")
    assert config["MaximumRetryAttempts"] == 1
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:errors"
    from moto.awslambda.models import lambda_backends

    function = lambda_backends[ACCOUNT][REGION].get_function("fn")
    assert sandbox_cloudformation.function_extras_of(function)["LoggingConfig"]["LogGroup"] == "/custom"


def test_an_on_failure_queue_the_role_may_not_send_to_fails_the_stack(stack_account):
    """Lambda checks the execution role when the OnFailure destination is configured
    (docs/AWS-BEHAVIOUR.md §19 item 73): the EventInvokeConfig fails, the stack rolls back."""
    cloudformation = client("cloudformation", ACCOUNT, REGION)
    cloudformation.create_stack(
        StackName="fn",
        TemplateBody=json.dumps(function_with_on_failure_queue(False)),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    assert cloudformation.describe_stacks(StackName="fn")["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    [failed] = [
        e
        for e in cloudformation.describe_stack_events(StackName="fn")["StackEvents"]
        if e.get("ResourceStatus") == "CREATE_FAILED"
    ]
    assert (failed["LogicalResourceId"], failed["ResourceType"]) == ("InvokeConfig", "AWS::Lambda::EventInvokeConfig")
    assert failed["ResourceStatusReason"] == (
        'Resource handler returned message: "The provided execution role does not have permissions to call '
        'SendMessage on SQS (Service: Lambda, Status Code: 400)"'
    )


def test_event_bus_policy_property_and_resource(stack_account):
    deploy(
        stack_account,
        REGION,
        "bus",
        {
            "Resources": {
                "Bus": {
                    "Type": "AWS::Events::EventBus",
                    "Properties": {
                        "Name": "central",
                        "Policy": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Sid": "Org",
                                    "Effect": "Allow",
                                    "Principal": "*",
                                    "Action": "events:PutEvents",
                                    "Resource": "*",
                                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}},
                                }
                            ],
                        },
                    },
                },
                "Extra": {
                    "Type": "AWS::Events::EventBusPolicy",
                    "Properties": {
                        "EventBusName": {"Ref": "Bus"},
                        "StatementId": "OneAccount",
                        "Statement": {
                            "Effect": "Allow",
                            "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                            "Action": "events:PutEvents",
                            "Resource": {"Fn::GetAtt": ["Bus", "Arn"]},
                        },
                    },
                },
            }
        },
    )
    policy = json.loads(client("events", ACCOUNT, REGION).describe_event_bus(Name="central")["Policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["Org"]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}
    assert by_sid["OneAccount"]["Resource"] == f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/central"


def test_novalue_inside_a_list_is_removed_as_cloudformation_does(stack_account):
    deploy(
        stack_account,
        REGION,
        "novalue",
        {
            "Conditions": {"Never": {"Fn::Equals": ["a", "b"]}},
            "Resources": {
                "Vault": {
                    "Type": "AWS::Backup::BackupVault",
                    "Properties": {
                        "BackupVaultName": "v",
                        "AccessPolicy": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Fn::If": [
                                        "Never",
                                        {"Effect": "Allow", "Principal": "*", "Action": "backup:X"},
                                        {"Ref": "AWS::NoValue"},
                                    ]
                                },
                                VAULT_POLICY["Statement"][0],
                            ],
                        },
                    },
                }
            },
        },
    )
    from moto.backup.models import backup_backends

    stored = json.loads(backup_backends[ACCOUNT][REGION].vaults["v"].sandbox_access_policy)
    assert stored["Statement"] == VAULT_POLICY["Statement"]
