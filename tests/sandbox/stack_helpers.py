"""Small helpers shared by the sandbox tests: moto with the sandbox's patches, clients per account."""

from __future__ import annotations

import json
from typing import Any

import boto3

from backup_events_aws.sandbox.bridge import MotoCredentials


def client(service: str, account: str, region: str = "us-east-1") -> Any:
    keys = MotoCredentials().for_account(account)
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )


def deploy(
    account: str, region: str, name: str, template: dict[str, Any], parameters: dict[str, str] | None = None
) -> dict[str, str]:
    """Create a stack; returns its outputs. Fails the test unless CREATE_COMPLETE."""
    cloudformation = client("cloudformation", account, region)
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
    )
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def receive_all(account: str, region: str, queue_name: str) -> list[dict[str, Any]]:
    sqs = client("sqs", account, region)
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        if not batch.get("Messages"):
            return messages
        messages.extend(batch["Messages"])
        for message in batch["Messages"]:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def queue_policy_for_events(queue_logical_id: str) -> dict[str, Any]:
    """Queue policy letting any EventBridge rule of this account send (SourceAccount condition)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": [queue_logical_id, "Arn"]},
                "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            }
        ],
    }
