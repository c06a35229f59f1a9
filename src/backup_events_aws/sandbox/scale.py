"""Bursts of backups through the whole flow, and what became of each original.

`run_burst` starts many backups (as backup plans do: no StartBackupJob calls of
ours, so no API rate is spent on them) spread over a simulated window, runs the
organisation until the work is done (or a time bound passes), and returns a
`BurstResult`: for every original, whether copy 1 and copy 2 exist, whether it
was shortened, and the invariants the design promises:

* no original shortened before a COMPLETED copy 1 of it exists;
* at most one copy 1 per original and one copy 2 per copy 1;
* every original either fully processed (copy 1, copy 2, shortened) or accounted
  for in an error queue.

The scale and reliability tests and `make bench` (`burst_figures`) share it.

`burst_bounds` says how fast AWS's own limits let a burst go at best, each limit alone: the
request rate of UpdateRecoveryPointLifecycle (5/s per account and region), the copy-job
concurrency (100 per owning account and destination region, plus 5 per destination vault) and
one job at a time per resource (docs/AWS-BEHAVIOUR.md §5.1/§5.2); each from the earliest moment its work can
start. The largest is the bound that binds; a run is judged by its ratio to it.
"""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .backup import RATE_LIMITS
from .bridge import Faults
from .organization import Organization

PROGRESS_EVERY_SECONDS = 10.0


@dataclass
class BurstResult:
    backups: int
    originals: int = 0
    copies1: int = 0
    copies2: int = 0
    shortened: int = 0
    fully_processed: int = 0
    shortened_early: int = 0  # shortened without a COMPLETED copy 1: must be 0
    duplicate_copies: int = 0  # a second copy 1 of an original or copy 2 of a copy 1: must be 0
    in_error_queue: int = 0  # unfinished originals named in an error queue
    lost: int = 0  # unfinished and in no error queue: must be 0
    error_records: int = 0  # messages in all error queues
    invocations: int = 0
    function_errors: int = 0
    lambda_throttles: int = 0
    aws_calls: int = 0
    events: int = 0  # deliveries recorded by the bridge
    simulated_seconds: float = 0.0  # from the first backup's start to the last shortening
    wall_seconds: float = 0.0
    peak_concurrency: int = 0
    sweep_copies: int = 0  # copies the daily catch-up sweeps started (what lost events left undone)
    sweep_retention_checks: int = 0
    unfinished: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"{name}: {value}" for name, value in self.__dict__.items() if name != "unfinished"]


def _file_system(account: str, region: str, token: str) -> str:
    """A file system in moto, made directly in its backend (thousands, quickly): backups of
    resources that don't exist fail (protected_resources.py)."""
    from moto.efs.models import efs_backends

    return (
        efs_backends[account][region]
        .create_file_system(
            creation_token=token,
            performance_mode="generalPurpose",
            encrypted=False,
            kms_key_id="",
            throughput_mode="bursting",
            provisioned_throughput_in_mibps=0,
            availability_zone_name="",
            backup=False,
            tags=[],
        )
        .file_system_arn
    )


@dataclass(frozen=True)
class Bound:
    what: str
    seconds: float


def burst_bounds(org: Organization, backups: int, locations: list[tuple[str, str]]) -> list[Bound]:
    """Each AWS limit's best case for this burst (see the module's docstring), largest first.
    Copy 1 goes from the resource account to the backup account in the same region; copy 2 from
    there to the backup region (the alternate one for backups made in the backup region)."""
    settings = org.backup_service.settings
    start, backup_s, copy_s = settings.job_start_seconds, settings.backup_run_seconds, settings.copy_run_seconds
    slots = settings.copy_concurrency_per_region + settings.copy_concurrency_extra_per_vault  # one vault
    update_rate = RATE_LIMITS["UpdateRecoveryPointLifecycle"]
    layout, backup_account = org.layout, org.backup_account
    per_location: dict[tuple[str, str], int] = {}
    for n in range(backups):
        per_location[locations[n % len(locations)]] = per_location.get(locations[n % len(locations)], 0) + 1
    copy1_start = start + backup_s + start  # the earliest copy 1 starts once the first backup is done
    copy1_done = copy1_start + copy_s
    bounds = [Bound("one job at a time per resource: backup, copy 1, copy 2 in turn", copy1_done + start + copy_s)]
    copies2: dict[str, int] = {}
    for (account, region), count in sorted(per_location.items()):
        bounds.append(
            Bound(
                f"UpdateRecoveryPointLifecycle {update_rate}/s in {account} {region}", copy1_done + count / update_rate
            )
        )
        bounds.append(
            Bound(f"copy 1 concurrency ({slots}) of {account} into {region}", copy1_start + count * copy_s / slots)
        )
        destination = layout.alternate_region if region == layout.backup_region else layout.backup_region
        copies2[destination] = copies2.get(destination, 0) + count
    for destination, count in sorted(copies2.items()):
        bounds.append(
            Bound(
                f"copy 2 concurrency ({slots}) of {backup_account} into {destination}",
                copy1_done + start + count * copy_s / slots,
            )
        )
    return sorted(bounds, key=lambda bound: bound.seconds, reverse=True)


def start_backups(
    org: Organization, count: int, window_seconds: float, locations: list[tuple[str, str]], seed: int = 0
) -> list[str]:
    """Schedule `count` plan-created backups, round robin over `locations`, their starts
    spread evenly over `window_seconds`; returns their backup job ids (once started)."""
    rng = random.Random(seed)
    started: list[str] = []
    spacing = window_seconds / max(count, 1)
    # Every job is created with the same delays, so they also complete over the window.
    for n in range(count):
        account, region = locations[n % len(locations)]
        resource = _file_system(account, region, f"burst-{n}-{rng.getrandbits(32):08x}")

        def start(account: str = account, region: str = region, resource: str = resource) -> None:
            started.append(
                org.backup_service.start_scheduled_backup(
                    account, region, org.vault_name, resource, org.copy_role_arn(account), {"DeleteAfterDays": 35}
                )
            )

        org.clock.schedule(n * spacing, start)
    return started


def _error_queue_sources(org: Organization) -> set[str]:
    """Recovery point ARNs named by any error queue message (rule DLQs, on-failure records,
    failed-job events): resources[0] of the event, wherever the message keeps it."""
    named: set[str] = set()
    for instance in org.layout.instances():
        for message in org.error_messages(instance.account, instance.region):
            body = message["body"]
            event = body.get("requestPayload", body) if isinstance(body, dict) else {}
            for arn in (event.get("resources") or []) if isinstance(event, dict) else []:
                named.add(arn)
            detail = event.get("detail") if isinstance(event, dict) else None
            if isinstance(detail, dict) and isinstance(detail.get("destinationRecoveryPointArn"), str):
                named.add(detail["destinationRecoveryPointArn"])
    return named


def examine(org: Organization, backups: int, started_at: datetime.datetime) -> BurstResult:
    """Check every original against the design's promises (reads the sandbox state directly)."""
    result = BurstResult(backups=backups)
    points = org.backup_service.recovery_points(vault_name=org.vault_name, include_deleted=True)
    originals = [p for p in points if p.source_vault_arn is None and p.account != org.backup_account]
    copies1: dict[str, list[Any]] = {}  # original ARN -> its copies 1 (via the copy job)
    copies2: dict[str, list[Any]] = {}  # copy 1 ARN -> its copies 2
    copy1_done: dict[str, datetime.datetime] = {}  # original ARN -> when its first copy 1 completed
    for job in org.backup_service.copy_jobs():
        if job.state != "COMPLETED":
            continue
        into = copies2 if job.account == org.backup_account else copies1
        into.setdefault(job.source_recovery_point_arn, []).append(job.destination_recovery_point_arn)
        if job.account != org.backup_account:
            earliest = copy1_done.get(job.source_recovery_point_arn)
            copy1_done[job.source_recovery_point_arn] = min(filter(None, (earliest, job.completion_date)))
    last = started_at
    for job in org.backup_service.copy_jobs():
        if job.completion_date and job.state == "COMPLETED":
            last = max(last, job.completion_date)
    named = _error_queue_sources(org)
    result.originals = len(originals)
    result.error_records = sum(len(org.error_messages(i.account, i.region)) for i in org.layout.instances())
    for original in originals:
        firsts = copies1.get(original.arn, [])
        seconds = [c2 for c1 in firsts for c2 in copies2.get(c1, [])]
        result.copies1 += len(firsts)
        result.copies2 += len(seconds)
        result.duplicate_copies += max(0, len(firsts) - 1) + sum(max(0, len(copies2.get(c1, [])) - 1) for c1 in firsts)
        # In a burst only the function changes an original's lifecycle: that is the shortening.
        updated_at = original.lifecycle_updated_at
        shortened = updated_at is not None
        result.shortened += shortened
        copied_at = copy1_done.get(original.arn)
        if shortened and (copied_at is None or updated_at < copied_at):
            result.shortened_early += 1  # the design shortens only after copy 1 completed
        if firsts and seconds and shortened:
            result.fully_processed += 1
        elif original.arn in named or any(c1 in named for c1 in firsts):
            result.in_error_queue += 1
        else:
            result.lost += 1
            result.unfinished.append(original.arn)
    runtime = org.bridge.runtime
    result.invocations = len(runtime.invocations)
    result.function_errors = sum(1 for i in runtime.invocations if i.error)
    result.lambda_throttles = runtime.throttles
    result.aws_calls = sum(i.aws_calls for i in runtime.invocations)
    result.events = len(org.bridge.trace)
    result.peak_concurrency = max(runtime.peak_concurrency.values(), default=0)
    for invocation in runtime.invocations:
        if isinstance(invocation.result, dict) and invocation.result.get("action") == "sweep":
            result.sweep_copies += invocation.result.get("copies_started", 0)
            result.sweep_retention_checks += invocation.result.get("retention_checked", 0)
    lifecycle_updates = [
        i.at + datetime.timedelta(seconds=i.seconds)
        for i in runtime.invocations
        if isinstance(i.result, dict) and i.result.get("lifecycle")
    ]
    last = max([last, *lifecycle_updates])
    result.simulated_seconds = (last - started_at).total_seconds()
    return result


def run_burst(
    org: Organization,
    backups: int,
    window_seconds: float = 60.0,
    locations: list[tuple[str, str]] | None = None,
    throttle_fraction: float = 0.0,
    run_seconds: float = 12 * 3600,
    progress: Callable[[str], None] | None = None,
) -> BurstResult:
    """Start the burst in a started organisation, run the clock `run_seconds` (throttling
    `throttle_fraction` of all AWS Backup calls meanwhile), examine. `progress` is told how far
    the burst got, every 10 s of wall time."""
    wall = time.perf_counter()
    locations = locations or [(a, r) for a in org.layout.resource_accounts for r in org.layout.resource_regions]
    if throttle_fraction:
        org.backup_service.inject_throttling(throttle_fraction)
    started_at = org.now()
    if progress:
        progress(f"burst: starting {backups:,} backups in {len(locations)} account/region(s)")
    start_backups(org, backups, window_seconds, locations, seed=org.seed)
    # With progress, the clock runs a simulated minute at a time and a line is told every 10 s of
    # wall time (a burst's work may all fall within its first simulated hour).
    step = 60.0 if progress else run_seconds
    ran, told = 0.0, time.perf_counter()
    while ran < run_seconds:
        org.advance(min(step, run_seconds - ran))
        ran += step
        if progress and (time.perf_counter() - told >= PROGRESS_EVERY_SECONDS or ran >= run_seconds):
            told = time.perf_counter()
            jobs = org.backup_service.copy_jobs()
            done = sum(1 for job in jobs if job.state == "COMPLETED")
            progress(
                f"burst: simulated {min(ran, run_seconds) / 3600:.1f} h of {run_seconds / 3600:.0f}; "
                f"{done:,} of {len(jobs):,} copy jobs completed, {len(org.bridge.runtime.invocations):,} "
                "invocations"
            )
    org.backup_service.inject_throttling(0.0)
    result = examine(org, backups, started_at)
    result.wall_seconds = time.perf_counter() - wall
    return result


def bound_lines(bounds: list[Bound], simulated_seconds: float) -> list[str]:
    """Markdown rows: the binding bound, the measured ratio to it, and the other limits."""
    binding = bounds[0]
    rows = [
        f"| bound that binds (AWS limit alone, from its earliest start) | {binding.what}: {binding.seconds:,.0f} s |",
        f"| measured / bound | **{simulated_seconds / binding.seconds:.2f}x** |",
    ]
    rows += [f"| other limit | {bound.what}: {bound.seconds:,.0f} s |" for bound in bounds[1:]]
    return rows


def burst_figures(backups: int = 10_000) -> list[str]:
    """`make bench`: a burst across 3 accounts and 2 regions with 20% throttling (markdown lines)."""
    with Organization.typical(faults=Faults()) as org:
        locations = [(a, r) for a in org.layout.resource_accounts for r in org.layout.resource_regions]
        result = run_burst(org, backups, throttle_fraction=0.2, run_seconds=30 * 3600, progress=print)
        bounds = burst_bounds(org, backups, locations)
    rate = result.events / result.wall_seconds if result.wall_seconds else 0.0
    return [
        f"A burst of {backups:,} backups started within one simulated minute across 3 resource accounts",
        "and 2 regions (typical layout), 20% of AWS Backup calls throttled, AWS's API rates and copy",
        "quotas enforced (copies take the sandbox's default 10 minutes):",
        "",
        "| what | value |",
        "|---|---|",
        f"| wall time | {result.wall_seconds:.1f} s |",
        f"| simulated time to the last copy/shortening | {result.simulated_seconds:,.0f} s |",
        *bound_lines(bounds, result.simulated_seconds),
        f"| copies made (copy 1 + copy 2) | {result.copies1:,} + {result.copies2:,} |",
        f"| originals shortened | {result.shortened:,} of {result.originals:,} |",
        f"| fully processed | {result.fully_processed:,} |",
        f"| in an error queue | {result.in_error_queue:,} |",
        f"| lost (must be 0) | {result.lost} |",
        f"| duplicate copies (must be 0) | {result.duplicate_copies} |",
        f"| shortened before copy 1 completed (must be 0) | {result.shortened_early} |",
        f"| Lambda invocations / throttled polls / AWS calls | {result.invocations:,} / "
        f"{result.lambda_throttles:,} / {result.aws_calls:,} |",
        f"| sandbox events per second (bridge deliveries / wall s) | {rate:,.0f} |",
    ]


def one_account_burst(org: Organization, backups: int, progress: Callable[[str], None] | None = None) -> BurstResult:
    """`backups` completing within one simulated minute in ONE account and region, copies of 10
    simulated seconds: the API rate (UpdateRecoveryPointLifecycle, 5/s) is the bound that binds."""
    org.backup_service.configure(copy_run_seconds=10)
    return run_burst(
        org,
        backups,
        window_seconds=60,
        locations=[(org.main_account, "us-east-1")],
        run_seconds=12 * 3600,
        progress=progress,
    )


def one_account_burst_figures(backups: int = 10_000) -> list[str]:
    """`make bench`: the one-account burst (the test runs a smaller one), against its bound."""
    with Organization.minimum() as org:
        result = one_account_burst(org, backups, progress=print)
        bounds = burst_bounds(org, backups, [(org.main_account, "us-east-1")])
    return [
        f"A burst of {backups:,} backups within one simulated minute in one account and region (the minimum",
        "layout; copies take 10 simulated seconds), AWS's API rates enforced:",
        "",
        "| what | value |",
        "|---|---|",
        f"| wall time | {result.wall_seconds:.1f} s |",
        f"| simulated time to the last copy/shortening | {result.simulated_seconds:,.0f} s |",
        *bound_lines(bounds, result.simulated_seconds),
        f"| fully processed / shortened / in an error queue | {result.fully_processed:,} / {result.shortened:,} / "
        f"{result.in_error_queue:,} |",
        f"| lost / duplicate copies / shortened before copy 1 (each must be 0) | {result.lost} / "
        f"{result.duplicate_copies} / {result.shortened_early} |",
    ]
