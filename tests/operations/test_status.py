"""`backup-events status`: the table, the summary lines, the exit code, --json, --since, and bad
values refused before any AWS call."""

from __future__ import annotations

import json

import pytest
from operations_support import run, write_profiles

from backup_events_aws.operations import common
from backup_events_aws.sandbox import Organization

EAST, WEST2 = "us-east-1", "us-west-2"
DAY = 86400


@pytest.fixture
def org(tmp_path, monkeypatch):
    organization = Organization.minimum().start()
    write_profiles(organization, tmp_path, monkeypatch)
    try:
        yield organization
    finally:
        organization.stop()


def back_up(org: Organization) -> str:
    resource = org.create_resource("EFS", org.main_account, EAST)
    org.start_backup(org.main_account, EAST, resource)
    org.run_until_idle()
    return resource


def everywhere(*extra: str) -> list[str]:
    return ["status", "--profile", "main", "--profile", "backup", "--region", EAST, "--region", WEST2, *extra]


def test_all_copied_is_no_gap_and_shows_copy_2_and_the_retention_before_and_after(org, capsys):
    back_up(org)
    code, out, err = run(capsys, *everywhere())
    assert code == 0, err
    [row] = [line for line in out.splitlines() if line.startswith(org.main_account + "  ")]
    assert "COMPLETED  COMPLETED" in row and "35 -> 8" in row and "GAP" not in row
    assert f"{org.main_account} {EAST} BackupEvents-Sample: 1 originals, 0 without copy 1 after 24 h" in out
    assert "reading main / us-east-1" in err  # progress on stderr, not in the table


def test_a_copy_missing_after_the_threshold_is_a_gap_and_exits_1(org, capsys):
    org.backup_service.fail_next_copies(100)
    back_up(org)
    org.advance(DAY + 3600)
    code, out, _ = run(capsys, *everywhere())
    [row] = [line for line in out.splitlines() if line.startswith(org.main_account + "  ")]
    assert code == 1 and "GAP" in row and "FAILED" in row
    assert "1 gap(s)" in out


def test_json_lists_every_instance_and_the_gaps(org, capsys):
    org.backup_service.fail_next_copies(100)
    back_up(org)
    org.advance(DAY + 3600)
    code, out, _ = run(capsys, *everywhere("--json"))
    report = json.loads(out)
    assert code == 1 and report["gaps"] == 1
    # Every stack instance; main has none in us-west-2 (skipped, said on stderr).
    assert {(i["account"], i["region"]) for i in report["instances"]} == {
        (org.main_account, EAST),
        (org.backup_account, EAST),
        (org.backup_account, WEST2),
    }


def test_since_limits_how_far_back_it_looks(org, capsys):
    org.backup_service.fail_next_copies(100)
    back_up(org)
    org.advance(3 * DAY)
    assert run(capsys, *everywhere())[0] == 1
    assert run(capsys, *everywhere("--since", "1"))[0] == 0  # the gap is 3 days old


@pytest.mark.parametrize(
    "argv, words",
    [
        (["status"], "no region given"),
        (["status", "--region", "useast1"], "'useast1' is not an AWS region"),
        (["status", "--region", EAST, "--since", "0"], "--since 0 is out of range"),
        (["status", "--region", EAST, "--since", "400"], "--since 400 is out of range"),
    ],
)
def test_bad_values_are_refused_before_any_call(argv, words, capsys, monkeypatch):
    def no_call(*args, **kwargs):
        raise AssertionError("an AWS session was made")

    monkeypatch.setattr(common, "session", no_call)
    code, _, err = run(capsys, *argv)
    assert code == 2 and words in err and "fix:" in err
