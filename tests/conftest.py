"""Shared test helpers: the event fixtures (tests/fixtures/events/*.json)."""

import copy
import json
import pathlib
import time

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


# Progress in the slow tier: which slow test runs (n of N) and, through the `progress` fixture,
# what it is doing and how far it got, on the terminal as it happens (no -s needed).

def pytest_collection_modifyitems(config, items):
    slow = [item for item in items if item.get_closest_marker("slow")]
    for number, item in enumerate(slow, 1):
        item.slow_position = (number, len(slow))


def _say(config, text):
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    if capture is None:
        reporter.write_line(text)
        return
    with capture.global_and_fixture_disabled():  # past pytest's output capture, to the terminal
        reporter.write_line(text)


def pytest_runtest_setup(item):
    if hasattr(item, "slow_position"):
        number, total = item.slow_position
        item.slow_started = time.monotonic()
        _say(item.config, f"\n[slow {number}/{total}] {item.nodeid}")


def pytest_runtest_teardown(item):
    if hasattr(item, "slow_started"):
        _say(item.config, f"[slow] {item.name}: {time.monotonic() - item.slow_started:.0f} s")


@pytest.fixture
def progress(request):
    """`progress("phase ...")` prints a line with the seconds since the test started."""
    started = time.monotonic()

    def say(text):
        _say(request.config, f"  [{time.monotonic() - started:6.1f}s] {text}")

    return say
