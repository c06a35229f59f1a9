"""Helpers for the operations tests: profiles for sandbox accounts, the template as
JSON for moto, the Lambda invocations the sandbox answered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cfn_flip

from backup_events_aws import cli
from backup_events_aws.operations import common

PROFILES = {"main": "000022224444", "backup": "999977775555"}


def write_profiles(org: Any, directory: Path, monkeypatch: Any, accounts: dict[str, str] | None = None) -> None:
    """~/.aws files with one profile per sandbox account (credentials from moto STS)."""
    credentials, config = [], []
    for profile, account in (accounts or PROFILES).items():
        keys = org.credentials.for_account(account)
        credentials.append(
            f"[{profile}]\naws_access_key_id = {keys['AccessKeyId']}\n"
            f"aws_secret_access_key = {keys['SecretAccessKey']}\n"
            f"aws_session_token = {keys['SessionToken']}\n"
        )
        config.append(f"[profile {profile}]\n")
    (directory / "credentials").write_text("\n".join(credentials))
    (directory / "config").write_text("\n".join(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(directory / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(directory / "config"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def json_template(directory: Path) -> Path:
    """The template as JSON: moto mis-parses YAML short-form !Condition (docs/TESTING.md)."""
    path = directory / "template.json"
    text = cfn_flip.to_json(common.default_template_path().read_text())
    path.write_text(json.dumps(json.loads(text), separators=(",", ":")))  # within 51,200 bytes
    return path


def run(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


class SynchronousInvoke:
    """The Lambda Invoke calls the sandbox answered from now on (it runs the deployed code, see
    sandbox/lambda_api.py): (function ARN, payload) of each."""

    def __init__(self, org: Any, monkeypatch: Any = None):
        self._api = org.lambda_api
        self._first = len(org.lambda_api.calls)

    @property
    def calls(self) -> list[tuple[str, Any]]:
        return [(arn, payload) for arn, _, payload in self._api.calls[self._first :]]
