"""Lambda checks an SQS on-failure destination when it is configured: the execution role must be
allowed sqs:SendMessage on it (docs/AWS-BEHAVIOUR.md §19 item 73). Through the API here; the
CloudFormation resource is in test_cloudformation.py."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from backup_events_aws.sandbox import Organization

MAIN, EAST = "000022224444", "us-east-1"


@pytest.fixture(scope="module")
def org():
    with Organization.minimum() as organization:
        yield organization


def test_an_on_failure_queue_the_role_may_not_send_to_is_refused(org):
    lambda_client = org.client("lambda", MAIN, EAST)
    other = org.client("sqs", MAIN, EAST).create_queue(QueueName="SomeoneElses")["QueueUrl"]
    other_arn = f"arn:aws:sqs:{EAST}:{MAIN}:{other.rsplit('/', 1)[-1]}"
    for call in (lambda_client.put_function_event_invoke_config, lambda_client.update_function_event_invoke_config):
        with pytest.raises(ClientError) as refused:
            call(FunctionName="BackupEvents", DestinationConfig={"OnFailure": {"Destination": other_arn}})
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
        assert refused.value.response["Error"]["Message"] == (
            "The provided execution role does not have permissions to call SendMessage on SQS"
        )
    # The deployed configuration stands, and the stack's own error queue is accepted again.
    config = lambda_client.get_function_event_invoke_config(FunctionName="BackupEvents")
    own = config["DestinationConfig"]["OnFailure"]["Destination"]
    assert own == f"arn:aws:sqs:{EAST}:{MAIN}:BackupEvents-Errors"
    lambda_client.put_function_event_invoke_config(
        FunctionName="BackupEvents", MaximumRetryAttempts=2, DestinationConfig={"OnFailure": {"Destination": own}}
    )
