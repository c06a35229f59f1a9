"""How long the test suite takes: the figure behind "make test in at most 5 minutes" (issue 14).

    .venv/bin/python bench/suite.py          # runs what `make test` runs, then `make unit`
    .venv/bin/python bench/suite.py --unit   # only `make unit`

Runs each step as `make test` does (coverage on the quick tier, none on the slow one), from the
warm virtual environment, and prints a markdown table of wall times with the targets
(`make test` <= 300 s, `make unit` <= 30 s). bench/run.py includes it in RESULTS.md. A measurement,
not a test: it fails nothing, and says when the machine was busy (load average), since other
processes sharing the cores slow every step.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
TARGET_TEST_SECONDS = 300
TARGET_UNIT_SECONDS = 30
UNIT = ["tests/function", "tests/template", "tests/test_cli.py"]

# What `make test` runs, in order (Makefile): check, the quick tier with coverage, the coverage
# goal for the function, the slow tier.
TEST_STEPS = [
    ("template check", [PY, "-m", "backup_events_aws.template", "check", "backup_events_aws.yaml"]),
    (
        "quick tier, with coverage",
        [PY, "-m", "pytest", "-m", "not slow", "-q", "--cov=src/backup_events_aws", "--cov-report="],
    ),
    ("function coverage goal", [PY, "-m", "coverage", "report", "--include=*/lambda_function.py", "--fail-under=95"]),
    ("slow tier", [PY, "-m", "pytest", "-m", "slow", "-q"]),
]
UNIT_STEPS = [("make unit", [PY, "-m", "pytest", "-q", *UNIT])]


def timed(steps: list[tuple[str, list[str]]]) -> list[tuple[str, float, int]]:
    results = []
    for name, command in steps:
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        results.append((name, seconds, done.returncode))
        print(f"{name}: {seconds:.0f} s (exit {done.returncode})", flush=True)
        if done.returncode:
            print((done.stdout + done.stderr)[-2000:], flush=True)
    return results


def suite_figures(unit_only: bool = False) -> tuple[list[str], list[str]]:
    """Markdown lines and the targets missed."""
    load_before = os.getloadavg()[0]
    test = [] if unit_only else timed(TEST_STEPS)
    unit = timed(UNIT_STEPS)
    lines = ["| step | wall seconds | exit |", "|---|---|---|"]
    lines += [f"| {name} | {seconds:.0f} | {code} |" for name, seconds, code in test + unit]
    misses = []
    if test:
        total = sum(seconds for _, seconds, _ in test)
        lines.append(f"| **make test** (sum) | **{total:.0f}** (target <= {TARGET_TEST_SECONDS}) | |")
        if total > TARGET_TEST_SECONDS:
            misses.append(f"make test {total:.0f} s > {TARGET_TEST_SECONDS} s")
    unit_seconds = unit[0][1]
    lines.append(f"| **make unit** | **{unit_seconds:.0f}** (target <= {TARGET_UNIT_SECONDS}) | |")
    if unit_seconds > TARGET_UNIT_SECONDS:
        misses.append(f"make unit {unit_seconds:.0f} s > {TARGET_UNIT_SECONDS} s")
    lines += [
        "",
        f"Load average when it started: {load_before:.1f} on {os.cpu_count()} cores "
        "(above the core count, other work shared the machine and every figure is inflated).",
    ]
    return lines, misses


if __name__ == "__main__":
    figures, missed = suite_figures(unit_only="--unit" in sys.argv)
    print("\n".join(figures))
    print("\n".join(f"MISSED: {m}" for m in missed) or "All suite targets met.")
