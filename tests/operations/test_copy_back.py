"""copy-back: the documented restore path (copy back to the source account, restore there), through
the sample vaults, in the typical layout."""

from __future__ import annotations

import datetime

import pytest
from operations_support import run, write_profiles

from backup_events_aws.cli import CliError
from backup_events_aws.operations import common, copy_back
from backup_events_aws.sandbox import Organization

EAST = "us-east-1"
MAIN, BACKUP = "000022224444", "999977775555"
VAULT = "BackupEvents-Sample"
ROLE = f"arn:aws:iam::{BACKUP}:role/service-role/AWSBackupDefaultServiceRole"
UTC = datetime.UTC


def typical(tmp_path, monkeypatch, **parameters):
    org = Organization.typical(parameters=parameters).start()
    write_profiles(org, tmp_path, monkeypatch)
    # --wait polls: let simulated time pass instead of real time.
    monkeypatch.setattr(common, "sleep", lambda seconds: org.advance(seconds))
    monkeypatch.setattr(copy_back, "clock", org.now)
    efs = org.create_resource("EFS", MAIN, EAST)
    org.start_backup(MAIN, EAST, efs)
    org.run_until_idle()
    [copy1] = [p for p in org.backup_service.recovery_points(BACKUP, EAST)]
    return org, copy1


def copy_back_args(copy1, *extra):
    return [
        "copy-back",
        "--profile",
        "backup",
        "--region",
        EAST,
        "--recovery-point-arn",
        copy1.arn,
        "--to-account",
        MAIN,
        *extra,
    ]


def copies_back(org):
    return [p for p in org.backup_service.recovery_points(MAIN, EAST) if p.source_vault_arn]


def test_copy_back_is_a_dry_run_then_copies_into_the_source_vault(tmp_path, monkeypatch, capsys):
    org, copy1 = typical(tmp_path, monkeypatch, AllowCopyBack="true")
    try:
        code, out, err = run(capsys, *copy_back_args(copy1))
        assert code == 0 and "Dry run: nothing started" in out, err
        assert f"arn:aws:backup:{EAST}:{MAIN}:backup-vault:{VAULT}" in out
        back_to_main = f"arn:aws:backup:{EAST}:{MAIN}:backup-vault:{VAULT}"
        assert [j for j in org.backup_service.copy_jobs(BACKUP) if j.destination_vault_arn == back_to_main] == []
        code, out, err = run(capsys, *copy_back_args(copy1, "--yes", "--wait"))
        assert (code, err) == (0, ""), out
        [back] = copies_back(org)
        assert back.source_vault_arn == f"arn:aws:backup:{EAST}:{BACKUP}:backup-vault:{VAULT}"
        assert back.creation_date == copy1.creation_date and back.lifecycle == {"DeleteAfterDays": 35}
        assert f"restore it in account {MAIN}" in out and back.arn in out
        # Neither function acts on it: no copy of the copy back, nothing shortened, no error.
        org.advance(86400 + 3600)  # and the daily sweeps leave it alone too
        assert [j for j in org.backup_service.copy_jobs() if j.source_recovery_point_arn == back.arn] == []
        assert back.lifecycle == {"DeleteAfterDays": 35}
        assert all(org.error_messages(i.account, i.region) == [] for i in org.layout.instances())
    finally:
        org.stop()


def test_without_allow_copy_back_the_vault_policies_refuse_it_and_the_fix_says_so(tmp_path, monkeypatch, capsys):
    org, copy1 = typical(tmp_path, monkeypatch)
    try:
        code, out, err = run(capsys, *copy_back_args(copy1, "--yes", "--wait"))
        assert code == 1 and "FAILED: Access Denied trying to call AWS Backup service" in err
        assert "AllowCopyBack=true" in err
        assert copies_back(org) == []
    finally:
        org.stop()


def point(**changes):
    base = {
        "RecoveryPointArn": f"arn:aws:backup:{EAST}:{BACKUP}:recovery-point:abc",
        "Status": "COMPLETED",
        "StorageClass": "WARM",
        "CreationDate": datetime.datetime(2026, 1, 1, tzinfo=UTC),
        "Lifecycle": {"DeleteAfterDays": 35},
    }
    return dict(base, **changes)


def test_plan_refuses_what_aws_cannot_copy_with_the_fix():
    at = datetime.datetime(2026, 1, 10, tzinfo=UTC)
    request = copy_back.plan(point(), VAULT, MAIN, ROLE, at)
    assert request["DestinationBackupVaultArn"] == f"arn:aws:backup:{EAST}:{MAIN}:backup-vault:{VAULT}"
    assert request["IamRoleArn"] == ROLE and "Lifecycle" not in request
    assert copy_back.plan(point(), VAULT, MAIN, ROLE, at)["IdempotencyToken"] == request["IdempotencyToken"]
    for changes, fix in (
        ({"StorageClass": "COLD"}, "restore it in the backup account"),
        ({"Status": "EXPIRED"}, "pick a completed one"),
        ({"RecoveryPointArn": f"arn:aws:backup:{EAST}:{BACKUP}:recovery-point:continuous:x"}, "copy a snapshot backup"),
    ):
        with pytest.raises(CliError) as refused:
            copy_back.plan(point(**changes), VAULT, MAIN, ROLE, at)
        assert fix in refused.value.fix
    late = datetime.datetime(2026, 2, 10, tzinfo=UTC)  # 41 days after creation: 35 days are over
    with pytest.raises(CliError) as refused:
        copy_back.plan(point(), VAULT, MAIN, ROLE, late)
    assert "--delete-after-days 48" in refused.value.fix
    assert copy_back.plan(point(), VAULT, MAIN, ROLE, late, 60)["Lifecycle"] == {"DeleteAfterDays": 60}
