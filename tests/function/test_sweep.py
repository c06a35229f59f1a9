"""Issue 10, point 2: the sweep tries every recovery point, paced; each failure
is one ERROR line with its fix; it raises at the end; a retry redoes nothing
that succeeded."""

import datetime

import pytest
from lambda_support import BACKUP, MAIN

UTC = datetime.UTC
VAULT = "BackupEvents-Sample"
NOW = datetime.datetime(2026, 1, 10, 3, 0, tzinfo=UTC)
DESTINATION = f"arn:aws:backup:us-east-1:{BACKUP}:backup-vault:{VAULT}"


def original(n, lifecycle=None):
    return {
        "RecoveryPointArn": f"arn:aws:backup:us-east-1:{MAIN}:recovery-point:rp-{n}",
        "BackupVaultName": VAULT,
        "Status": "COMPLETED",
        "CreationDate": NOW - datetime.timedelta(days=1),
        "Lifecycle": lifecycle or {"DeleteAfterDays": 35},
    }


def listing(function, points, jobs):
    function.stubber.add_response("list_copy_jobs", {"CopyJobs": jobs})
    function.stubber.add_response("list_recovery_points_by_backup_vault", {"RecoveryPoints": points})


def test_one_refusal_does_not_stop_the_sweep(load_function, event, log_lines):
    function = load_function(clock=NOW)
    points = [original(1), original(2), original(3), original(4)]
    arn = [p["RecoveryPointArn"] for p in points]
    listing(function, points, [{"SourceRecoveryPointArn": arn[3], "State": "COMPLETED"}])
    function.stubber.add_client_error(
        "start_copy_job", "InvalidParameterValueException", "Cannot copy this resource type", 400
    )
    function.stubber.add_client_error("start_copy_job", "AccessDeniedException", "denied", 400)
    function.stubber.add_response("start_copy_job", {"CopyJobId": "C3"})
    function.stubber.add_response("describe_recovery_point", dict(points[3], StorageClass="WARM"))
    function.stubber.add_response("describe_backup_vault", {"BackupVaultName": VAULT})
    function.stubber.add_response("update_recovery_point_lifecycle", {})
    with pytest.raises(function.module.SweepIncomplete, match="2 of 4"):
        function(event("scheduled_event"))  # every stubbed call was made: nothing skipped
    errors = [line for level, line in log_lines() if level == "ERROR"]
    failed = [line for line in errors if line["type"] == "sweep_action_failed"]
    assert [(line["recovery_point"], line["aws_error_code"]) for line in failed] == [
        (arn[0], "InvalidParameterValueException"),
        (arn[1], "AccessDeniedException"),
    ]
    assert all(line["fix"] for line in failed)
    assert "vault access policy" in failed[1]["fix"]
    assert [line["type"] for line in errors] == ["sweep_action_failed"] * 2 + ["error"]
    # Paced within AWS Backup's rates: 4 actions, at most 5 a second.
    assert function.sleeps == [0.2] * 3


def test_a_retry_redoes_nothing_that_succeeded(load_function, event):
    """After a partial sweep, the retry starts only what failed: a copy that was
    started shows in ListCopyJobs (no call); one not listed yet is started with
    the same token, which AWS answers with no new job (maybe without CopyJobId);
    a shortened original is listed short (no call)."""
    function = load_function(clock=NOW)
    points = [original(1), original(2), original(3)]
    arn = [p["RecoveryPointArn"] for p in points]
    tokens = []
    function.client.meta.events.register_first(
        "before-parameter-build.backup.StartCopyJob",
        lambda params, **_: tokens.append((params["RecoveryPointArn"], params["IdempotencyToken"])),
    )
    listing(function, points, [])
    function.stubber.add_response("start_copy_job", {"CopyJobId": "C1"})
    function.stubber.add_client_error("start_copy_job", "ThrottlingException", "Rate exceeded", 400)
    function.stubber.add_response("start_copy_job", {"CopyJobId": "C3"})
    with pytest.raises(function.module.SweepIncomplete):
        function(event("scheduled_event"))
    first = dict(tokens)
    tokens.clear()
    # The retry: copy 1 of rp-1 is listed, rp-3's is not listed yet.
    listing(function, points, [{"SourceRecoveryPointArn": arn[0], "State": "RUNNING"}])
    function.stubber.add_response("start_copy_job", {"CopyJobId": "C2"})
    function.stubber.add_response("start_copy_job", {})  # replayed token: no CopyJobId
    result = function(event("scheduled_event"))
    assert result["copies_started"] == 2 and result["failed"] == 0
    assert [a for a, _ in tokens] == [arn[1], arn[2]]
    assert dict(tokens)[arn[2]] == first[arn[2]]  # same token: AWS starts no second job
    # Shortened already: the listing shows it short, so the sweep does nothing.
    function.stubber.add_response(
        "list_copy_jobs", {"CopyJobs": [{"SourceRecoveryPointArn": a, "State": "COMPLETED"} for a in arn]}
    )
    function.stubber.add_response(
        "list_recovery_points_by_backup_vault",
        {"RecoveryPoints": [original(n, {"DeleteAfterDays": 3}) for n in (1, 2, 3)]},
    )
    assert function(event("scheduled_event"))["retention_checked"] == 0


def test_the_sweep_stops_before_the_timeout_and_says_what_it_did_not_reach(load_function, event, log_lines):
    """With 15 s of the invocation left it stops, logs its result and raises (Lambda retries; the
    retry lists again), rather than being killed mid-way with nothing logged."""
    function = load_function(clock=NOW)
    points = [original(1), original(2), original(3)]
    listing(function, points, [])
    function.stubber.add_response("start_copy_job", {"CopyJobId": "C1"})
    remaining = iter([60_000, 14_999])  # before action 1, before action 2
    function.context.get_remaining_time_in_millis = lambda: next(remaining)
    with pytest.raises(function.module.SweepIncomplete, match=r"0 of 3 sweep actions failed \(.*2 not reached"):
        function(event("scheduled_event"))  # one copy started, then it stopped: no other call
    [result] = [line["result"] for _, line in log_lines() if line["type"] == "sweep"]
    assert result["copies_started"] == 1 and result["not_reached"] == 2
