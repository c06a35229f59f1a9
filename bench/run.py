"""`make bench`: measure speed, cost and scale, and write bench/RESULTS.md.

A script, not a test: figures are medians of repeated runs with their min and
max, and the machine they ran on. Tests check behaviour and call counts; this
measures time.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import logging
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "backup_events_aws" / "lambda_function.py"
TEMPLATE = ROOT / "backup_events_aws.yaml"
RESULTS = ROOT / "bench" / "RESULTS.md"
EVENTS = ROOT / "tests" / "fixtures" / "events"
MAIN, BACKUP = "000022224444", "999977775555"
SETTINGS = {
    "BACKUP_ACCOUNT_ID": BACKUP,
    "BACKUP_REGION": "us-west-2",
    "BACKUP_REGION_ALTERNATE": "us-east-1",
    "VAULT_NAME": "BackupEvents-Sample",
    "NEW_DELETE_AFTER_DAYS": "7",
    "ENABLE_COPY": "true",
    "ENABLE_SHORTEN_RETENTION": "true",
    "BACKUPS_TO_COVER": "all",
    "CATCH_UP_DAYS": "7",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Published targets (issue "make bench").
TARGET_WARM_US = {"copy_to_backup_account": 20, "copy_to_backup_region": 20, "shorten_retention": 35}
TARGET_COLD_RATIO = 1.05
TARGET_CLI_START_MS = 500  # `backup-events --help` and the commands that need no sandbox
# Lambda prices assumed for the cost estimate (us-east-1, x86_64, on-demand,
# as published on the AWS Lambda pricing page; free tier ignored).
PRICE_PER_GB_SECOND = 0.0000166667
PRICE_PER_MILLION_REQUESTS = 0.20
ASSUMED_API_LATENCY_MS = 60  # one AWS Backup API round trip inside the region


def spread(values, scale=1.0, digits=1):
    values = [v * scale for v in values]
    return f"{statistics.median(values):.{digits}f} (min {min(values):.{digits}f}, max {max(values):.{digits}f})"


# --- Cold start ---------------------------------------------------------------

COLD_BARE = """
import time
start = time.perf_counter()
import boto3
boto3.client("backup", region_name="us-east-1")
print(time.perf_counter() - start)
"""
COLD_OURS = """
import sys, time
sys.path.insert(0, {folder!r})
start = time.perf_counter()
import index
index.build_function()
index.backup_client("us-east-1")
print(time.perf_counter() - start)
"""


def cold_start(runs=15):
    """A fresh interpreter each run, bare and ours interleaved (less drift)."""
    with tempfile.TemporaryDirectory() as folder:
        # What Lambda runs: the compact form embedded in the template, as index.py.
        (pathlib.Path(folder) / "index.py").write_text(embedded_code())
        env = dict(os.environ, **SETTINGS, COPY_ROLE_ARN="arn:aws:iam::000022224444:role/r")
        bare, ours = [], []
        for _ in range(runs):
            for script, into in ((COLD_BARE, bare), (COLD_OURS.format(folder=folder), ours)):
                out = subprocess.run(
                    [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
                )
                into.append(float(out.stdout.strip()))
    return bare, ours


# --- CLI start ------------------------------------------------------------------

CLI_COMMANDS = (["--help"], ["deploy", "--help"], ["reconcile", "--help"], ["demo", "--help"])


def cli_start(runs=11):
    """Wall time of `backup-events ARGS` as a fresh process, per ARGS, interleaved: what a user
    waits for before the first line (the interpreter's own start included)."""
    script = pathlib.Path(sys.executable).parent / "backup-events"
    times = {" ".join(argv): [] for argv in CLI_COMMANDS}
    for _ in range(runs):
        for argv in CLI_COMMANDS:
            start = time.perf_counter()
            subprocess.run([str(script), *argv], capture_output=True, check=True)
            times[" ".join(argv)].append(time.perf_counter() - start)
    return times


def cli_start_lines(misses):
    times = cli_start()
    lines = [
        "",
        f"## CLI start (`backup-events ...` as a new process; median of {len(next(iter(times.values())))} runs)",
        "",
        "| command | milliseconds | target |",
        "|---|---|---|",
    ]
    for command, samples in times.items():
        median_ms = statistics.median(samples) * 1e3
        target = ""
        if not command.startswith("demo"):  # the sandbox imports moto: seconds, by design
            target = f"{TARGET_CLI_START_MS} ms ({'met' if median_ms <= TARGET_CLI_START_MS else 'MISSED'})"
            if median_ms > TARGET_CLI_START_MS:
                misses.append(f"CLI start `backup-events {command}`: {median_ms:.0f} ms > {TARGET_CLI_START_MS} ms")
        lines.append(f"| `backup-events {command}` | {spread(samples, 1e3, 0)} | {target} |")
    return lines


# --- Warm overhead ------------------------------------------------------------


class InstantBackup:
    """Answers each AWS call at once, and counts them: measures our code only."""

    def __init__(self):
        self.calls = []
        now = datetime.datetime.now(datetime.UTC)
        self.point = {
            "RecoveryPointArn": "",
            "CreationDate": now,
            "Status": "COMPLETED",
            "StorageClass": "WARM",
            "Lifecycle": {"DeleteAfterDays": 35},
        }
        self.copy = {"CopyJobId": "0175DE71", "CreationDate": now, "IsParent": False}

    def start_copy_job(self, **_):
        self.calls.append("StartCopyJob")
        return self.copy

    def describe_recovery_point(self, **kwargs):
        self.calls.append("DescribeRecoveryPoint")
        return dict(self.point, RecoveryPointArn=kwargs["RecoveryPointArn"])

    def describe_backup_vault(self, **_):
        self.calls.append("DescribeBackupVault")
        return {"BackupVaultName": "BackupEvents-Sample"}

    def update_recovery_point_lifecycle(self, **kwargs):
        self.calls.append("UpdateRecoveryPointLifecycle")
        return {"Lifecycle": kwargs["Lifecycle"]}


class RuntimeLikeHandler(logging.Handler):
    """Turns each record into its JSON line, as Lambda's JSON log format does
    (that work is the runtime's, so it can be switched off to measure ours)."""

    format_lines = True

    def emit(self, record):
        if self.format_lines:
            self.last = json.dumps({"level": record.levelname, "message": record.msg}, default=str)


class Context:
    def __init__(self, account):
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:{account}:function:bench"


ROUTES = {
    # route: (fixture, account the function runs in)
    "copy_to_backup_account": ("backup_completed_efs_main", MAIN),
    "copy_to_backup_region": ("copy1_completed_efs_main", BACKUP),
    "shorten_retention": ("copy1_completed_efs_main", MAIN),
    "ignore": ("backup_job_running_documented", MAIN),
}


def load_function(account, log_level):
    """A fresh module (a cold start), its handler built by build_function."""
    os.environ.update(SETTINGS, COPY_ROLE_ARN=f"arn:aws:iam::{account}:role/r", AWS_LAMBDA_LOG_LEVEL=log_level)
    spec = importlib.util.spec_from_file_location(f"index_{account}", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    client = InstantBackup()
    return module.build_function(clients=lambda region: client), client


def warm_overhead(route, log_level="INFO", events=5000, repeats=9):
    fixture, account = ROUTES[route]
    event = json.loads((EVENTS / f"{fixture}.json").read_text())["event"]
    (function, client), context = load_function(account, log_level), Context(account)
    function(event, context)  # warm: the vault lock is cached now
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(events):
            function(event, context)
        samples.append((time.perf_counter() - start) / events)
    client.calls.clear()
    function(event, context)
    calls = list(client.calls)
    tracemalloc.start()
    for _ in range(1000):
        function(event, context)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return samples, calls, peak


# --- Sandbox throughput -------------------------------------------------------


def sandbox_figures():
    """The full flow in the sandbox, if it is there (make bench sets it up)."""
    try:
        from backup_events_aws.sandbox import scale
    except ImportError as missing:
        return None, f"sandbox not available ({missing})"
    return scale.one_account_burst_figures() + [""] + scale.burst_figures(), None


def embedded_code():
    sys.path.insert(0, str(ROOT / "src"))
    from backup_events_aws import template

    return template.embedded_code(TEMPLATE)


def embedded_bytes():
    return len(embedded_code().encode())


def main():
    if sys.argv[1:] == ["--cli-start"]:  # only this figure, printed (not written to RESULTS.md)
        print("\n".join(cli_start_lines(misses := [])) + "".join(f"\nMISSED: {m}" for m in misses))
        return
    handler = RuntimeLikeHandler()
    logging.getLogger().addHandler(handler)
    lines = [
        "# Benchmark results",
        "",
        f"Measured by `make bench` on {datetime.date.today()}: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform()}. Times are median (min, max).",
        "",
        "## Warm handler overhead per event (AWS calls answered instantly)",
        "",
        "| route | log level | microseconds per event | target | AWS calls per event | peak memory |",
        "|---|---|---|---|---|---|",
    ]
    misses = []
    for route in ROUTES:
        for level, format_lines in (("INFO", False), ("INFO + JSON line", True), ("WARN", False)):
            handler.format_lines = format_lines
            samples, calls, peak = warm_overhead(route, level.split()[0])
            target = TARGET_WARM_US.get(route)
            median_us = statistics.median(samples) * 1e6
            verdict = ""
            if target and level == "INFO":
                verdict = f"{target} us ({'met' if median_us <= target else 'MISSED'})"
                if median_us > target:
                    misses.append(f"{route}: {median_us:.1f} us > {target} us")
            lines.append(
                f"| {route} | {level} | {spread(samples, 1e6)} | {verdict} | "
                f"{len(calls)} ({', '.join(calls) or 'none'}) | {peak / 1024:.0f} KiB |"
            )
            print(lines[-1], flush=True)
    bare, ours = cold_start()
    ratio = statistics.median(ours) / statistics.median(bare)
    if ratio > TARGET_COLD_RATIO:
        misses.append(f"cold start ratio {ratio:.3f} > {TARGET_COLD_RATIO}")
    lines += [
        "",
        "Peak memory is what tracemalloc saw allocated over 1,000 warm events.",
        "INFO (the template's default level): the function builds its log record and hands it",
        'to logging; "INFO + JSON line" adds turning it into text, as Lambda\'s JSON log',
        "format does outside our code. WARN logs nothing on success.",
        "",
        "## Cold start (fresh interpreter, import + one backup client; 15 runs)",
        "",
        "| what | milliseconds |",
        "|---|---|",
        f"| `import boto3` + client | {spread(bare, 1e3)} |",
        f"| import the function + its client | {spread(ours, 1e3)} |",
        f"| ratio of medians | {ratio:.3f} (target <= {TARGET_COLD_RATIO}) |",
    ]
    print(lines[-1], flush=True)
    lines += cli_start_lines(misses)
    print("\n".join(lines[-len(CLI_COMMANDS) :]), flush=True)
    template_bytes = TEMPLATE.stat().st_size if TEMPLATE.exists() else 0
    code_bytes = SOURCE.stat().st_size
    lines += [
        "",
        "## Sizes",
        "",
        "| what | bytes |",
        "|---|---|",
        f"| template `backup_events_aws.yaml` | {template_bytes:,} (limit 51,200) |",
        f"| function source `lambda_function.py` | {code_bytes:,} |",
        f"| its compact form embedded in the template | {embedded_bytes():,} |",
    ]
    # Cost: per backup, 3 invocations (copy 1, shortening, copy 2) making
    # 1 + 2 + 1 AWS calls; duration = our overhead + the API round trips.
    backups_per_day = 10_000
    memory_mb = 128
    calls_per_backup, invocations = 4, 3
    seconds = calls_per_backup * ASSUMED_API_LATENCY_MS / 1000 + invocations * 30e-6
    monthly_invocations = backups_per_day * invocations * 30
    gb_seconds = backups_per_day * 30 * seconds * memory_mb / 1024
    cost = gb_seconds * PRICE_PER_GB_SECOND + monthly_invocations / 1e6 * PRICE_PER_MILLION_REQUESTS
    lines += [
        "",
        "## Monthly Lambda cost estimate",
        "",
        f"{backups_per_day:,} backups a day, 3 invocations each (copy 1, shortening, copy 2),",
        f"{calls_per_backup} AWS calls each taking an assumed {ASSUMED_API_LATENCY_MS} ms, "
        f"{memory_mb} MB memory, 30 days, us-east-1 x86_64 prices "
        f"(${PRICE_PER_GB_SECOND:.10f}/GB-s, ${PRICE_PER_MILLION_REQUESTS:.2f}/1M requests), no free tier:",
        f"{monthly_invocations:,} invocations, {gb_seconds:,.0f} GB-s: about ${cost:.2f} a month.",
        "Lambda bills in 1 ms increments, so billed time is dominated by AWS API latency;",
        "our code's own microseconds are noise next to it.",
    ]
    figures, why_not = sandbox_figures()
    lines += ["", "## Sandbox: the full flow (one run: it takes minutes)", ""]
    if figures:
        lines += figures
    else:
        lines.append(f"Not measured: {why_not}.")
    if "--no-suite" not in sys.argv:
        import suite  # bench/suite.py, beside this file

        suite_lines, suite_misses = suite.suite_figures()
        misses += suite_misses
        lines += ["", "## Test suite time (what `make test` and `make unit` run)", ""] + suite_lines
    lines += ["", "## Targets missed", ""] + ([f"- {m}" for m in misses] or ["None."])
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-(len(misses) or 1) - 2 :]))
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
