"""Bad argument values are refused before any AWS call: exit 2, the value and its fix, no traceback.

Every AWS API call goes through botocore's BaseClient._make_api_call; the `no_aws_calls` fixture
records any that happens (and fails it), so each test proves the refusal came first.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

import botocore.client
import pytest
from operations_support import run

from backup_events_aws import template

ORG, BACKUP = "o-a1b2c3d4e5", "999977775555"
MRK = "arn:aws:kms:us-east-1:999977775555:key/mrk-0123456789abcdef0123456789abcdef"
DEPLOY = [
    "deploy",
    "--main-profile",
    "main",
    "--backup-profile",
    "backup",
    "--main-region",
    "us-east-1",
    "--backup-region",
    "us-west-2",
    "--alternate-region",
    "us-east-1",
    "--org-id",
    ORG,
    "--poll-seconds",
    "0",
]
STACKSET = [
    "deploy",
    "--stackset",
    "--profile",
    "management",
    "--region",
    "us-east-1",
    "--org-id",
    ORG,
    "--backup-account-id",
    BACKUP,
    "--backup-region",
    "us-west-2",
    "--alternate-region",
    "us-east-1",
    "--organizational-unit-ids",
    "ou-ab12-34567890",
    "--regions",
    "us-east-1",
    "us-west-2",
]
PREFLIGHT = [
    "preflight",
    "--profile",
    "main",
    "--region",
    "us-east-1",
    "--org-id",
    ORG,
    "--backup-account-id",
    BACKUP,
    "--backup-region",
    "us-west-2",
    "--alternate-region",
    "us-east-1",
]


@pytest.fixture
def no_aws_calls(monkeypatch, tmp_path):
    calls = []

    def recorded(client, operation, request):
        calls.append(operation)
        raise AssertionError(f"AWS call {operation} made before the arguments were checked")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recorded)
    (tmp_path / "config").write_text("[profile main]\n[profile backup]\n[profile management]\n")
    (tmp_path / "credentials").write_text(
        "".join(
            f"[{p}]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n"
            for p in ("main", "backup", "management")
        )
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    return calls


def replaced(argv, flag, value):
    argv = list(argv)
    argv[argv.index(flag) + 1] = value
    return argv


# (name, argv, words the problem line must hold, words the fix line must hold)
CASES = [
    ("org-123", replaced(DEPLOY, "--org-id", "org-123"), "--org-id 'org-123'", "describe-organization"),
    ("11-digit account", DEPLOY + ["--backup-account-id", "99997777555"], "'99997777555'", "12-digit"),
    (
        "us-westt-2",
        replaced(DEPLOY, "--backup-region", "us-westt-2"),
        "--backup-region 'us-westt-2'",
        "did you mean us-west-2?",
    ),
    ("main region", replaced(DEPLOY, "--main-region", "us-esat-1"), "--main-region 'us-esat-1'", "us-east-1"),
    ("ou-bad", replaced(STACKSET, "--organizational-unit-ids", "ou-bad"), "'ou-bad'", "list-roots"),
    ("stackset region", replaced(STACKSET, "--regions", "mars-north-1"), "--regions 'mars-north-1'", "region code"),
    ("LogLevel=LOUD", DEPLOY + ["--parameter", "LogLevel=LOUD"], "--parameter LogLevel=LOUD", "INFO"),
    ("unknown key", DEPLOY + ["--parameter", "LogLevle=INFO"], "no parameter 'LogLevle'", "did you mean LogLevel?"),
    ("not Key=Value", DEPLOY + ["--parameter", "LogLevel"], "not Key=Value", "--parameter NewDeleteAfterDays=7"),
    ("number", DEPLOY + ["--parameter", "NewDeleteAfterDays=0"], "NewDeleteAfterDays=0", "1 to 36500"),
    ("hours 0", DEPLOY + ["--parameter", "AlertAfterHours=0"], "AlertAfterHours=0", "hours from 1 to 8760"),
    ("hours 8761", DEPLOY + ["--parameter", "AlertAfterHours=8761"], "AlertAfterHours=8761", "1 to 8760"),
    ("hours 7.5", DEPLOY + ["--parameter", "AlertAfterHours=7.5"], "AlertAfterHours=7.5", "1 to 8760"),
    ("bad key ARN", PREFLIGHT + ["--kms-key", MRK.replace("mrk-", "")], "--kms-key", "describe-key"),
    ("key alias", PREFLIGHT + ["--kms-key", "alias/mine"], "'alias/mine'", "describe-key"),
    ("preflight org", replaced(PREFLIGHT, "--org-id", "org-123"), "'org-123'", "describe-organization"),
    ("preflight region", replaced(PREFLIGHT, "--region", "us-westt-2"), "--region 'us-westt-2'", "us-west-2"),
    ("preflight account", replaced(PREFLIGHT, "--backup-account-id", "1234"), "'1234'", "12-digit"),
    ("vault name", PREFLIGHT + ["--vault-name", "a/b"], "--vault-name 'a/b'", "VaultName"),
    ("partitions", replaced(DEPLOY, "--backup-region", "cn-north-1"), "different partitions", "one partition"),
    ("reconcile region", ["reconcile", "--profile", "main", "--region", "us-westt-2"], "'us-westt-2'", "us-west-2"),
    (
        "reconcile stack",
        ["reconcile", "--profile", "main", "--region", "us-east-1", "--stack-name", "1x"],
        "--stack-name '1x'",
        "a letter",
    ),
    ("redrive region", ["redrive", "--profile", "main", "--region", "eu-west-9x"], "'eu-west-9x'", "region code"),
    (
        "redrive messages",
        ["redrive", "--profile", "main", "--region", "us-east-1", "--max-messages", "0"],
        "--max-messages 0",
        "at least 1",
    ),
]


# deploy --dry-run used to accept them all (and reconcile --dry-run still makes calls): both ways.
ALL_CASES = CASES + [
    (f"{name} --dry-run", argv + ["--dry-run"], problem, fix)
    for name, argv, problem, fix in CASES
    if argv[0] in ("deploy", "reconcile")
]


@pytest.mark.parametrize("argv, problem, fix", [case[1:] for case in ALL_CASES], ids=[case[0] for case in ALL_CASES])
def test_bad_values_are_refused_before_any_aws_call(no_aws_calls, capsys, argv, problem, fix):
    code, out, err = run(capsys, *argv)
    lines = err.splitlines()
    assert code == 2 and len(lines) == 2 and "Traceback" not in err, err
    assert lines[0].startswith("backup-events: error: ") and problem in lines[0], lines[0]
    assert lines[1].startswith("  fix: ") and fix in lines[1], lines[1]
    assert no_aws_calls == [] and "Would deploy" not in out


def test_good_values_pass_the_checks(no_aws_calls, capsys):
    """The dry-run of each layout, with every checked flag at a good value, goes through."""
    code, out, err = run(
        capsys,
        *DEPLOY,
        "--backup-account-id",
        BACKUP,
        "--parameter",
        "LogLevel=DEBUG",
        "--parameter",
        f"VaultCustomKmsKey={MRK}",
        "--dry-run",
    )
    assert (code, err) == (0, "") and "Would deploy stack" in out
    code, out, err = run(capsys, *STACKSET, "--dry-run")
    assert (code, err) == (0, "") and "Would deploy StackSet" in out
    gov = ["--backup-region", "us-gov-west-1", "--alternate-region", "us-gov-east-1", "--main-region", "us-gov-east-1"]
    code, out, err = run(capsys, *DEPLOY[:5], *gov, "--org-id", ORG, "--dry-run")
    assert (code, err) == (0, "") and "us-gov-west-1" in out
    assert no_aws_calls == []


def test_the_cli_and_the_template_use_one_definition(tmp_path, no_aws_calls, capsys):
    """Tighten a parameter in a copy of the template: the CLI refuses what that copy refuses."""
    strict = tmp_path / "t.yaml"
    strict.write_text(
        template.TEMPLATE.read_text().replace(
            "AllowedValues: [TRACE, DEBUG, INFO, WARN, ERROR, FATAL]", "AllowedValues: [INFO, ERROR]"
        )
    )
    code, _, err = run(capsys, *DEPLOY, "--parameter", "LogLevel=DEBUG", "--template-file", str(strict), "--dry-run")
    assert code == 2 and "LogLevel=DEBUG" in err and "use one of: INFO, ERROR" in err
    assert template.parameter_errors({"LogLevel": "DEBUG"}, strict)[-1] == "LogLevel: one of: INFO, ERROR"


def test_the_console_script_refuses_with_exit_2_and_no_traceback():
    console_script = str(pathlib.Path(sys.executable).parent / "backup-events")
    result = subprocess.run(
        [console_script, *replaced(DEPLOY, "--org-id", "org-123"), "--dry-run"], capture_output=True, text=True
    )
    assert result.returncode == 2 and "org-123" in result.stderr and "Traceback" not in result.stderr
