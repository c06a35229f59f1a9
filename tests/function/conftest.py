"""Fixtures for the function's tests (helpers live in lambda_support.py)."""

import logging

import pytest
from lambda_support import DEFAULT_SETTINGS, MAIN, LoadedFunction, fresh_module


@pytest.fixture
def load_function(monkeypatch):
    """load_function(account, region, clock=None, **settings) -> LoadedFunction."""

    def load(account=MAIN, region="us-east-1", partition="aws", clock=None, **settings):
        values = dict(DEFAULT_SETTINGS, **settings)
        values["COPY_ROLE_ARN"] = values["COPY_ROLE_ARN"].format(account=account)
        monkeypatch.setenv("AWS_REGION", region)
        return LoadedFunction(fresh_module(), values, account, region, partition, clock)

    return load


@pytest.fixture
def log_lines(caplog):
    """The function's log records, as (level name, dict) pairs."""
    caplog.set_level(logging.DEBUG, logger="backup_events")

    def lines():
        return [(record.levelname, record.msg) for record in caplog.records if record.name == "backup_events"]

    return lines
