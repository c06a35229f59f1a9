"""Shared test helpers: the event fixtures (tests/fixtures/events/*.json)."""

import contextlib
import copy
import json
import pathlib
import sys
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
    config.addinivalue_line(
        "markers",
        "slow(minutes=1): a large sandbox run (about `minutes` of CPU on "
        "one core, the longest first); deselect with -m 'not slow'",
    )


def _slow_minutes(item):
    marker = item.get_closest_marker("slow")
    return marker.kwargs.get("minutes", 1) if marker else 0


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Slow tests first, longest first: on pytest-xdist workers (-n) the longest run then starts at
    once and the rest fill the other worker meanwhile. In a serial session with --cov they run
    without coverage's tracing (it triples their time; on xdist workers no_cover does not stop
    it, so make test runs the slow tier in its own session, without --cov)."""
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.no_cover)
    items.sort(key=_slow_minutes, reverse=True)  # stable: the rest keep their order


# Progress in the slow tier: which slow test runs (n of N) and, through the `progress` fixture,
# what it is doing and how far it got, on the terminal as it happens (no -s needed).


@pytest.hookimpl(trylast=True)  # after -m deselected what will not run
def pytest_collection_finish(session):
    slow = [item for item in session.items if item.get_closest_marker("slow")]
    for number, item in enumerate(slow, 1):
        item.slow_position = (number, len(slow))


def _say(config, text):
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    worker = getattr(config, "workerinput", {}).get("workerid")  # a pytest-xdist worker (-n)
    if reporter is None and worker is None:
        return
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        if worker is None:  # past pytest's output capture, to the terminal
            reporter.write_line(text)
        else:  # on a worker, stdout and its reporter write nowhere (xdist keeps fd 1); stderr is the terminal
            line = text.lstrip("\n")
            sys.stderr.write(f"{text[: len(text) - len(line)]}[{worker}] {line}\n")
            sys.stderr.flush()


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
