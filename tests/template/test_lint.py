"""The template stays lint-clean under `make test` too (checkov, which needs its
own virtual environment, runs in `make lint`)."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


def run(*command):
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


def test_yamllint_finds_nothing():
    result = run(str(BIN / "yamllint"), "--strict", "-c", ".yamllint.yaml", "backup_events_aws.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_with_informational_checks_finds_nothing():
    result = run(str(BIN / "cfn-lint"), "-c", "I", "--ignore-checks", "I4010", "--", "backup_events_aws.yaml")
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr
