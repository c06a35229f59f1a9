"""Backup Events: copy AWS Backup backups to a backup account and region.

github.com/backup-events/backup-events-aws  GPL-3.0  (embedded by make template)

Event -> decide() (pure: what to do, with which arguments) -> one thin AWS
call -> one JSON log line. Routes (docs/CONTRACT.md):
- resource account: backup COMPLETED in the watched vault -> copy 1 to the
  backup account's vault, same region; copy 1 COMPLETED -> shorten retention
- backup account: copy 1 COMPLETED (forwarded to our event bus) -> copy 2 to
  the backup region, or to the alternate if copy 1 is already there
- daily schedule -> catch-up sweep for what lost events left undone; it also
  measures coverage (copy gaps) as metrics, tells the alert topic of gaps
  older than ALERT_AFTER_HOURS; what it fails to repair errs
- an alarm of this stack (its error queue received failures) -> alert: read
  the queue, tell the one alert topic in plain words with the fix
build_function() makes the handler; tests, reconcile, the sandbox and the
benchmark all use it (settings, clients, clock and sleep passed in).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import boto3  # type: ignore[import-untyped,unused-ignore]
import botocore.config  # type: ignore[import-untyped,unused-ignore]
import botocore.exceptions  # type: ignore[import-untyped,unused-ignore]

VERSION = "0.2.0"
UTC = datetime.UTC
Clock = Callable[[], datetime.datetime]
Event = Any  # an EventBridge event: a dict, or anything a caller sends

# A cold backup stays cold 90 days; DeleteAfterDays is at most 36,500
# (docs/AWS-BEHAVIOUR.md §3.2, §16).
COLD_STORAGE_MINIMUM_DAYS = 90
MAXIMUM_DELETE_AFTER_DAYS = 36500
# AWS moves backups to cold storage in a daily run after the due time, not at
# the second (docs/AWS-BEHAVIOUR.md §16): a transition due within 2 days (one
# daily run, plus a day for clock drift and a late run) may be under way, so
# it is kept; one due later is cancelled while the backup is still WARM.
COLD_TRANSITION_MARGIN = datetime.timedelta(days=2)
# A lock may be added to the vault at any time: re-read its minimum this often.
VAULT_LOCK_MAX_AGE = datetime.timedelta(minutes=5)
# The sweep paces its actions: 5 a second keeps UpdateRecoveryPointLifecycle
# (5/s), DescribeRecoveryPoint (15/s) and StartCopyJob within AWS Backup's
# request rates (docs/AWS-BEHAVIOUR.md §5.2).
SWEEP_SECONDS_PER_ACTION = 0.2
# The sweep stops with this much of the invocation left, so that it logs what it did and
# raises (Lambda retries; the retry lists again and skips what is done) instead of timing out.
SWEEP_RESERVE_MS = 15_000
LAG_VAULT = "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"
BOOLEAN = ("true", "false")

logger = logging.getLogger("backup_events")
# Lambda sets this from ApplicationLogLevel; Python's logging has no TRACE.
LOG_LEVEL = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO")
logger.setLevel("DEBUG" if LOG_LEVEL == "TRACE" else LOG_LEVEL)


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(UTC)


class BadEvent(ValueError):
    """The event calls for an action but lacks what the action needs."""


class SettingsError(ValueError):
    """An environment variable has a value the function cannot use."""

    def __init__(self, variable: str, value: str, fix: str) -> None:
        super().__init__(f"{variable}={value!r}: {fix}")
        self.variable, self.value, self.fix = variable, value, fix


class SweepIncomplete(RuntimeError):
    """Some sweep actions failed (each logged); raised after trying them all."""


class LogRecord(dict):  # type: ignore[type-arg]
    """A log line. Lambda's JSON log format embeds a dict message as a JSON
    object (awslambdaric JsonFormatter); anywhere else str() gives one line
    of JSON. Responses go through json_safe, so datetimes print as ISO 8601."""

    def __str__(self) -> str:
        return json.dumps(self, default=str)


def log(level: int, log_type: str, event: Event, **fields: Any) -> None:
    """One JSON object: type, version, event id, then the action's own fields."""
    if logger.isEnabledFor(level):
        event_id = event.get("id") if isinstance(event, dict) else None
        logger.log(level, LogRecord(type=log_type, version=VERSION, event_id=event_id, **fields))


def error_fields(error: BaseException) -> dict[str, Any]:
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return {"error": type(error).__name__, "aws_error_code": code, "message": str(error)}


# --- Settings: read once, validated ------------------------------------------


class Settings(NamedTuple):
    backup_account_id: str
    backup_region: str
    backup_region_alternate: str
    vault_name: str
    copy_role_arn: str
    new_delete_after_days: int = 7
    enable_copy: bool = True
    enable_shorten_retention: bool = True
    backups_to_cover: str = "all"
    catch_up_days: int = 7
    alert_after_hours: int = 24
    alert_topic_arn: str = ""  # empty: B's topic NamePrefix-Alerts
    error_queue_url: str = ""
    # Issue 13: copy n's (DeleteAfterDays or 0 = inherit, cold days or 0);
    # B's vaults' lock or air-gapped (min, max) retention, 0 = none.
    retention: tuple[tuple[int, int], ...] = ((0, 0), (0, 0), (0, 0))
    limits: tuple[int, int] = (0, 0)
    air_gapped: bool = False
    alerts_on: bool = False  # the stack has alerts: the sweep tells the topic of its gaps

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        """Settings from the variables the template sets (docs/CONTRACT.md);
        the first bad one raises SettingsError naming it and the fix."""

        def text(name: str, pattern: str, fix: str) -> str:
            value = environ.get(name, "")
            if not re.fullmatch(pattern, value):
                raise SettingsError(name, value, fix)
            return value

        def number(name: str, default: int, low: int, high: int) -> int:
            value = environ.get(name, str(default)).strip()
            if not value.isdigit() or not low <= int(value) <= high:
                raise SettingsError(name, value, f"set a whole number from {low} to {high}")
            return int(value)

        def choice(name: str, choices: tuple[str, ...]) -> str:
            value = environ.get(name, choices[0]).strip().lower()  # any letter case
            if value not in choices:
                raise SettingsError(name, value, "set " + " or ".join(choices))
            return value

        region = r"[a-z]{2}(-[a-z]+)+-\d{1,2}"
        return cls(
            text("BACKUP_ACCOUNT_ID", r"\d{12}", "set the backup account's 12-digit ID"),
            text("BACKUP_REGION", region, "set a region code such as us-west-2"),
            text("BACKUP_REGION_ALTERNATE", region, "set a region code such as us-east-1"),
            text("VAULT_NAME", r"[A-Za-z0-9_-]{2,50}", "set the watched vault's name"),
            text(
                "COPY_ROLE_ARN",
                r"arn:[a-z-]+:iam::\d{12}:role/\S+",
                "set the copy role's ARN (arn:aws:iam::ACCOUNT:role/NAME)",
            ),
            number("NEW_DELETE_AFTER_DAYS", 7, 1, MAXIMUM_DELETE_AFTER_DAYS),
            choice("ENABLE_COPY", BOOLEAN) == "true",
            choice("ENABLE_SHORTEN_RETENTION", BOOLEAN) == "true",
            choice("BACKUPS_TO_COVER", ("all", "on-demand", "scheduled")),
            number("CATCH_UP_DAYS", 7, 1, 365),
            number("ALERT_AFTER_HOURS", 24, 1, 8760),
            text(
                "ALERT_TOPIC_ARN",
                r"(arn:[a-z-]+:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256})?",
                "set an SNS topic's ARN, or leave it empty",
            ),
            text("ERROR_QUEUE_URL", r"(https://\S+)?", "set the error queue's URL"),
            ((0, 0),)
            + tuple(
                day_pair(
                    text(
                        f"COPY{n}_RETENTION",
                        r"inherit|"
                        r"\d{1,5}(/\d{1,5})?",
                        "set inherit, DAYS or DAYS/COLD",
                    )
                    if f"COPY{n}_RETENTION" in environ
                    else ""
                )
                for n in (1, 2)
            ),
            day_pair(
                text("BACKUP_VAULT_RETENTION", r"none|\d{0,5}-\d{0,5}", "set none or MIN-MAX days")
                if "BACKUP_VAULT_RETENTION" in environ
                else ""
            ),
            choice("BACKUP_VAULT_TYPE", ("standard", "air-gapped")) != "standard",
            choice("ALERTS_ON", BOOLEAN[::-1]) == "true",
        )


def day_pair(text: str) -> tuple[int, int]:
    """ "365/30" -> (365, 30); "-3650" -> (0, 3650); inherit, none -> (0, 0)"""
    parts = re.split("[/-]", text) + [""]
    return (int(parts[0] or 0) if parts[0].isdigit() else 0, int(parts[1] or 0) if parts[1].isdigit() else 0)


# --- AWS clients: one per process and region, created on first use --------


@functools.cache
def backup_client(region: str) -> Any:
    # 10 retries with backoff: a burst meets AWS Backup's rate limits (5 calls/s)
    return boto3.client(
        "backup", region_name=region, config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 10})
    )


def service_client(service: str, region: str) -> Any:
    """A client of another service (SQS, SNS for alerts; KMS, whose answers are kept per key)."""
    return boto3.client(service, region_name=region)


# --- Pure decisions --------------------------------------------------------


class Place:
    """Where this function runs, from its own ARN (partition, account), and
    the settings it runs with."""

    def __init__(self, partition: str, account: str, region: str, settings: Settings) -> None:
        self.partition, self.account, self.region = partition, account, region
        self.settings = settings
        self.in_backup_account = account == settings.backup_account_id
        self.watched_vault = self.vault_arn()
        self.backup_vault = self.vault_arn(account=settings.backup_account_id)

    @classmethod
    def of(cls, context: Any, settings: Settings) -> Place:
        arn = context.invoked_function_arn.split(":")
        return cls(arn[1], arn[4], os.environ.get("AWS_REGION", arn[3]), settings)

    def vault_arn(self, region: str | None = None, account: str | None = None) -> str:
        return (
            f"arn:{self.partition}:backup:{region or self.region}:"
            f"{account or self.account}:backup-vault:{self.settings.vault_name}"
        )


class Action(NamedTuple):
    name: str
    reason: str
    arguments: dict[str, Any] | None = None


def ignore(reason: str) -> Action:
    return Action("ignore", reason)


def backup_region_for(region: str, settings: Settings) -> str:
    """Copy 2 goes to the backup region, or to the alternate from there."""
    if region == settings.backup_region:
        return settings.backup_region_alternate
    return settings.backup_region


def idempotency_token(source_recovery_point_arn: str, destination_vault_arn: str, attempt: int = 0) -> str:
    """Same copy, same token: a duplicate delivery starts no second job.
    32 hex characters, whatever the lengths of the ARNs."""
    name = f"{source_recovery_point_arn} {destination_vault_arn}"
    if attempt:
        name = f"{name} {attempt}"
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def copy_arguments(
    place: Place, recovery_point_arn: str, destination_vault_arn: str, attempt: int = 0
) -> dict[str, Any]:
    return {
        "RecoveryPointArn": recovery_point_arn,
        "SourceBackupVaultName": place.settings.vault_name,
        "DestinationBackupVaultArn": destination_vault_arn,
        "IamRoleArn": place.settings.copy_role_arn,
        "IdempotencyToken": idempotency_token(recovery_point_arn, destination_vault_arn, attempt),
    }


def plan_of(created_by: Any) -> Any:
    """The backup plan ARN in a CreatedBy (API) or createdBy (event) object.
    Plan-created backups carry it, on-demand ones don't (docs/AWS-BEHAVIOUR.md §1.3, §1.7)."""
    if not isinstance(created_by, dict):
        return None
    return created_by.get("BackupPlanArn") or created_by.get("backupPlanArn")


def not_covered(settings: Settings) -> str:
    return f"original not covered (BACKUPS_TO_COVER={settings.backups_to_cover})"


def is_covered(original_created_by: Any, settings: Settings) -> bool:
    """BackupsToCover, decided on the ORIGINAL recovery point's own CreatedBy."""
    if settings.backups_to_cover == "on-demand":
        return not plan_of(original_created_by)
    if settings.backups_to_cover == "scheduled":
        return bool(plan_of(original_created_by))
    return True


S3_PERIODIC_ID = re.compile(r"-\d{14}-[^-:/]+$")


def is_continuous(arn: str, resource_type: Any) -> bool:
    """Continuous (point-in-time) recovery points: ":continuous:" in the ARN
    (RDS and others), or an S3 recovery point whose ID has no 14-digit
    timestamp (S3 periodic: bucket-YYYYMMDDhhmmss-suffix) (docs/AWS-BEHAVIOUR.md §2.1, §15)."""
    if ":continuous:" in arn:
        return True
    return resource_type == "S3" and ":recovery-point:" in arn and not S3_PERIODIC_ID.search(arn)


def first_resource(event: Event) -> str:
    # The recovery point ARN is only in resources[0] (docs/AWS-BEHAVIOUR.md §1.3, §1.4).
    resources = event.get("resources")
    if not resources or not isinstance(resources[0], str) or not resources[0]:
        raise BadEvent("event has no resources[0] (recovery point ARN)")
    return resources[0]


def decide(event: Event, place: Place) -> Action:
    """What to do with an event, as an Action (no AWS call here)."""
    if not isinstance(event, dict) or not isinstance(event.get("detail"), dict):
        raise BadEvent("not an EventBridge event: no detail object")
    kind = (event.get("source"), event.get("detail-type"))
    if kind == ("aws.events", "Scheduled Event"):
        return Action("sweep", "daily catch-up sweep")
    if kind == ("aws.backup", "Backup Job State Change"):
        return decide_backup_job(event, place)
    if kind == ("aws.backup", "Copy Job State Change"):
        return decide_copy_job(event, place)
    if kind == ("aws.cloudwatch", "CloudWatch Alarm State Change"):
        return decide_alarm(event)
    return ignore(f"not an event this function handles: {kind}")


def decide_backup_job(event: Event, place: Place) -> Action:
    detail, settings = event["detail"], place.settings
    if detail.get("state") != "COMPLETED":
        return ignore(f"backup job state {detail.get('state')}")
    if place.in_backup_account or not settings.enable_copy:
        return ignore("copying from this account is off")
    if detail.get("vaultType", "BACKUP_VAULT") != "BACKUP_VAULT":
        # Written straight into a LAG vault (or its temporary snapshot):
        # AWS Backup manages those copies itself (docs/AWS-BEHAVIOUR.md §15).
        return ignore("backup for a logically air-gapped vault")
    if detail.get("backupVaultArn") != place.watched_vault:
        return ignore("backup in another vault")
    if detail.get("parentJobId"):
        # Copying the composite (parent) copies its nested backups
        # (docs/AWS-BEHAVIOUR.md §15).
        return ignore("part of a composite backup: copied with its parent")
    arn = first_resource(event)
    if is_continuous(arn, detail.get("resourceType")):
        # StartCopyJob refuses continuous backups (docs/AWS-BEHAVIOUR.md §3.1, §15).
        return ignore("continuous backup: AWS copies it only by a plan's copy action")
    # The backup job made this recovery point: its createdBy is the original's.
    if not is_covered(detail.get("createdBy"), settings):
        return ignore(not_covered(settings))
    return Action("copy_to_backup_account", "backup completed", copy_arguments(place, arn, place.backup_vault))


def decide_copy_job(event: Event, place: Place) -> Action:
    detail, settings = event["detail"], place.settings
    if detail.get("state") != "COMPLETED":
        return ignore(f"copy job state {detail.get('state')}")
    if detail.get("destinationBackupVaultArn") != place.backup_vault:
        return ignore("copy not to the backup account's vault in this region")
    if plan_of(detail.get("createdBy")) or detail.get("createdByBackupJobId"):
        # A plan's copy action (or AWS's own copy for a LAG vault) made it:
        # the plan decides its retention and its copies, not us.
        return ignore("copy made by a backup plan, not by this function")
    copy = detail.get("destinationRecoveryPointArn")
    if place.in_backup_account:
        if not settings.enable_copy:
            return ignore("copying is off")
        if detail.get("parentJobId"):
            return ignore("part of a composite copy: copied with its parent")
        # Act only on a recovery point in our own vault, here.
        if not isinstance(copy, str) or copy.split(":")[3:4] != [place.region]:
            raise BadEvent("destinationRecoveryPointArn is not a recovery point in this region")
        return Action(
            "copy_to_backup_region",
            "copy 1 completed",
            copy_arguments(place, copy, place.vault_arn(region=backup_region_for(place.region, settings))),
        )
    if detail.get("sourceBackupVaultArn") != place.watched_vault:
        return ignore("copy from another vault")
    if not settings.enable_shorten_retention:
        return ignore("shortening retention is off")
    if not isinstance(copy, str) or not copy:
        # Safety: shorten only once the cross-account copy surely exists.
        raise BadEvent("COMPLETED copy without destinationRecoveryPointArn")
    return Action(
        "shorten_retention",
        "cross-account copy completed",
        {"BackupVaultName": settings.vault_name, "RecoveryPointArn": first_resource(event)},
    )


def whole_days_old(created: datetime.datetime, at: datetime.datetime) -> int:
    """Age in UTC whole days at `at`; the creation day counts as day 1."""
    return (at.astimezone(UTC).date() - created.astimezone(UTC).date()).days + 1


def is_set(days: Any) -> bool:
    return days is not None and days >= 0


def keeps_cold_transition(recovery_point: dict[str, Any], at: datetime.datetime) -> bool:
    """A backup that is cold, or whose transition is due within the margin either
    side of now (it may be under way), keeps its cold setting and the 90 days
    (docs/AWS-BEHAVIOUR.md §16). One still WARM past the margin won't go cold (AWS
    ignores the setting for types without cold storage, §16.2): cancel it."""
    cold = (recovery_point.get("Lifecycle") or {}).get("MoveToColdStorageAfterDays")
    if cold is None or cold < 0:
        return False
    due = recovery_point["CreationDate"] + datetime.timedelta(days=cold)
    return recovery_point.get("StorageClass") == "COLD" or abs(due - at) <= COLD_TRANSITION_MARGIN


def new_lifecycle(
    recovery_point: dict[str, Any], at: datetime.datetime, new_delete_after_days: int, lock_minimum_days: int | None
) -> tuple[dict[str, Any] | None, str]:
    """The lifecycle that shortens retention safely at `at`, or (None, why not).

    new DeleteAfterDays = max(age, NewDeleteAfterDays, 1, vault lock minimum,
    cold + 90 if the cold transition is kept) + 1 day of margin, never longer
    than now. A WARM backup's transition not due within the margin is
    cancelled: the update replaces the whole lifecycle, so leaving
    MoveToColdStorageAfterDays out cancels it (docs/AWS-BEHAVIOUR.md §3.2, §16).
    """
    if recovery_point.get("StorageClass") == "DELETED" or recovery_point.get("Status") in ("DELETING", "EXPIRED"):
        return None, "recovery point deleted or being deleted"
    if is_continuous(recovery_point["RecoveryPointArn"], recovery_point.get("ResourceType")):
        # UpdateRecoveryPointLifecycle does not support continuous backups.
        return None, "continuous backup"
    current = recovery_point.get("Lifecycle") or {}
    if current.get("DeleteAfterEvent"):
        # AWS deletes it after its copy, or at DeleteAfterDays, whichever comes first
        # (docs/AWS-BEHAVIOUR.md §3.2): ours to leave alone, as it is sooner than ours.
        return None, f"AWS deletes it at an event ({current['DeleteAfterEvent']})"
    floor = max(whole_days_old(recovery_point["CreationDate"], at), new_delete_after_days, 1, lock_minimum_days or 0)
    lifecycle: dict[str, Any] = {}
    if keeps_cold_transition(recovery_point, at):
        cold = current["MoveToColdStorageAfterDays"]
        floor = max(floor, cold + COLD_STORAGE_MINIMUM_DAYS)
        lifecycle["MoveToColdStorageAfterDays"] = cold
        if "OptInToArchiveForSupportedResources" in current:
            lifecycle["OptInToArchiveForSupportedResources"] = current["OptInToArchiveForSupportedResources"]
    lifecycle["DeleteAfterDays"] = floor + 1
    if is_set(current.get("DeleteAfterDays")) and (lifecycle["DeleteAfterDays"] >= current["DeleteAfterDays"]):
        return None, "retention already at most the new value (never lengthen)"
    if lifecycle["DeleteAfterDays"] > MAXIMUM_DELETE_AFTER_DAYS:
        return None, "new retention above the AWS maximum"
    return lifecycle, "shorten retention"


def json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items() if key != "ResponseMetadata"}
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


# --- Catch-up sweep: pure parts ----------------------------------------------


def sweep_destination(place: Place) -> str:
    if place.in_backup_account:
        return place.vault_arn(region=backup_region_for(place.region, place.settings))
    return place.backup_vault


def is_ours_to_copy(point: dict[str, Any], place: Place) -> bool:
    """R copies its covered originals; B copies copies 1 (same region, other
    account) whose CreatedBy (the original's, copied with it) is covered.

    SourceBackupVaultArn is empty for an original (docs/AWS-BEHAVIOUR.md §3.3); requiring copy 1's
    source to be in this region keeps copies 2 from being re-copied.
    """
    if not is_covered(point.get("CreatedBy"), place.settings):
        return False
    source = point.get("SourceBackupVaultArn")
    if not place.in_backup_account:
        # In R, a backup AWS keeps in a LAG vault is AWS's to manage (§15);
        # B's vault may be a LAG vault: its copies 1 still get copy 2.
        return not source and point.get("VaultType", "BACKUP_VAULT") == "BACKUP_VAULT"
    parts = (source or "").split(":")
    return len(parts) > 4 and parts[3] == place.region and parts[4] != place.account


def fix_for(code: Any) -> str:
    """What to do about a failed sweep action, in one line."""
    return {
        "AccessDeniedException": "check the role, the vault access policy and the key policy",
        "ThrottlingException": "none: AWS was busy; the next sweep retries it",
        "InvalidParameterValueException": "AWS refuses this recovery point: see the message",
        "ResourceNotFoundException": "none if it was deleted; else check the vault",
    }.get(code, "see the message; the next sweep retries it")


def sweep_actions(
    points: list[dict[str, Any]], copy_job_states: dict[str, list[str]], place: Place, at: datetime.datetime
) -> list[Action]:
    """Pure: what the sweep must start or apply, given what exists at `at`.

    copy_job_states maps a source recovery point ARN to the states of our
    copy jobs to this sweep's destination. A listed recovery point carries
    its lifecycle, so only those whose retention still needs shortening cost
    a DescribeRecoveryPoint.
    """
    settings = place.settings
    destination = sweep_destination(place)
    actions = []
    for point in points:
        arn = point["RecoveryPointArn"]
        if point.get("Status") not in ("COMPLETED", "AVAILABLE") or (
            is_continuous(arn, point.get("ResourceType"))
            or (point.get("Lifecycle") or {}).get("DeleteAfterEvent")  # AWS's own, deleted after its copy
            or not is_ours_to_copy(point, place)
        ):
            continue
        states = copy_job_states.get(arn, [])
        if "COMPLETED" in states:
            if (
                not place.in_backup_account
                and settings.enable_shorten_retention
                and new_lifecycle(point, at, settings.new_delete_after_days, 0)[0]
            ):
                actions.append(
                    Action(
                        "shorten_retention",
                        "copy exists",
                        {"BackupVaultName": settings.vault_name, "RecoveryPointArn": arn},
                    )
                )
        elif (
            settings.enable_copy
            and not {"CREATED", "RUNNING"} & set(states)
            and not point.get("ParentRecoveryPointArn")
        ):
            # A nested point is copied with its composite parent
            # (docs/AWS-BEHAVIOUR.md §15). A failed copy is retried under a new
            # token: AWS answers a reused token with "success, no action" (§3.1).
            actions.append(Action("copy", "copy missing", copy_arguments(place, arn, destination, attempt=len(states))))
    return actions


def sweep_inputs(place: Place, client: Any, at: datetime.datetime) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """What exists: the watched vault's recovery points of the last
    CATCH_UP_DAYS days, and the states of our copy jobs to the sweep's
    destination (a plan's copy jobs are not ours)."""
    since = at - datetime.timedelta(days=place.settings.catch_up_days)
    states: dict[str, list[str]] = {}
    for page in client.get_paginator("list_copy_jobs").paginate(
        ByDestinationVaultArn=sweep_destination(place), ByCreatedAfter=since
    ):
        for job in page.get("CopyJobs", []):
            if not plan_of(job.get("CreatedBy")):
                states.setdefault(job["SourceRecoveryPointArn"], []).append(job["State"])
    points = [
        point
        for page in client.get_paginator("list_recovery_points_by_backup_vault").paginate(
            BackupVaultName=place.settings.vault_name, ByCreatedAfter=since
        )
        for point in page.get("RecoveryPoints", [])
    ]
    return points, states


# §4.3; backup-events redrive explains failed copies in these words too.
KEY_FIX = (
    "Fix: encrypt the resource with a customer managed key whose "
    "policy admits the backup account, then back it up again"
)
AWS_MANAGED_KEY = "{} backups keep the resource's key, and an AWS managed key can't leave its account. " + KEY_FIX


# --- Alerts and coverage (issue 12) -----------------------------------------
# Every failure lands in the instance's error queue; an alarm on what arrives
# there invokes the function (decide_alarm), which reads (never deletes) up to
# 10 messages and tells the one alert topic, in plain words with the fix.
# `backup-events redrive` shows the same explanations (explain_failure).

# Copy failure messages (docs/AWS-BEHAVIOUR.md §4.4), matched by substring.
KNOWN_FAILURES = [
    ("same organization", "put both accounts in the organization OrgId"),
    ("not supported for provided resource type", "this type can't copy across accounts and regions at once"),
    (
        "on the default CMK",
        "the AMI is encrypted with the default (AWS managed) key, which can't leave its account. " + KEY_FIX,
    ),
    (
        "Given key ID is not accessible",
        "the source's key doesn't admit the backup account, or is "
        "AWS managed (aws/ebs...) and can't leave its account. " + KEY_FIX + " ('backup-events "
        "preflight' names a missing key policy statement)",
    ),
    (
        "KMS key does not exist, is not enabled",
        "the source snapshot's key is disabled, or doesn't "
        "admit the backup account, or is AWS managed (aws/rds). " + KEY_FIX,
    ),
    (
        "outside the range allowed by the destination backup vault",
        "the copy's retention is "
        "outside the backup vault's Vault Lock or air-gapped limits: set BackupVaultRetention to "
        "those limits and Copy1Retention/Copy2Retention within them",
    ),
    (
        "Access Denied trying to call AWS Backup",
        "the backup account's vault access policy must Allow backup:CopyIntoBackupVault: redeploy it",
    ),
    ("while trying to list tags", "let the copy role list tags"),
    ("requires a target option group", "create the RDS option group in the destination region"),
    ("Source AMI not found in Region", "EC2 Allowed AMIs: allow the source account's images"),
    ("Failed to unshare snapshot", "restore the copy role (deleted mid-copy)"),
    (
        "cannot be assumed by AWS Backup",
        "create the copy role CopyRoleName in this account, "
        "trusting backup.amazonaws.com ('backup-events preflight' checks it)",
    ),
]
# A rule's dead letter: its ERROR_CODE (docs/AWS-BEHAVIOUR.md §5.4) -> fix.
REDEPLOY = "EventBridge can't reach the target: redeploy the stack"
DEAD_LETTER_FIXES = {
    "CROSS_ACCOUNT_INGESTION_FAILED": "the backup account's bus policy must "
    "admit this organization: redeploy its stacks with the same OrgId"
}
FAILED_STATES = ("FAILED", "ABORTED", "EXPIRED", "PARTIAL")


def likely_fix(status: str) -> str:
    return next(
        (fix for part, fix in KNOWN_FAILURES if part.lower() in status.lower()),
        "fix the cause (roles, vault policies, KMS keys), then re-submit",
    )


def describe_event(event: Event) -> str:
    if not isinstance(event, dict):
        return "an event"
    detail = event.get("detail")
    detail = detail if isinstance(detail, dict) else {}
    return " ".join(
        str(word)
        for word in (
            event.get("detail-type") or "event",
            detail.get("state"),
            event.get("resources") and f"of {event['resources'][0]}",
            event.get("id") and f"(event {event['id']})",
        )
        if word
    )


def explain_failure(body: Any, attributes: Mapping[str, Any]) -> tuple[str, str, str]:
    """Pure: (kind, summary, fix) of an error-queue message: a rule's dead
    letter, a Lambda on-failure record, a failed job event, or unknown."""
    code = attributes.get("ERROR_CODE")
    detail = body.get("detail") if isinstance(body, dict) else None
    if code:
        return (
            "dead-letter",
            (
                f"EventBridge could not deliver {describe_event(body)} to "
                f"{attributes.get('TARGET_ARN')} ({code}: {attributes.get('ERROR_MESSAGE')})"
            ),
            DEAD_LETTER_FIXES.get(code, REDEPLOY),
        )
    if isinstance(body, dict) and "requestPayload" in body:
        context, error = body.get("requestContext") or {}, body.get("responsePayload") or {}
        return (
            "function-error",
            (
                f"the function failed {context.get('approximateInvokeCount')} "
                f"time(s) ({context.get('condition')}) on {describe_event(body['requestPayload'])}: "
                f"{error.get('errorType')}: {error.get('errorMessage')}"
            ),
            (
                # A copy the function refused (one AWS would refuse): its message ends with the fix.
                str(error["errorMessage"]).split("Fix: ", 1)[1] + "; then re-submit"
                if error.get("errorType") == "CopyRefused" and "Fix: " in str(error.get("errorMessage"))
                else likely_fix(str(error.get("errorMessage") or ""))
            ),
        )
    if isinstance(detail, dict) and detail.get("state") in FAILED_STATES:
        status = str(detail.get("statusMessage") or "no status message").strip('" ')
        return (
            "job-failed",
            (f"{body.get('detail-type')} {detail['state']}: {status} ({describe_event(body)})"),
            likely_fix(status),
        )
    return "unknown", f"unrecognised: {str(body)[:200]}", "read it, delete it once dealt with"


def decide_alarm(event: Event) -> Action:
    """Only CloudWatch puts aws.cloudwatch events, and the rule admits only
    this stack's alarm (docs/AWS-BEHAVIOUR.md §18); alerting only reads our
    queue and publishes: a forged event can at worst cause a false alert."""
    state = event["detail"].get("state") or {}
    if state.get("value") != "ALARM":
        return ignore("alarm not in ALARM")
    return Action("alert", "alarm went off", {"since": state.get("timestamp")})


def alert_text(place: Place, since: Any, messages: list[dict[str, Any]]) -> tuple[str, str]:
    """Pure: (subject, text) of the alert for these error-queue messages."""
    lines = [
        f"Failures in account {place.account}, region {place.region}, "
        f"vault {place.settings.vault_name}, since {since}. In its error queue:"
    ]
    kinds: list[str] = []
    for message in messages:
        try:
            body = json.loads(message["Body"])
        except ValueError:
            body = message["Body"]
        kind, summary, fix = explain_failure(
            body, {key: value.get("StringValue") for key, value in (message.get("MessageAttributes") or {}).items()}
        )
        kinds.append(kind)
        lines += ["", f"[{kind}] {summary}", f"Likely fix: {fix}"]
    lines += [
        "",
        f"{len(kinds)} read: " + ", ".join(f"{kinds.count(kind)} {kind}" for kind in sorted(set(kinds))),
        f"Once fixed: backup-events redrive --region {place.region} --yes, as {place.account}",
    ]
    return f"Backup Events: failures in {place.account} {place.region}", "\n".join(lines)


# The sweep's gap alert names this many gaps, then counts the rest: 1,000
# gaps still make one message far below SNS's 256 KB (docs/AWS-BEHAVIOUR.md §18.2).
GAP_ALERT_ROWS = 20


def gap_fix(row: dict[str, Any], started: Any, settings: Settings) -> str:
    """What to do about one gap, by its copy's state."""
    if row["recovery_point"] in started:
        return "none yet: the sweep started its copy now"
    if row["copy"] == "RUNNING":
        return "none if its copy job completes (a big backup takes long); if it fails, the error-queue alert says why"
    if row["copy"] == "NONE":
        return (
            "the sweep's sweep_action_failed log line says why it could not start the copy"
            if settings.enable_copy
            else "copying is paused: set EnableCopy to true"
        )
    return "the error-queue alert says why the copy failed (and backup-events redrive); the next sweep retries it"


def gap_alert_text(place: Place, rows: list[dict[str, Any]], started: Any = ()) -> tuple[str, str]:
    """Pure: (subject, text) of the sweep's alert for the gaps among `rows` (coverage()),
    the first GAP_ALERT_ROWS by name; `started`: the points whose copy the sweep just started."""
    gaps = [row for row in rows if row["gap"]]
    copy = "copy 2" if place.in_backup_account else "copy 1"
    lines = [
        f"{len(gaps)} backup(s) in account {place.account}, region {place.region}, vault "
        f"{place.settings.vault_name} have no completed {copy} after "
        f"{place.settings.alert_after_hours} h (AlertAfterHours):"
    ]
    for row in gaps[:GAP_ALERT_ROWS]:
        lines += [
            "",
            f"[gap] {row['recovery_point']}: {row['age_hours']} h old, {copy} {row['copy']}",
            "Likely fix: " + gap_fix(row, started, place.settings),
        ]
    if len(gaps) > GAP_ALERT_ROWS:
        lines += ["", f"... and {len(gaps) - GAP_ALERT_ROWS} more gap(s)"]
    lines += ["", f"All of them: backup-events status --region {place.region}, as {place.account}"]
    return f"Backup Events: {len(gaps)} copy gap(s) in {place.account} {place.region}", "\n".join(lines)


def coverage(
    points: list[dict[str, Any]], copy_job_states: dict[str, list[str]], place: Place, at: datetime.datetime
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Pure: (rows, counts), one rule for the sweep's metrics and `backup-events
    status`. R: its originals, their copy 1 and shortening; B: its copies 1
    and their copy 2. A gap: no completed copy after ALERT_AFTER_HOURS."""
    settings, rows = place.settings, []
    for point in points:
        arn = point["RecoveryPointArn"]
        if point.get("Status") not in ("COMPLETED", "AVAILABLE") or (
            is_continuous(arn, point.get("ResourceType")) or not is_ours_to_copy(point, place)
        ):
            continue
        states = copy_job_states.get(arn, [])
        copy = (
            "COMPLETED"
            if "COMPLETED" in states
            else "RUNNING"
            if {"CREATED", "RUNNING"} & set(states)
            else (states or ["NONE"])[-1]
        )
        age = (at - point["CreationDate"]).total_seconds() / 3600
        rows.append(
            {
                "recovery_point": arn,
                "age_hours": round(age, 1),
                "copy": copy,
                "gap": copy != "COMPLETED" and age >= settings.alert_after_hours,
                "awaiting_shortening": not place.in_backup_account
                and copy == "COMPLETED"
                and settings.enable_shorten_retention
                and bool(new_lifecycle(point, at, settings.new_delete_after_days, 0)[0]),
            }
        )
    return rows, {
        "Copies1" if place.in_backup_account else "Originals": len(rows),
        "CopyGaps": sum(row["gap"] for row in rows),
        "AwaitingShortening": sum(row["awaiting_shortening"] for row in rows),
    }


def emit_metrics(place: Place, at: datetime.datetime, values: dict[str, int]) -> None:
    """One Embedded Metric Format line: CloudWatch Logs makes the metrics, no
    API call and no permission needed. Printed: Lambda writes stdout as it
    is, where its JSON log format would nest a logger's record
    (docs/AWS-BEHAVIOUR.md §18)."""
    print(
        json.dumps(
            {
                "_aws": {
                    "Timestamp": int(at.timestamp() * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": "BackupEvents",
                            "Dimensions": [["Account", "Region", "Vault"]],
                            "Metrics": [{"Name": name, "Unit": "Count"} for name in values],
                        }
                    ],
                },
                "Account": place.account,
                "Region": place.region,
                "Vault": place.settings.vault_name,
                **values,
            }
        ),
        flush=True,
    )


# --- Destinations (issue 13): copies' retention, air-gapped, keys ---------


class CopyRefused(ValueError):
    """A copy AWS would refuse: why, then the fix."""


# docs/AWS-BEHAVIOUR.md §16.2: copies that can go cold; §15.3: the types an
# air-gapped vault takes (documented ones), and not across regions.
COLD_TYPES = {"EFS", "DynamoDB", "Timestream", "VirtualMachine", "CloudFormation", "SAP HANA on Amazon EC2"}
AIR_GAPPED_TYPES = {"EBS", "EC2", "EFS", "S3", "RDS", "Aurora", "DocumentDB", "Neptune", "Storage Gateway", "FSx"}
ONE_REGION_TYPES = {"Aurora", "DocumentDB", "Neptune"}


def copy_lifecycle(
    source: Any, resource_type: Any, copy: int, retention: tuple[int, int], limits: tuple[int, int], age: int = 1
) -> tuple[dict[str, int] | None, str | None]:
    """(Lifecycle, or None: inherit `source`'s; refusal or None). A copy
    keeps the source's creation date; a locked or air-gapped vault fails
    copies kept under its minimum or over its maximum (§17.3)."""
    delete, cold = retention
    low, high = limits
    name = f"Copy{copy}Retention"
    keep = (source or {}).get("DeleteAfterDays")
    lifecycle = None
    if delete:
        keep, lifecycle = delete, {"DeleteAfterDays": delete}
        if cold and resource_type in COLD_TYPES:
            if delete < cold + COLD_STORAGE_MINIMUM_DAYS:
                return None, (f"cold copies stay cold 90 days. Fix: in {name} DAYS/COLD, make DAYS at least COLD + 90")
            lifecycle["MoveToColdStorageAfterDays"] = cold
        if delete < age:
            return None, (f"it would expire at once: created {age} days ago. Fix: raise the days of {name}")
    elif keep is not None and keep < 0:
        keep = None  # never expires
    if (low and keep is not None and keep < low) or (high and (keep is None or keep > high)):
        return None, (
            f"it would be kept {keep or 'forever'} days, outside "
            f"the backup vault's {low or 1}..{high or 36500} (Vault "
            f"Lock or air-gapped). Fix: set {name} to days within them"
        )
    return lifecycle, None


def air_gap_refusal(resource_type: Any, copy: int, air_gapped: bool) -> str | None:
    """Why AWS can't copy this type into air-gapped vaults, or None (§15.3)."""
    if not air_gapped:
        return None
    if resource_type not in AIR_GAPPED_TYPES:
        return (
            f"air-gapped vaults don't take {resource_type} backups. Fix: "
            "keep them out of the watched vault, or use BackupVaultType "
            "standard (with Vault Lock)"
        )
    if copy == 2 and resource_type in ONE_REGION_TYPES:
        return (
            f"{resource_type} can't be copied across regions to or from "
            "an air-gapped vault. Fix: use BackupVaultType standard"
        )
    return None


def key_refusal(point: dict[str, Any], key_manager: Any) -> str | None:
    """Why copy 1 (cross-account) fails for the source's key, or None: types
    not fully managed keep their resource's key (§2.2, §4.3)."""
    if point["RecoveryPointArn"].split(":")[2] == "backup" or (key_manager != "AWS"):
        return None
    return AWS_MANAGED_KEY.format(point.get("ResourceType"))


# --- The function: AWS calls, thin -------------------------------------------


class BackupEvents:
    """The Lambda handler: call it with (event, context)."""

    def __init__(
        self,
        settings: Settings,
        clients: Callable[[str], Any] = backup_client,
        clock: Clock = utc_now,
        sleep: Callable[[float], Any] = time.sleep,
        services: Callable[[str, str], Any] = service_client,
    ) -> None:
        self.settings, self.clients, self.clock, self.sleep = settings, clients, clock, sleep
        self.services = services
        self.key_managers: dict[str, str] = {}
        self.vault_locks: dict[str, tuple[datetime.datetime, tuple[bool, int | None]]] = {}
        self.places: dict[str, Place] = {}  # by function ARN: parsed once
        self.gap_alerted: set[Any] = set()  # the sweep events whose gap alert went out
        self.remaining_ms: Callable[[], int] | None = None  # the invocation's clock, if it has one
        self.handlers: dict[str, Callable[[Place, Any, Event], dict[str, Any]]] = {
            "copy_to_backup_account": self.copy,
            # Copy 2: copy 1 exists only because R found its original covered
            # (the copy-job event says nothing of the original; reading copy 1
            # would need DescribeRecoveryPoint in B): it follows copy 1.
            "copy_to_backup_region": self.copy,
            "shorten_retention": self.shorten,
            "sweep": self.sweep,
            "alert": self.alert,
        }

    def __call__(self, event: Event, context: Any) -> dict[str, Any]:
        self.remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        try:
            place = self.places.get(context.invoked_function_arn)
            if place is None:
                place = self.places[context.invoked_function_arn] = Place.of(context, self.settings)
            action = decide(event, place)
            if action.name == "ignore":
                log(logging.INFO, "ignored", event, reason=action.reason)
                return {"action": "ignore", "reason": action.reason}
            log(logging.DEBUG, "decision", event, action=action.name, reason=action.reason, arguments=action.arguments)
            handler = self.handlers.get(action.name)
            if handler is None:
                raise ValueError(f"no handler for action {action.name!r}")
            # Only JSON-safe values: Lambda must serialise what we return.
            return dict(handler(place, action.arguments, event), action=action.name)
        except Exception as error:
            # One ERROR line, then raise: Lambda retries, then the on-failure
            # destination records the event in the error queue.
            log(
                logging.ERROR,
                "error",
                event,
                **error_fields(error),
                event_detail_type=event.get("detail-type") if isinstance(event, dict) else None,
            )
            raise

    def key_manager(self, place: Place, key_arn: Any) -> Any:
        """AWS or CUSTOMER; None: no key, another account's (never AWS
        managed) or not readable (AWS decides). Read once per key."""
        if not key_arn or key_arn.split(":")[4] != place.account:
            return None
        if ":alias/aws/" in key_arn:
            return "AWS"
        if key_arn not in self.key_managers:
            try:
                self.key_managers[key_arn] = (
                    self.services("kms", place.region).describe_key(KeyId=key_arn)["KeyMetadata"].get("KeyManager")
                )
            except botocore.exceptions.ClientError:
                return None
        return self.key_managers[key_arn]

    def plan_copy(
        self, place: Place, arguments: dict[str, Any], resource_type: Any, point: Any = None
    ) -> dict[str, Any]:
        """StartCopyJob's arguments with the copy's Lifecycle, or CopyRefused.
        R reads the source (a type not fully managed, or inheriting into
        limits); B never does: copy 1 passed R's checks, the event names the type."""
        settings, copy = place.settings, 2 if place.in_backup_account else 1
        arn = arguments["RecoveryPointArn"]
        if (
            point is None
            and copy == 1
            and (
                arn.split(":")[2] != "backup"
                or (settings.air_gapped and not resource_type)
                or (not settings.retention[1][0] and any(settings.limits))
            )
        ):
            point = self.clients(place.region).describe_recovery_point(
                BackupVaultName=settings.vault_name, RecoveryPointArn=arn
            )
        known, point = point is not None, point or {"RecoveryPointArn": arn}
        resource_type = point.get("ResourceType") or resource_type
        refusal = air_gap_refusal(resource_type, copy, settings.air_gapped) or (
            copy == 1 and key_refusal(point, self.key_manager(place, point.get("EncryptionKeyArn")))
        )
        lifecycle = None
        if not refusal and (known or settings.retention[copy][0]):
            lifecycle, refusal = copy_lifecycle(
                point.get("Lifecycle"),
                resource_type,
                copy,
                settings.retention[copy],
                settings.limits,
                whole_days_old(point.get("CreationDate", self.clock()), self.clock()),
            )
        if refusal:
            raise CopyRefused(f"copy {copy} of {arn} not started: {refusal}")
        return dict(arguments, Lifecycle=lifecycle) if lifecycle else arguments

    def start_copy(self, place: Place, arguments: dict[str, Any], event: Event, point: Any = None) -> Any:
        detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
        arguments = self.plan_copy(place, arguments, detail.get("resourceType"), point)
        response = self.clients(place.region).start_copy_job(**arguments)
        # A replayed token's answer may omit CopyJobId (docs/AWS-BEHAVIOUR.md §3.1): the log line
        # shows the response as it came; the id is then None.
        log(logging.INFO, "aws_call", event, call="StartCopyJob", request=arguments, response=json_safe(response))
        return response.get("CopyJobId")

    def copy(self, place: Place, arguments: Any, event: Event) -> dict[str, Any]:
        return {"copy_job_id": self.start_copy(place, arguments, event)}

    def vault_lock(self, place: Place, client: Any) -> tuple[bool, int | None]:
        """(Vault Lock on?, its or the LAG vault's minimum) of the watched vault, re-read
        every 5 minutes: a lock may be added at any time."""
        now = self.clock()
        read_at, lock = self.vault_locks.get(place.region, (None, (False, None)))
        if read_at is None or now - read_at > VAULT_LOCK_MAX_AGE:
            vault = client.describe_backup_vault(BackupVaultName=place.settings.vault_name)
            lock = (bool(vault.get("Locked")), vault.get("MinRetentionDays"))
            self.vault_locks[place.region] = (now, lock)
        return lock

    def shorten_retention(self, place: Place, arguments: dict[str, Any], event: Event) -> dict[str, Any] | None:
        client = self.clients(place.region)
        point = client.describe_recovery_point(**arguments)
        lifecycle, reason = None, not_covered(place.settings)
        if is_covered(point.get("CreatedBy"), place.settings):
            locked, minimum = self.vault_lock(place, client)
            # Vault Lock prevents lifecycle updates of the points in its vault
            # (docs/AWS-BEHAVIOUR.md §17.1, §19 item 12): keep the retention.
            lifecycle, reason = (
                (None, "the watched vault has Vault Lock: its retention can't be changed")
                if locked
                else new_lifecycle(point, self.clock(), place.settings.new_delete_after_days, minimum)
            )
        if lifecycle is None:
            log(
                logging.INFO,
                "no_change",
                event,
                action="shorten_retention",
                reason=reason,
                recovery_point=arguments["RecoveryPointArn"],
                lifecycle=point.get("Lifecycle"),
            )
            return None
        request = dict(arguments, Lifecycle=lifecycle)
        response = client.update_recovery_point_lifecycle(**request)
        log(
            logging.INFO,
            "aws_call",
            event,
            call="UpdateRecoveryPointLifecycle",
            request=request,
            previous=point.get("Lifecycle"),
            response=json_safe(response),
        )
        before = (point.get("Lifecycle") or {}).get("DeleteAfterDays")
        emit_metrics(
            place,
            self.clock(),
            {
                "OriginalsShortened": 1,
                "StorageDaysRemoved": (before - lifecycle["DeleteAfterDays"] if is_set(before) else 0),
            },
        )
        return lifecycle

    def shorten(self, place: Place, arguments: Any, event: Event) -> dict[str, Any]:
        return {"lifecycle": self.shorten_retention(place, arguments, event)}

    def sweep(self, place: Place, arguments: Any, event: Event) -> dict[str, Any]:
        """Redo what lost events left undone in the last CATCH_UP_DAYS days.

        AWS Backup events are best effort (docs/AWS-BEHAVIOUR.md §1.1). Every
        action is tried, paced within AWS's rates; each failure is one ERROR line with its fix; if any
        failed, raise at the end so Lambda retries. A retry redoes nothing that
        succeeded: copies reuse their token, shortening never lengthens.
        """
        at = self.clock()
        points, states = sweep_inputs(place, self.clients(place.region), at)
        rows, counts = coverage(points, states, place, at)
        emit_metrics(place, at, counts)
        started = set()
        listed = {point["RecoveryPointArn"]: point for point in points}
        actions = sweep_actions(points, states, place, at)
        done = {"recovery_points": len(points), "copies_started": 0, "retention_checked": 0, "failed": 0}
        for number, action in enumerate(actions):
            if self.remaining_ms is not None and self.remaining_ms() < SWEEP_RESERVE_MS:
                done["not_reached"] = len(actions) - number
                break
            if number:
                self.sleep(SWEEP_SECONDS_PER_ACTION)
            assert action.arguments is not None
            try:
                if action.name == "copy":
                    self.start_copy(place, action.arguments, event, listed[action.arguments["RecoveryPointArn"]])
                    started.add(action.arguments["RecoveryPointArn"])
                    done["copies_started"] += 1
                else:
                    self.shorten_retention(place, action.arguments, event)
                    done["retention_checked"] += 1
            except Exception as error:  # each failure logged, then the next one
                done["failed"] += 1
                fields = error_fields(error)
                log(
                    logging.ERROR,
                    "sweep_action_failed",
                    event,
                    action=action.name,
                    recovery_point=action.arguments["RecoveryPointArn"],
                    fix=fix_for(fields["aws_error_code"]),
                    **fields,
                )
        # After the repairs: a failed publish loses none of them, and raises like a failed action.
        # Lambda's retry of a failed sweep (same event) on this warm instance doesn't repeat it.
        event_id = event.get("id") if isinstance(event, dict) else None
        if counts["CopyGaps"] and place.settings.alerts_on and event_id not in self.gap_alerted:
            try:
                self.publish(place, *gap_alert_text(place, rows, started), event)
                done["gaps_alerted"] = counts["CopyGaps"]
                self.gap_alerted.add(event_id)
            except Exception as error:
                done["gap_alert_failed"] = counts["CopyGaps"]
                log(
                    logging.ERROR,
                    "gap_alert_failed",
                    event,
                    fix="the alert topic's policy and its KMS key's policy must admit this function's role",
                    **error_fields(error),
                )
        log(logging.INFO, "sweep", event, result=done)
        if done["failed"] or done.get("not_reached") or "gap_alert_failed" in done:
            raise SweepIncomplete(
                f"{done['failed']} of {len(actions)} sweep actions failed"
                f"{', its gap alert too' if 'gap_alert_failed' in done else ''} (see the ERROR lines "
                f"before), {done.get('not_reached', 0)} not reached before the timeout; the rest are done"
            )
        return done

    def publish(self, place: Place, subject: str, text: str, event: Event) -> str:
        """Tell the alert topic: ALERT_TOPIC_ARN, else B's topic named after this function."""
        settings = place.settings
        topic = settings.alert_topic_arn or (
            f"arn:{place.partition}:sns:{settings.backup_region}:{settings.backup_account_id}:"
            f"{os.environ.get('AWS_LAMBDA_FUNCTION_NAME', 'BackupEvents')}-Alerts"
        )
        self.services("sns", topic.split(":")[3]).publish(TopicArn=topic, Subject=subject, Message=text)
        log(
            logging.INFO,
            "aws_call",
            event,
            call="Publish",
            request={"TopicArn": topic, "Subject": subject, "Message": text},
        )
        return topic

    def alert(self, place: Place, arguments: Any, event: Event) -> dict[str, Any]:
        """Read up to 10 messages of our own error queue (visible again at
        once: redrive still finds them), then publish one summary to the alert topic."""
        messages = (
            self.services("sqs", place.region)
            .receive_message(
                QueueUrl=place.settings.error_queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,
                WaitTimeSeconds=1,
                MessageAttributeNames=["All"],
            )
            .get("Messages", [])
        )
        topic = self.publish(place, *alert_text(place, arguments["since"], messages), event)
        return {"alerted": topic, "messages": len(messages)}


def build_function(
    environ: Mapping[str, str] | None = None,
    clients: Callable[[str], Any] = backup_client,
    clock: Clock = utc_now,
    sleep: Callable[[float], Any] = time.sleep,
    services: Callable[[str, str], Any] = service_client,
) -> BackupEvents:
    """The one way to make the handler. A bad setting: one ERROR line naming
    the variable and the fix, then SettingsError (the cold start fails)."""
    try:
        settings = Settings.from_environment(os.environ if environ is None else environ)
    except SettingsError as error:
        log(logging.ERROR, "bad_setting", None, variable=error.variable, value=error.value, fix=error.fix)
        raise
    return BackupEvents(settings, clients, clock, sleep, services)


_function: BackupEvents | None = None


def lambda_handler(event: Event, context: Any) -> dict[str, Any]:
    """Lambda's entry point: the function is built on the first event."""
    global _function
    if _function is None:
        _function = build_function()
    return _function(event, context)
