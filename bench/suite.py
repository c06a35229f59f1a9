"""How long the test suite takes: the figure behind "make test in at most 5 minutes" (issue 14).

    .venv/bin/python bench/suite.py          # `make test`, then `make unit`
    .venv/bin/python bench/suite.py --unit   # only `make unit`

Runs the Makefile's own targets, as a developer does, from the warm virtual environment (make's
stamp is up to date, so nothing is installed), and prints a markdown table: the wall time of each
against its target (`make test` <= 300 s, `make unit` <= 30 s) and its CPU time (user + sys of
every process it ran, pytest-xdist's workers included). bench/run.py includes it in RESULTS.md.
A measurement, not a test: it fails nothing. Other processes sharing the cores stretch the wall
time but hardly the CPU time, so both are printed with the load average around each run; a wall
time under load above the core count is not the machine's figure.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"test": 300, "unit": 30}  # seconds of wall time on the project's 2-core machine


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # every finished descendant, waited for
    return usage.ru_utime + usage.ru_stime


def run_target(target: str) -> dict[str, float]:
    """`make TARGET` from the repository: wall and CPU seconds, exit code, load before and after."""
    load_before, cpu_before = os.getloadavg()[0], _children_cpu_seconds()
    started = time.perf_counter()
    done = subprocess.run(["make", "--no-print-directory", target], cwd=ROOT, capture_output=True, text=True)
    figures = {
        "wall": time.perf_counter() - started,
        "cpu": _children_cpu_seconds() - cpu_before,
        "exit": done.returncode,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }
    print(
        f"make {target}: {figures['wall']:.0f} s wall, {figures['cpu']:.0f} s CPU (exit {done.returncode})", flush=True
    )
    if done.returncode:
        print((done.stdout + done.stderr)[-3000:], flush=True)
    return figures


def suite_figures(unit_only: bool = False) -> tuple[list[str], list[str]]:
    """Markdown lines and the targets missed."""
    runs = {target: run_target(target) for target in (["unit"] if unit_only else ["test", "unit"])}
    lines = [
        "| target | wall seconds | target | CPU seconds (user + sys) | load average before, after | exit |",
        "|---|---|---|---|---|---|",
    ]
    misses = []
    for target, figures in runs.items():
        lines.append(
            f"| make {target} | **{figures['wall']:.0f}** | <= {TARGETS[target]} | {figures['cpu']:.0f} | "
            f"{figures['load_before']:.1f}, {figures['load_after']:.1f} | {figures['exit']:.0f} |"
        )
        if figures["wall"] > TARGETS[target]:
            misses.append(f"make {target} {figures['wall']:.0f} s > {TARGETS[target]} s")
        if figures["exit"]:
            misses.append(f"make {target} failed (exit {figures['exit']:.0f})")
    lines += [
        "",
        f"On {os.cpu_count()} cores; `make test` runs the quick tier (with coverage), then the slow one, "
        "each on 2 pytest-xdist workers (Makefile). CPU seconds over wall seconds is the cores the run kept "
        "busy; a load average above the core count means other work shared the machine and the wall times "
        "are inflated.",
    ]
    return lines, misses


if __name__ == "__main__":
    figures, missed = suite_figures(unit_only="--unit" in sys.argv)
    print("\n".join(figures))
    print("\n".join(f"MISSED: {m}" for m in missed) or "All suite targets met.")
