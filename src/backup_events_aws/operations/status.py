"""`backup-events status`: the recent backups and their copies, and every gap, from one place.

    backup-events status --profile main --profile backup --region us-east-1 --region us-west-2
    backup-events status ... --since 3 --json

For each account (a --profile; the default credentials if none) and each --region, it reads
the stack instance's function settings, lists what the daily sweep lists (the watched vault's
recovery points of the last --since days, default the stack's CatchUpDays, and the copy jobs to
the sweep's destination) and judges them with the function's own `coverage()`: the same rule
as the sweep's metrics, so both name the same gaps. Originals show their copy 1 and, when the
backup account is read too, their copy 2 and the retention before (copy 1 keeps the
original's first lifecycle) and after. One summary line per instance; exit code 1 when there is
a gap. Progress goes to stderr; bad values are refused before any AWS call (exit 2).
"""

from __future__ import annotations

import datetime
import json
import sys
from typing import Any

import botocore.config

from .. import lambda_function
from ..cli import CliError
from . import common, reconcile, validation


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "status",
        help="recent backups, their copies and every gap, across accounts and regions",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        help="an account's AWS profile (repeatable; default: the default credentials)",
    )
    parser.add_argument("--region", action="append", default=[], help="a region (repeatable; required)")
    common.add_stack_argument(parser)
    parser.add_argument("--since", type=int, help="days back (default: the stack's CatchUpDays)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(run=run)


def check(regions: list[str]) -> None:
    """Refuse what the shared checks (validation.py: regions, --since) leave, before any call."""
    if not regions:
        raise validation.refuse("no region given", "pass --region (repeatable), e.g. --region us-east-1")


def read_instance(aws: Any, stack_name: str, label: str, since: int | None) -> dict[str, Any]:
    """One stack instance: its coverage rows and counts, judged by the function's own rule."""
    configuration = reconcile.deployed_function(aws, stack_name, label)
    parts = configuration["FunctionArn"].split(":")  # arn:partition:lambda:region:account:function:name
    partition, account = parts[1], parts[4]
    variables = dict((configuration.get("Environment") or {}).get("Variables", {}))
    if since:
        variables["CATCH_UP_DAYS"] = str(since)
    client = aws.client("backup", config=botocore.config.Config(retries={"mode": "standard"}))
    # AWS's time, from its answer's Date (as reconcile): a skewed laptop clock can't shift the gaps,
    # and against the sandbox it is the simulated clock.
    _, at = common.caller_and_time(aws)
    settings = reconcile.load_function(variables, client, at).settings
    place = lambda_function.Place(partition, account, aws.region_name, settings)
    points, states = lambda_function.sweep_inputs(place, client, at)
    rows, counts = lambda_function.coverage(points, states, place, at)
    lifecycles = {p["RecoveryPointArn"]: (p.get("Lifecycle") or {}).get("DeleteAfterDays") for p in points}
    copies = {}  # source recovery point -> its completed copy's recovery point
    for page in client.get_paginator("list_copy_jobs").paginate(
        ByDestinationVaultArn=lambda_function.sweep_destination(place),
        ByCreatedAfter=at - datetime.timedelta(days=settings.catch_up_days),
    ):
        for job in page.get("CopyJobs", []):
            if job.get("State") == "COMPLETED":
                copies[job["SourceRecoveryPointArn"]] = job.get("DestinationRecoveryPointArn")
    for row in rows:
        row["delete_after_days"] = lifecycles.get(row["recovery_point"])
        row["copied_to"] = copies.get(row["recovery_point"])
    return {
        "account": account,
        "region": aws.region_name,
        "vault": settings.vault_name,
        "backup_account": place.in_backup_account,
        "rows": rows,
        "counts": counts,
        "alert_after_hours": settings.alert_after_hours,
    }


def table(instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pure: one row per original (copy 1, copy 2, retention before -> after), then the copies 1
    of the backup account that no original read here accounts for."""
    by_copy1 = {
        row["recovery_point"]: (instance, row)
        for instance in instances
        if instance["backup_account"]
        for row in instance["rows"]
    }
    shown, lines = set(), []
    for instance in instances:
        if instance["backup_account"]:
            continue
        for row in instance["rows"]:
            copy1 = by_copy1.get(row["copied_to"] or "")
            if copy1:
                shown.add(row["copied_to"])
            lines.append(
                {
                    "account": instance["account"],
                    "region": instance["region"],
                    "recovery_point": row["recovery_point"],
                    "age_hours": row["age_hours"],
                    "copy1": row["copy"],
                    "copy2": copy1[1]["copy"] if copy1 else "?",
                    "retention": f"{copy1[1]['delete_after_days'] if copy1 else '?'} -> {row['delete_after_days']}",
                    "gap": row["gap"] or bool(copy1 and copy1[1]["gap"]),
                }
            )
    for copy1_arn, (instance, row) in by_copy1.items():
        if copy1_arn not in shown:
            lines.append(
                {
                    "account": instance["account"],
                    "region": instance["region"],
                    "recovery_point": copy1_arn,
                    "age_hours": row["age_hours"],
                    "copy1": "(is copy 1)",
                    "copy2": row["copy"],
                    "retention": f"{row['delete_after_days']}",
                    "gap": row["gap"],
                }
            )
    return lines


def summary(instance: dict[str, Any]) -> str:
    counts, hours = instance["counts"], instance["alert_after_hours"]
    what = (
        f"{counts.get('Copies1', 0)} copies 1, {counts['CopyGaps']} without copy 2 after {hours} h"
        if instance["backup_account"]
        else f"{counts.get('Originals', 0)} originals, {counts['CopyGaps']} without copy 1 after {hours} h, "
        f"{counts['AwaitingShortening']} waiting to be shortened"
    )
    return f"{instance['account']} {instance['region']} {instance['vault']}: {what}"


def print_table(lines: list[dict[str, Any]], out: Any) -> None:
    titles = [
        ("account", "Account"),
        ("region", "Region"),
        ("recovery_point", "Recovery point"),
        ("age_hours", "Age (h)"),
        ("copy1", "Copy 1"),
        ("copy2", "Copy 2"),
        ("retention", "DeleteAfterDays"),
        ("gap", "Gap"),
    ]
    cells = [
        [str(line[key]) if key != "recovery_point" else line[key].rsplit(":", 1)[-1][:18] for key, _ in titles]
        for line in lines
    ]
    cells = [
        [c if titles[i][0] != "gap" else ("GAP" if c == "True" else "") for i, c in enumerate(row)] for row in cells
    ]
    widths = [max([len(t)] + [len(row[i]) for row in cells]) for i, (_, t) in enumerate(titles)]
    print("  ".join(t.ljust(w) for (_, t), w in zip(titles, widths, strict=True)).rstrip(), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)


def collect(
    sessions: list[tuple[str, Any]], stack_name: str, since: int | None, progress: common.Progress
) -> list[dict[str, Any]]:
    """Every instance found; an account and region without the stack is skipped, and said so."""
    instances = []
    for label, aws in sessions:
        progress.say(f"reading {label} / {aws.region_name}")
        if common.describe_stack(aws.client("cloudformation"), stack_name) is None:
            progress.say(f"  no stack {stack_name!r} there: skipped")
            continue
        instances.append(read_instance(aws, stack_name, label, since))
    if not instances:
        raise CliError(
            f"no stack {stack_name!r} in any account and region given",
            "pass the profiles and regions where Backup Events is deployed, or --stack-name",
        )
    return instances


def report(instances: list[dict[str, Any]], as_json: bool, out: Any = None) -> int:
    out = out or sys.stdout
    lines = table(instances)
    gaps = sum(instance["counts"]["CopyGaps"] for instance in instances)
    if as_json:
        print(json.dumps({"instances": instances, "table": lines, "gaps": gaps}, indent=2, default=str), file=out)
    else:
        print_table(lines, out)
        print(file=out)
        for instance in instances:
            print(summary(instance), file=out)
        hours = max((i["alert_after_hours"] for i in instances), default=24)
        print(
            f"\n{gaps} gap(s): backups without their copies after {hours} h."
            if gaps
            else f"\nNo gap: no backup is without its copies after {hours} h.",
            file=out,
        )
    return 1 if gaps else 0


def run(arguments: Any) -> int:
    check(arguments.region)
    sessions = [
        (profile or "default credentials", common.session(profile, region))
        for profile in (arguments.profile or [None])
        for region in arguments.region
    ]
    progress = common.Progress(out=sys.stderr)
    instances = collect(sessions, arguments.stack_name or common.DEFAULT_STACK_NAME, arguments.since, progress)
    return report(instances, arguments.json)
