"""Shared test helpers: the event fixtures (tests/fixtures/events/*.json)."""

import copy
import json
import pathlib

import pytest

EVENTS = pathlib.Path(__file__).parent / "fixtures" / "events"


def load_event(name):
    """An event fixture: each file holds {"note": its source, "event": ...}."""
    return copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text())["event"])


@pytest.fixture
def event():
    return load_event


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a large sandbox run (about a minute or more); "
                            "deselect with -m 'not slow'")
