"""Scale: a burst of backups (2,500 here; `make bench` runs 10,000) completing within one simulated
minute in ONE account and region.

AWS's documented API rates are enforced (5/s UpdateRecoveryPointLifecycle, 15/s
DescribeRecoveryPoint, 50/s in all, per account and region: docs/AWS-BEHAVIOUR.md §5.2) and Lambda is
modelled with its concurrency, its throttled-event queue (requeued with backoff for up to
6 hours) and simulated time for each AWS call and each botocore retry sleep (docs/AWS-BEHAVIOUR.md §5.3).

The design paces itself: the function has a reserved concurrency (FunctionReservedConcurrency,
default 5), so Lambda keeps the excess events queued instead of running them all at once, and the
function's boto3 client retries up to 10 times (11 attempts). The naive design (no reserved concurrency,
boto3's default 3 attempts) is shown failing on a smaller burst.

Copies here take 10 simulated seconds (small incremental copies), so with AWS Backup's
100 + 5 concurrent copies per destination region copy 1 completes ~10 times a second: faster
than the 5/s at which originals can be shortened. The API rate is then the bound.
"""

from __future__ import annotations

import pytest

from backup_events_aws.sandbox import Organization
from backup_events_aws.sandbox.organization import default_template_path
from backup_events_aws.sandbox.scale import burst_bounds, examine, one_account_burst

EAST = "us-east-1"
# Large enough that the API rate binds and Lambda's queue is in play (bench: 10,000, the same code).
BACKUPS = 2_500


def scale_run(org: Organization, backups: int, progress=None):
    return one_account_burst(org, backups, progress)


def test_the_deployed_function_paces_itself():
    with Organization.minimum() as org:
        function = org.bridge.runtime
        main = org.function_arn(org.main_account, EAST)
        from moto.awslambda.models import lambda_backends

        deployed = lambda_backends[org.main_account][EAST].get_function(main)
        assert function.concurrency_limit(deployed) == 5
        # The function's boto3 client makes 11 attempts at a throttled call (10 retries).
        calls: list[str] = []
        service = org.backup_service
        admit = service.admit

        def counting(operation: str, account: str, region: str) -> None:
            calls.append(operation)
            admit(operation, account, region)

        service.admit = counting  # every AWS Backup request passes it (backup/responses.py)
        try:
            service.inject_throttling(1.0, operations=["StartCopyJob"])
            org.start_backup(org.main_account, EAST, org.create_resource("EFS", org.main_account, EAST))
            org.advance(7 * 60)  # the backup completes; the function's first attempt runs
            first = [i for i in function.invocations if i.function_arn == main]
            assert len(first) == 1 and first[0].error is not None
        finally:
            del service.admit
            service.inject_throttling(0.0)
        assert calls.count("StartCopyJob") == 11


@pytest.mark.parametrize("early", [False, True])
def test_examine_catches_a_shortening_before_copy_1_completed(early):
    with Organization.minimum() as org:
        started_at = org.now()
        org.start_backup(org.main_account, EAST, org.create_resource("EFS", org.main_account, EAST))
        # The backup completes after 6 simulated minutes; copy 1 takes 10 more.
        org.advance(7 * 60)
        [original] = [p for p in org.backup_service.recovery_points(org.main_account, EAST)]
        assert org.backup_service.copy_jobs() and not [
            j for j in org.backup_service.copy_jobs() if j.state == "COMPLETED"
        ]
        if early:  # what a broken design would do: shorten at once
            org.client("backup", org.main_account, EAST).update_recovery_point_lifecycle(
                BackupVaultName=org.vault_name, RecoveryPointArn=original.arn, Lifecycle={"DeleteAfterDays": 8}
            )
        org.run_until_idle()
        result = examine(org, 1, started_at)
    assert original.lifecycle == {"DeleteAfterDays": 8}
    assert (result.shortened, result.shortened_early) == (1, 1 if early else 0)


@pytest.mark.slow(minutes=1)
def test_a_burst_in_one_account_and_region_is_all_processed_at_the_rate_bound(progress):
    with Organization.minimum() as org:
        result = scale_run(org, BACKUPS, progress)
        bounds = burst_bounds(org, BACKUPS, [(org.main_account, EAST)])  # with the run's settings
    binding = bounds[0]
    ratio = result.simulated_seconds / binding.seconds
    progress(
        f"scale: simulated {result.simulated_seconds:,.0f} s; binding bound {binding.what}: "
        f"{binding.seconds:,.0f} s; ratio {ratio:.2f}x; wall {result.wall_seconds:.0f} s"
    )
    print("scale:", ", ".join(result.lines()))
    assert result.error_records == 0
    assert result.fully_processed == result.shortened == BACKUPS
    assert result.copies1 == result.copies2 == BACKUPS
    assert result.duplicate_copies == 0 and result.shortened_early == 0 and result.lost == 0
    assert result.peak_concurrency == 5  # Lambda kept the rest queued
    assert result.lambda_throttles > BACKUPS  # ... and throttled events waited in its queue
    # The request rate binds here (docs/AWS-BEHAVIOUR.md §5.2), and rates were really in play: the run cannot
    # beat the bound, and stays within 2x of it.
    assert binding.what.startswith("UpdateRecoveryPointLifecycle")
    assert 1.0 <= ratio <= 2.0


@pytest.mark.slow
def test_the_naive_design_loses_work_to_the_error_queue(tmp_path):
    """No reserved concurrency and boto3's default 3 attempts: a burst overruns the 5/s API."""
    from backup_events_aws import template as template_tools

    shipped = default_template_path().read_text()
    code = template_tools.extract_code(shipped)  # the function is embedded packed: edit its source
    naive_code = code
    for quote in "'\"":  # the packed program is normalised: either quote style
        naive_code = naive_code.replace(
            f"retries={{{quote}mode{quote}: {quote}standard{quote}, {quote}max_attempts{quote}: 10}}",
            f"retries={{{quote}mode{quote}: {quote}standard{quote}}}",
        )
    assert naive_code != code
    naive = template_tools.embed_code(shipped, naive_code)
    template = tmp_path / "naive.yaml"
    template.write_text(naive)
    organization = Organization.minimum(parameters={"FunctionReservedConcurrency": "0"}, template_path=template)
    with organization as org:
        result = scale_run(org, 1000)
    print("\nnaive:", ", ".join(result.lines()))
    assert result.peak_concurrency > 5
    assert result.error_records > 0 and result.shortened < 1000
    # Even so, nothing is lost or wrongly shortened: what failed is in the error queue.
    assert result.lost == 0 and result.shortened_early == 0 and result.duplicate_copies == 0
