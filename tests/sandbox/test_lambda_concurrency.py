"""The sandbox's Lambda model: reserved concurrency, the throttled-event queue, simulated call time."""

from __future__ import annotations

import itertools

from backup_events_aws.sandbox import Organization
from backup_events_aws.sandbox.lambda_runtime import API_LATENCY_SECONDS

EAST = "us-east-1"


def backups(org: Organization, count: int) -> None:
    for _ in range(count):
        org.start_backup(org.main_account, EAST, org.create_resource("EFS", org.main_account, EAST))


def copy1_invocations(org: Organization):
    main = org.function_arn(org.main_account, EAST)
    return [
        i
        for i in org.bridge.runtime.invocations
        if i.function_arn == main and i.payload.get("detail-type") == "Backup Job State Change"
    ]


def test_reserved_concurrency_runs_events_one_after_another_and_queues_the_rest():
    with Organization.minimum(parameters={"FunctionReservedConcurrency": "1"}) as org:
        backups(org, 4)  # their COMPLETED events arrive at the same moment
        org.run_until_idle()
        runs = sorted(copy1_invocations(org), key=lambda i: i.at)
        assert len(runs) == 4 and org.bridge.runtime.throttles > 0
        for earlier, later in itertools.pairwise(runs):  # never two at once
            assert (later.at - earlier.at).total_seconds() >= earlier.seconds
        assert sum(i.cold_start for i in runs) == 1  # one environment, reused
        assert len(org.backup_service.copy_jobs()) == 8


def test_without_reservation_simultaneous_events_run_side_by_side():
    with Organization.minimum(parameters={"FunctionReservedConcurrency": "0"}) as org:
        backups(org, 4)
        org.run_until_idle()
        runs = copy1_invocations(org)
        assert len({i.at for i in runs}) == 1 and sum(i.cold_start for i in runs) == 4
        assert org.bridge.runtime.throttles == 0


def test_each_call_and_each_retry_sleep_takes_simulated_time_and_the_client_retries_ten_times():
    with Organization.minimum() as org:
        org.backup_service.inject_throttling(1.0, operations=["StartCopyJob"])
        backups(org, 1)
        org.run_until_idle()
        first = copy1_invocations(org)[0]
        # retries {"max_attempts": 10}: botocore counts retries there, so 1 try + 10 retries.
        assert "(ThrottlingException)" in first.error["errorMessage"]
        assert "reached max retries: 10" in first.error["errorMessage"]
        assert first.aws_calls == 11
        # Eleven round trips plus ten backoff sleeps, all on the simulated clock.
        assert first.seconds > 11 * API_LATENCY_SECONDS + 1


def test_an_event_throttled_for_six_hours_goes_to_the_error_queue_as_event_age_exceeded():
    with Organization.minimum() as org:
        function = org.stack_outputs(org.main_account, EAST)["FunctionName"]
        org.client("lambda", org.main_account, EAST).put_function_concurrency(
            FunctionName=function, ReservedConcurrentExecutions=0
        )  # throttle everything
        backups(org, 1)
        org.advance(5 * 3600)
        assert org.error_messages(org.main_account, EAST) == [] and copy1_invocations(org) == []
        org.advance(2 * 3600)
        [message] = org.error_messages(org.main_account, EAST)
        assert message["body"]["requestContext"]["condition"] == "EventAgeExceeded"
        assert message["body"]["requestPayload"]["detail"]["state"] == "COMPLETED"
