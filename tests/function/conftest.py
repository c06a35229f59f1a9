"""Fixtures for the function's tests (helpers live in lambda_support.py)."""

import importlib.util
import logging

import pytest

from lambda_support import DEFAULT_SETTINGS, MAIN, SOURCE, LoadedFunction


@pytest.fixture
def load_function(monkeypatch):
    """load_function(account, region, **settings) -> LoadedFunction."""

    def load(account=MAIN, region="us-east-1", partition="aws", **settings):
        values = dict(DEFAULT_SETTINGS, **settings)
        values["COPY_ROLE_ARN"] = values["COPY_ROLE_ARN"].format(account=account)
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_REGION", region)
        spec = importlib.util.spec_from_file_location("index", SOURCE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return LoadedFunction(module, account, region, partition)

    return load


@pytest.fixture
def log_lines(caplog):
    """The function's log records, as (level name, dict) pairs."""
    caplog.set_level(logging.DEBUG, logger="backup_events")

    def lines():
        return [(record.levelname, record.msg) for record in caplog.records
                if record.name == "backup_events"]

    return lines
