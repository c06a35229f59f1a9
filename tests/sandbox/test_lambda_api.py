"""The Lambda API as the sandbox answers it (sandbox/lambda_api.py): CreateFunction refuses an
execution role Lambda cannot assume (docs/AWS-BEHAVIOUR.md §5.5, §19 item 63)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from botocore.exceptions import ClientError
from stack_helpers import client

ACCOUNT, REGION = "111111111111", "us-east-1"


def code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def lambda_handler(event, context):\n    return event\n")
    return buffer.getvalue()


def role_trusting(name: str, service: str) -> str:
    return client("iam", ACCOUNT, REGION).create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
            }
        ),
    )["Role"]["Arn"]


@pytest.fixture
def sandbox():
    from backup_events_aws.sandbox.sandbox import Sandbox

    with Sandbox() as started:
        yield started


def test_create_function_refuses_a_role_that_does_not_trust_lambda(sandbox):
    awslambda = client("lambda", ACCOUNT, REGION)

    def create(name: str, role: str) -> dict:
        return awslambda.create_function(
            FunctionName=name, Runtime="python3.13", Role=role, Handler="index.lambda_handler", Code={"ZipFile": code()}
        )

    with pytest.raises(ClientError) as excinfo:
        create("refused", role_trusting("ForEc2", "ec2.amazonaws.com"))
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert excinfo.value.response["Error"]["Message"] == (
        "The role defined for the function cannot be assumed by Lambda."
    )
    assert [f["FunctionName"] for f in awslambda.list_functions()["Functions"]] == []
    create("accepted", role_trusting("ForLambda", "lambda.amazonaws.com"))
    assert [f["FunctionName"] for f in awslambda.list_functions()["Functions"]] == ["accepted"]
