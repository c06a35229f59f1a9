"""reconcile: the catch-up sweep on demand, on the sandbox."""

from __future__ import annotations

import botocore.client
import pytest
from operations_support import SynchronousInvoke, run, write_profiles

from backup_events_aws.sandbox import Faults, Organization

EAST, WEST2 = "us-east-1", "us-west-2"
MAIN, BACKUP = "000022224444", "999977775555"


@pytest.fixture
def calls(monkeypatch):
    """Every AWS Backup API call made from this process (the sandbox's own calls don't go through boto3)."""
    made = []
    original = botocore.client.BaseClient._make_api_call

    def record(self, name, request):
        if self.meta.service_model.service_name == "backup":
            made.append(name)
        return original(self, name, request)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
    return made


def organisation(tmp_path, monkeypatch, faults=None):
    org = Organization.minimum(faults=faults).start()
    write_profiles(org, tmp_path, monkeypatch)
    return org


def copy_jobs(org):
    return sum(
        len(org.client("backup", account, region).list_copy_jobs()["CopyJobs"])
        for account, region in [(MAIN, EAST), (BACKUP, EAST), (BACKUP, WEST2)]
    )


def test_reconcile_repairs_lost_events_step_by_step(tmp_path, monkeypatch, capsys, calls):
    org = organisation(tmp_path, monkeypatch, Faults(lose_fraction=1.0))  # every event lost
    try:
        org.start_backup(MAIN, EAST, org.create_resource("EFS", MAIN, EAST))
        org.run_until_idle()
        assert org.recovery_points(account=BACKUP) == []

        # 1. main account: copy 1 is missing -> started.
        code, out, err = run(capsys, "reconcile", "--profile", "main", "--region", EAST)
        assert (code, err) == (0, ""), out + err
        assert "1 thing(s) to do" in out and "copy arn:aws:backup:us-east-1:000022224444:recovery-point:" in out
        assert "started copy job" in out and calls.count("StartCopyJob") == 1
        org.run_until_idle()
        [copy1] = org.recovery_points(account=BACKUP, region=EAST)

        # 2. main account again: copy 1 exists, its event was lost -> the original is shortened.
        code, out, _ = run(capsys, "reconcile", "--profile", "main", "--region", EAST)
        assert code == 0 and "DeleteAfterDays 35 -> 8" in out
        [original] = org.recovery_points(account=MAIN)
        assert original["Lifecycle"]["DeleteAfterDays"] == 8

        # 3. backup account, us-east-1: copy 2 is missing -> started to the backup region.
        code, out, _ = run(capsys, "reconcile", "--profile", "backup", "--region", EAST)
        assert code == 0 and f"-> arn:aws:backup:{WEST2}:{BACKUP}:backup-vault:BackupEvents-Sample" in out
        org.run_until_idle()
        assert len(org.recovery_points(account=BACKUP, region=WEST2)) == 1
        assert calls.count("StartCopyJob") == 2 and calls.count("UpdateRecoveryPointLifecycle") == 1
    finally:
        org.stop()


def test_reconcile_when_all_is_well_does_nothing(tmp_path, monkeypatch, capsys, calls):
    org = organisation(tmp_path, monkeypatch)
    try:
        org.start_backup(MAIN, EAST, org.create_resource("EFS", MAIN, EAST))
        org.run_until_idle()
        jobs = copy_jobs(org)
        assert jobs == 2
        calls.clear()
        for profile, region in [("main", EAST), ("backup", EAST), ("backup", WEST2)]:
            code, out, _ = run(capsys, "reconcile", "--profile", profile, "--region", region)
            assert code == 0 and "Nothing to do" in out
        # Per instance: one listing of copy jobs and one of recovery points; no action.
        assert sorted(calls) == sorted(["ListCopyJobs", "ListRecoveryPointsByBackupVault"] * 3)
        org.run_until_idle()
        assert copy_jobs(org) == jobs  # no duplicate copy
    finally:
        org.stop()


def test_dry_run_prints_and_does_nothing(tmp_path, monkeypatch, capsys, calls):
    org = organisation(tmp_path, monkeypatch, Faults(lose_fraction=1.0))
    try:
        org.start_backup(MAIN, EAST, org.create_resource("EFS", MAIN, EAST))
        org.run_until_idle()
        code, out, _ = run(capsys, "reconcile", "--profile", "main", "--region", EAST, "--dry-run")
        assert code == 0 and "1 thing(s) to do" in out and "Dry run: nothing done." in out
        assert "StartCopyJob" not in calls and copy_jobs(org) == 0
    finally:
        org.stop()


def test_invoke_runs_the_deployed_functions_sweep(tmp_path, monkeypatch, capsys):
    org = organisation(tmp_path, monkeypatch, Faults(lose_fraction=1.0))
    try:
        invoked = SynchronousInvoke(org, monkeypatch)
        org.start_backup(MAIN, EAST, org.create_resource("EFS", MAIN, EAST))
        org.run_until_idle()
        code, out, err = run(capsys, "reconcile", "--profile", "main", "--region", EAST, "--invoke")
        assert (code, err) == (0, ""), out
        [(arn, payload)] = invoked.calls
        assert arn == org.function_arn(MAIN, EAST) and payload["detail-type"] == "Scheduled Event"
        assert "1 copy job(s) started" in out
        org.run_until_idle()
        assert len(org.recovery_points(account=BACKUP, region=EAST)) == 1
    finally:
        org.stop()


def test_missing_stack_is_one_line_with_the_fix(tmp_path, monkeypatch, capsys):
    org = organisation(tmp_path, monkeypatch)
    try:
        code, out, err = run(capsys, "reconcile", "--profile", "main", "--region", EAST, "--stack-name", "Nope")
        assert code == 1 and "Traceback" not in err
        assert err.splitlines()[0] == f"backup-events: error: stack 'Nope' not found in main / {EAST}"
        assert err.splitlines()[1].startswith("  fix: deploy it with 'backup-events deploy'")
        # No stack in us-west-2 for the main account either.
        code, _, err = run(capsys, "reconcile", "--profile", "main", "--region", WEST2)
        assert code == 1 and "stack 'BackupEvents' not found" in err
    finally:
        org.stop()
