"""Every command: a bad profile, no region, a missing stack -> one line and its fix, exit 1, no traceback."""

from __future__ import annotations

import pytest
from operations_support import run, write_profiles

from backup_events_aws.sandbox import Organization

COMMANDS = {
    "reconcile": ["reconcile"],
    "redrive": ["redrive"],
    "preflight": [
        "preflight",
        "--org-id",
        "o-xxxxxxxxxx",
        "--backup-region",
        "us-west-2",
        "--alternate-region",
        "us-east-1",
    ],
    "deploy": [
        "deploy",
        "--org-id",
        "o-xxxxxxxxxx",
        "--backup-region",
        "us-west-2",
        "--alternate-region",
        "us-east-1",
        "--main-region",
        "us-east-1",
    ],
}


def profile_flags(name, profile):
    return ["--main-profile", profile, "--backup-profile", profile] if name == "deploy" else ["--profile", profile]


def assert_one_error(code, err, problem, fix):
    lines = err.splitlines()
    assert code == 1 and "Traceback" not in err and len(lines) == 2, err
    assert lines[0].startswith("backup-events: error: ") and problem in lines[0]
    assert lines[1].startswith("  fix: ") and fix in lines[1]


@pytest.fixture
def empty_aws(tmp_path, monkeypatch):
    (tmp_path / "config").write_text("")
    (tmp_path / "credentials").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_bad_profile(empty_aws, capsys, name):
    code, _, err = run(capsys, *COMMANDS[name], *profile_flags(name, "nosuch"), "--region", "us-east-1")
    assert_one_error(code, err, "AWS profile 'nosuch' not found", "aws configure --profile nosuch")


@pytest.mark.parametrize("name", ["reconcile", "redrive", "preflight"])
def test_no_region(empty_aws, capsys, name):
    code, _, err = run(capsys, *COMMANDS[name])
    assert_one_error(code, err, "no AWS region given", "pass --region")


def test_deploy_stacks_needs_main_region(empty_aws, capsys):
    without = COMMANDS["deploy"][: COMMANDS["deploy"].index("--main-region")]
    code, _, err = run(capsys, *without, "--backup-account-id", "999977775555")
    assert_one_error(code, err, "--main-region is required", "pass --main-region")


def test_no_region_for_deploy_stackset(empty_aws, capsys):
    code, _, err = run(
        capsys,
        "deploy",
        "--stackset",
        "--org-id",
        "o-xxxxxxxxxx",
        "--backup-account-id",
        "999977775555",
        "--backup-region",
        "us-west-2",
        "--alternate-region",
        "us-east-1",
        "--organizational-unit-ids",
        "ou-ab12-34567890",
        "--regions",
        "us-east-1",
        "us-west-2",
    )
    assert_one_error(code, err, "no AWS region given", "pass --region")


@pytest.mark.parametrize("name", ["reconcile", "redrive"])
def test_missing_stack(tmp_path, monkeypatch, capsys, name):
    org = Organization.minimum().start(deploy=False)
    try:
        write_profiles(org, tmp_path, monkeypatch)
        code, _, err = run(capsys, name, "--profile", "main", "--region", "us-east-1")
        assert_one_error(
            code, err, "stack 'BackupEvents' not found in main / us-east-1", "deploy it with 'backup-events deploy'"
        )
    finally:
        org.stop()
