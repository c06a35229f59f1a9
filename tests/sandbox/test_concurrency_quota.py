"""Lambda's concurrency quota per account (docs/AWS-BEHAVIOUR.md §13): a reservation must leave the
minimum unreserved (100, or the whole quota below 100), else PutFunctionConcurrency and a stack's
function are refused with Lambda's message. New accounts get a reduced quota."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from backup_events_aws.sandbox import Organization
from backup_events_aws.sandbox.clock import Clock
from backup_events_aws.sandbox.lambda_runtime import NEW_ACCOUNT_CONCURRENCY, LambdaRuntime, reservation_refusal

MAIN = "000022224444"
EAST = "us-east-1"


def test_a_reservation_must_leave_the_minimum_unreserved():
    assert reservation_refusal(1000, 0, 900) is None
    assert reservation_refusal(1000, 0, 901).endswith("below its minimum value of [100].")
    assert reservation_refusal(1000, 850, 51) is not None  # other reservations count
    assert reservation_refusal(10, 0, 0) is None  # no reservation always fits
    assert reservation_refusal(10, 0, 1) == (
        "Specified ReservedConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [10]."
    )
    assert reservation_refusal(50, 0, 5).endswith("[50].")


def test_a_new_account_gets_the_reduced_quota_by_default():
    runtime = LambdaRuntime(Clock(), lambda role, session: {})
    assert runtime.concurrency_quota(MAIN) == NEW_ACCOUNT_CONCURRENCY == 10
    runtime.set_concurrency_quota(MAIN, 1000)
    assert runtime.concurrency_quota(MAIN) == 1000


def test_a_stack_whose_reservation_does_not_fit_a_new_accounts_quota_fails_with_lambdas_message():
    org = Organization.minimum(concurrency_quota=NEW_ACCOUNT_CONCURRENCY)
    try:
        with pytest.raises(Exception) as excinfo:
            org.start()  # FunctionReservedConcurrency defaults to 5
        # Lambda's refusal reaches the deployer (how CloudFormation words a failed resource is
        # cloudformation.py's business, docs/AWS-BEHAVIOUR.md §12).
        text = str(excinfo.value).replace("\\'", "'")
        assert "Specified ReservedConcurrentExecutions for function decreases account" in text
        assert "UnreservedConcurrentExecution below its minimum value of [10]." in text
    finally:
        org.stop()


def test_the_fix_without_a_quota_increase_deploys_with_no_reservation_and_put_concurrency_is_checked():
    with Organization.minimum(
        concurrency_quota=NEW_ACCOUNT_CONCURRENCY, parameters={"FunctionReservedConcurrency": "0"}
    ) as org:
        name = org.stack_outputs(MAIN, EAST)["FunctionName"]
        lambda_ = org.client("lambda", MAIN, EAST)
        with pytest.raises(ClientError) as excinfo:
            lambda_.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
        assert excinfo.value.response["Error"]["Code"] == "InvalidParameterValueException"
        assert "minimum value of [10]" in excinfo.value.response["Error"]["Message"]
        org.bridge.runtime.set_concurrency_quota(MAIN, 1000)  # after a quota increase
        lambda_.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=900)
        with pytest.raises(ClientError):
            lambda_.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=901)
