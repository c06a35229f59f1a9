"""Backup Events: copy AWS Backup backups to a backup account and region.

github.com/backup-events/backup-events-aws  GPL-3.0  (embedded by make template)

Event -> decide() (pure: what to do, with which arguments) -> one thin AWS
call -> one JSON log line. Routes (docs/CONTRACT.md):
- resource account: backup COMPLETED in the watched vault -> copy 1 to the
  backup account's vault, same region; copy 1 COMPLETED -> shorten retention
- backup account: copy 1 COMPLETED (forwarded to our event bus) -> copy 2 to
  the backup region, or to the alternate if copy 1 is already there
- daily schedule -> catch-up sweep for what lost events left undone
"""

import datetime
import hashlib
import json
import logging
import os

import boto3
import botocore.config
import botocore.exceptions

UTC = datetime.timezone.utc
BACKUP_ACCOUNT_ID = os.environ.get("BACKUP_ACCOUNT_ID", "")
BACKUP_REGION = os.environ.get("BACKUP_REGION", "")
BACKUP_REGION_ALTERNATE = os.environ.get("BACKUP_REGION_ALTERNATE", "")
VAULT_NAME = os.environ.get("VAULT_NAME", "")
COPY_ROLE_ARN = os.environ.get("COPY_ROLE_ARN", "")
NEW_DELETE_AFTER_DAYS = int(os.environ.get("NEW_DELETE_AFTER_DAYS", "7"))
ENABLE_COPY = os.environ.get("ENABLE_COPY", "true") == "true"
ENABLE_SHORTEN_RETENTION = (
    os.environ.get("ENABLE_SHORTEN_RETENTION", "true") == "true")
BACKUPS_TO_COVER = os.environ.get("BACKUPS_TO_COVER", "all")
CATCH_UP_DAYS = int(os.environ.get("CATCH_UP_DAYS", "7"))

# AWS Backup: a cold backup must stay cold 90 days before deletion, and
# DeleteAfterDays may not exceed 36,500 (UpdateRecoveryPointLifecycle docs).
COLD_STORAGE_MINIMUM_DAYS = 90
MAXIMUM_DELETE_AFTER_DAYS = 36500

logger = logging.getLogger("backup_events")
# Lambda sets this from ApplicationLogLevel; Python's logging has no TRACE.
LOG_LEVEL = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO")
logger.setLevel("DEBUG" if LOG_LEVEL == "TRACE" else LOG_LEVEL)


def now():
    """The current UTC time (the sandbox replaces this with its clock)."""
    return datetime.datetime.now(UTC)


class BadEvent(ValueError):
    """The event calls for an action but lacks what the action needs."""


class LogRecord(dict):
    """A log line. Lambda's JSON log format embeds a dict message as a JSON
    object (awslambdaric JsonFormatter); anywhere else str() gives one line
    of JSON. Responses go through json_safe, so datetimes print as ISO 8601."""

    def __str__(self):
        return json.dumps(self, default=str)


def log(level, log_type, event, **fields):
    """One JSON object: type, event id, then the action's own fields."""
    if logger.isEnabledFor(level):
        event_id = event.get("id") if isinstance(event, dict) else None
        logger.log(level, LogRecord(type=log_type, event_id=event_id, **fields))


# --- AWS clients: one per process and region, created on first use --------

_clients = {}


def backup_client(region):
    # 10 retries with backoff: a burst meets AWS Backup's rate limits (5 calls/s)
    if region not in _clients:
        _clients[region] = boto3.client("backup", region_name=region, config=(
            botocore.config.Config(retries={"mode": "standard", "max_attempts": 10})))
    return _clients[region]


def kms_client(region):
    if ("kms", region) not in _clients:
        _clients[("kms", region)] = boto3.client("kms", region_name=region)
    return _clients[("kms", region)]


# --- Pure decisions --------------------------------------------------------

class Place:
    """Where this function runs, from its own ARN (partition, account)."""

    def __init__(self, partition, account, region):
        self.partition, self.account, self.region = partition, account, region
        self.in_backup_account = account == BACKUP_ACCOUNT_ID

    @classmethod
    def of(cls, context):
        arn = context.invoked_function_arn.split(":")
        return cls(arn[1], arn[4], os.environ.get("AWS_REGION", arn[3]))

    def vault_arn(self, region=None, account=None):
        return (f"arn:{self.partition}:backup:{region or self.region}:"
                f"{account or self.account}:backup-vault:{VAULT_NAME}")


class Action:
    def __init__(self, name, reason, arguments=None):
        self.name, self.reason, self.arguments = name, reason, arguments


def ignore(reason):
    return Action("ignore", reason)


def backup_region_for(region):
    """Copy 2 goes to the backup region, or to the alternate from there."""
    if region == BACKUP_REGION:
        return BACKUP_REGION_ALTERNATE
    return BACKUP_REGION


def idempotency_token(source_recovery_point_arn, destination_vault_arn,
                      attempt=0):
    """Same copy, same token: a duplicate delivery starts no second job.
    32 hex characters, whatever the lengths of the ARNs."""
    name = f"{source_recovery_point_arn} {destination_vault_arn}"
    if attempt:
        name = f"{name} {attempt}"
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def copy_arguments(recovery_point_arn, destination_vault_arn, attempt=0):
    return {
        "RecoveryPointArn": recovery_point_arn,
        "SourceBackupVaultName": VAULT_NAME,
        "DestinationBackupVaultArn": destination_vault_arn,
        "IamRoleArn": COPY_ROLE_ARN,
        "IdempotencyToken": idempotency_token(
            recovery_point_arn, destination_vault_arn, attempt),
    }


def is_plan_created(detail):
    # Documented samples: plan-created jobs carry createdBy.backupPlanArn,
    # on-demand jobs have no createdBy (aws-facts 1.7).
    return bool((detail.get("createdBy") or {}).get("backupPlanArn"))


def is_covered(detail):
    if BACKUPS_TO_COVER == "on-demand":
        return not is_plan_created(detail)
    if BACKUPS_TO_COVER == "scheduled":
        return is_plan_created(detail)
    return True


def first_resource(event):
    # The recovery point ARN is only in resources[0] (aws-facts 1.3, 1.4).
    resources = event.get("resources")
    if not resources or not isinstance(resources[0], str) or not resources[0]:
        raise BadEvent("event has no resources[0] (recovery point ARN)")
    return resources[0]


def decide(event, place):
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
    return ignore(f"not an event this function handles: {kind}")


def decide_backup_job(event, place):
    detail = event["detail"]
    if detail.get("state") != "COMPLETED":
        return ignore(f"backup job state {detail.get('state')}")
    if place.in_backup_account or not ENABLE_COPY:
        return ignore("copying from this account is off")
    if detail.get("backupVaultArn") != place.vault_arn():
        return ignore("backup in another vault")
    if not is_covered(detail):
        return ignore(f"backup not covered (BACKUPS_TO_COVER={BACKUPS_TO_COVER})")
    return Action("copy_to_backup_account", "backup completed", copy_arguments(
        first_resource(event),
        place.vault_arn(account=BACKUP_ACCOUNT_ID)))


def decide_copy_job(event, place):
    detail = event["detail"]
    if detail.get("state") != "COMPLETED":
        return ignore(f"copy job state {detail.get('state')}")
    if detail.get("destinationBackupVaultArn") != place.vault_arn(
            account=BACKUP_ACCOUNT_ID):
        return ignore("copy not to the backup account's vault in this region")
    copy = detail.get("destinationRecoveryPointArn")
    if place.in_backup_account:
        if not ENABLE_COPY:
            return ignore("copying is off")
        # Act only on a recovery point in our own vault, here (DESIGN 2).
        if not isinstance(copy, str) or copy.split(":")[3:4] != [place.region]:
            raise BadEvent("destinationRecoveryPointArn is not a recovery "
                           "point in this region")
        return Action("copy_to_backup_region", "copy 1 completed", copy_arguments(
            copy, place.vault_arn(region=backup_region_for(place.region))))
    if detail.get("sourceBackupVaultArn") != place.vault_arn():
        return ignore("copy from another vault")
    if not ENABLE_SHORTEN_RETENTION:
        return ignore("shortening retention is off")
    if not isinstance(copy, str) or not copy:
        # Safety: shorten only once the cross-account copy surely exists.
        raise BadEvent("COMPLETED copy without destinationRecoveryPointArn")
    return Action("shorten_retention", "cross-account copy completed", {
        "BackupVaultName": VAULT_NAME, "RecoveryPointArn": first_resource(event)})


def whole_days_old(created, at):
    """Age in UTC whole days at `at`; the creation day counts as day 1."""
    return (at.astimezone(UTC).date() - created.astimezone(UTC).date()).days + 1


def is_set(days):
    return days is not None and days >= 0


def new_lifecycle(recovery_point, at, new_delete_after_days, lock_minimum_days):
    """The lifecycle that shortens retention safely at `at`, or (None, why not).

    new DeleteAfterDays = max(age, NewDeleteAfterDays, 1, cold storage minimum,
    vault lock minimum) + 1 day of margin, and never longer than now.
    """
    if (recovery_point.get("StorageClass") == "DELETED"
            or recovery_point.get("Status") in ("DELETING", "EXPIRED")):
        return None, "recovery point deleted or being deleted"
    if ":continuous:" in recovery_point["RecoveryPointArn"]:
        # UpdateRecoveryPointLifecycle does not support continuous backups.
        return None, "continuous backup"
    current = recovery_point.get("Lifecycle") or {}
    floor = max(whole_days_old(recovery_point["CreationDate"], at),
                new_delete_after_days, 1, lock_minimum_days or 0)
    lifecycle = {}
    cold = current.get("MoveToColdStorageAfterDays")
    if is_set(cold) and (recovery_point.get("StorageClass") == "COLD"
                         or cold < floor + 1):
        # Cold (or cold before the new deletion day): the cold setting can't
        # change once cold, and a cold backup is kept 90 days.
        floor = max(floor, cold + COLD_STORAGE_MINIMUM_DAYS)
        lifecycle["MoveToColdStorageAfterDays"] = cold
        if "OptInToArchiveForSupportedResources" in current:
            lifecycle["OptInToArchiveForSupportedResources"] = current[
                "OptInToArchiveForSupportedResources"]
    # else: a transition that would come after deletion is dropped; the update
    # replaces the whole lifecycle, so leaving it out cancels it.
    lifecycle["DeleteAfterDays"] = floor + 1
    if is_set(current.get("DeleteAfterDays")) and (
            lifecycle["DeleteAfterDays"] >= current["DeleteAfterDays"]):
        return None, "retention already at most the new value (never lengthen)"
    if lifecycle["DeleteAfterDays"] > MAXIMUM_DELETE_AFTER_DAYS:
        return None, "new retention above the AWS maximum"
    return lifecycle, "shorten retention"


# --- Destinations (issue 13): copies' retention, air-gapped, keys ---------
# Pure rules, applied by plan_copy to copy 1 (R), copy 2 (B) and the sweep.

class CopyRefused(ValueError):
    """A copy AWS would refuse: why, then the fix."""


def day_pair(name, separator):
    """"365/30" -> (365, 30); "-3650" -> (0, 3650); inherit, none -> (0, 0)"""
    text = os.environ.get(name, "").replace(separator, " ", 1).split(" ")
    return tuple(int(p) if p.isdigit() else 0 for p in (text + [""])[:2])


# Copy n: (DeleteAfterDays or 0 = inherit, MoveToColdStorageAfterDays or 0)
RETENTION = {n: day_pair(f"COPY{n}_RETENTION", "/") for n in (1, 2)}
# B's vaults' lock or air-gapped (MinRetentionDays, MaxRetentionDays); 0 = none
LIMITS = day_pair("BACKUP_VAULT_RETENTION", "-")
AIR_GAPPED = os.environ.get("BACKUP_VAULT_TYPE") == "air-gapped"
# docs/AWS-BEHAVIOUR.md §16.2: copies that can go cold; §15.3: the types an
# air-gapped vault takes (documented ones), and not across regions.
COLD_TYPES = {"EFS", "DynamoDB", "Timestream", "VirtualMachine",
              "CloudFormation", "SAP HANA on Amazon EC2"}
AIR_GAPPED_TYPES = {"EBS", "EC2", "EFS", "S3", "RDS", "Aurora", "DocumentDB",
                    "Neptune", "Storage Gateway", "FSx"}
ONE_REGION_TYPES = {"Aurora", "DocumentDB", "Neptune"}
# §4.3; backup-events redrive explains failed copies in these words too.
KEY_FIX = ("Fix: encrypt the resource with a customer managed key whose "
           "policy admits the backup account, then back it up again")
AWS_MANAGED_KEY = ("{} backups keep the resource's key, and an AWS managed "
                   "key can't leave its account. " + KEY_FIX)


def copy_lifecycle(source, resource_type, copy, retention, limits, age=1):
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
                return None, (f"cold copies stay cold 90 days. Fix: in {name} "
                              "DAYS/COLD, make DAYS at least COLD + 90")
            lifecycle["MoveToColdStorageAfterDays"] = cold
        if delete < age:
            return None, (f"it would expire at once: created {age} days "
                          f"ago. Fix: raise the days of {name}")
    elif keep is not None and keep < 0:
        keep = None  # never expires
    if (low and keep is not None and keep < low) or (high and (
            keep is None or keep > high)):
        return None, (f"it would be kept {keep or 'forever'} days, outside "
                      f"the backup vault's {low or 1}..{high or 36500} (Vault "
                      f"Lock or air-gapped). Fix: set {name} to days within them")
    return lifecycle, None


def air_gap_refusal(resource_type, copy, air_gapped):
    """Why AWS can't copy this type into air-gapped vaults, or None (§15.3)."""
    if not air_gapped:
        return None
    if resource_type not in AIR_GAPPED_TYPES:
        return (f"air-gapped vaults don't take {resource_type} backups. Fix: "
                "keep them out of the watched vault, or use BackupVaultType "
                "standard (with Vault Lock)")
    if copy == 2 and resource_type in ONE_REGION_TYPES:
        return (f"{resource_type} can't be copied across regions to or from "
                "an air-gapped vault. Fix: use BackupVaultType standard")
    return None


def key_refusal(point, key_manager):
    """Why copy 1 (cross-account) fails for the source's key, or None: types
    not fully managed keep their resource's key (§2.2, §4.3)."""
    if point["RecoveryPointArn"].split(":")[2] == "backup" or (
            key_manager != "AWS"):
        return None
    return AWS_MANAGED_KEY.format(point.get("ResourceType"))


_key_managers = {}


def key_manager(place, key_arn):
    """AWS or CUSTOMER; None: no key, another account's (never AWS managed)
    or not readable (AWS decides)."""
    if not key_arn or key_arn.split(":")[4] != place.account:
        return None
    if ":alias/aws/" in key_arn:
        return "AWS"
    if key_arn not in _key_managers:
        try:
            _key_managers[key_arn] = kms_client(place.region).describe_key(
                KeyId=key_arn)["KeyMetadata"].get("KeyManager")
        except botocore.exceptions.ClientError:
            return None
    return _key_managers[key_arn]


def plan_copy(place, arguments, resource_type=None, point=None):
    """StartCopyJob's arguments with the copy's Lifecycle, or CopyRefused.
    R reads the source (type not fully managed, or inheriting into limits);
    B never does: copy 1 passed R's check, and the event names its type."""
    copy = 2 if place.in_backup_account else 1
    arn = arguments["RecoveryPointArn"]
    if point is None and copy == 1 and (
            arn.split(":")[2] != "backup" or (AIR_GAPPED and not resource_type)
            or (not RETENTION[1][0] and any(LIMITS))):
        point = backup_client(place.region).describe_recovery_point(
            BackupVaultName=VAULT_NAME, RecoveryPointArn=arn)
    known, point = point is not None, point or {"RecoveryPointArn": arn}
    resource_type = point.get("ResourceType") or resource_type
    refusal = air_gap_refusal(resource_type, copy, AIR_GAPPED) or (
        copy == 1 and key_refusal(point, key_manager(
            place, point.get("EncryptionKeyArn"))))
    lifecycle = None
    if not refusal and (known or RETENTION[copy][0]):
        lifecycle, refusal = copy_lifecycle(
            point.get("Lifecycle"), resource_type, copy, RETENTION[copy],
            LIMITS, whole_days_old(point.get("CreationDate", now()), now()))
    if refusal:
        raise CopyRefused(f"copy {copy} of {arn} not started: {refusal}")
    return dict(arguments, Lifecycle=lifecycle) if lifecycle else arguments

# --- AWS calls, thin -------------------------------------------------------

_vault_lock_minimum = {}


def vault_lock_minimum_days(client):
    """The watched vault's lock minimum; a lock only tightens, read once."""
    if VAULT_NAME not in _vault_lock_minimum:
        vault = client.describe_backup_vault(BackupVaultName=VAULT_NAME)
        _vault_lock_minimum[VAULT_NAME] = vault.get("MinRetentionDays")
    return _vault_lock_minimum[VAULT_NAME]


def start_copy(place, arguments, event, point=None):
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    arguments = plan_copy(place, arguments, detail.get("resourceType"), point)
    response = backup_client(place.region).start_copy_job(**arguments)
    log(logging.INFO, "aws_call", event, call="StartCopyJob",
        request=arguments, response=json_safe(response))
    return response


def shorten_retention(place, arguments, event):
    client = backup_client(place.region)
    recovery_point = client.describe_recovery_point(**arguments)
    lifecycle, reason = new_lifecycle(
        recovery_point, now(), NEW_DELETE_AFTER_DAYS,
        vault_lock_minimum_days(client))
    if lifecycle is None:
        log(logging.INFO, "no_change", event, action="shorten_retention",
            reason=reason, recovery_point=arguments["RecoveryPointArn"],
            lifecycle=recovery_point.get("Lifecycle"))
        return None
    request = dict(arguments, Lifecycle=lifecycle)
    response = client.update_recovery_point_lifecycle(**request)
    log(logging.INFO, "aws_call", event, call="UpdateRecoveryPointLifecycle",
        request=request, previous=recovery_point.get("Lifecycle"),
        response=json_safe(response))
    return lifecycle


def json_safe(value):
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()
                if key != "ResponseMetadata"}
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


# --- Catch-up sweep --------------------------------------------------------

def sweep_destination(place):
    if place.in_backup_account:
        return place.vault_arn(region=backup_region_for(place.region))
    return place.vault_arn(account=BACKUP_ACCOUNT_ID)


def is_ours_to_copy(point, place):
    """R copies its originals; B copies copies 1 (same region, other account).

    SourceBackupVaultArn is empty for an original (aws-facts 3.3); requiring
    copy 1's source to be in this region keeps copies 2 from being re-copied.
    """
    source = point.get("SourceBackupVaultArn")
    if not place.in_backup_account:
        return not source and is_covered({"createdBy": {"backupPlanArn": (
            point.get("CreatedBy") or {}).get("BackupPlanArn")}})
    parts = (source or "").split(":")
    return len(parts) > 4 and parts[3] == place.region and parts[4] != place.account


def sweep_actions(points, copy_job_states, place, at):
    """Pure: what the sweep must start or apply, given what exists at `at`.

    copy_job_states maps a source recovery point ARN to the states of its
    copy jobs to this sweep's destination. A listed recovery point carries
    its lifecycle, so only those whose retention still needs shortening cost
    a DescribeRecoveryPoint: the sweep stays within AWS's 15 calls/s.
    """
    destination = sweep_destination(place)
    actions = []
    for point in points:
        arn = point["RecoveryPointArn"]
        if point.get("Status") not in ("COMPLETED", "AVAILABLE") or (
                ":continuous:" in arn or not is_ours_to_copy(point, place)):
            continue
        states = copy_job_states.get(arn, [])
        if "COMPLETED" in states:
            if (not place.in_backup_account and ENABLE_SHORTEN_RETENTION
                    and new_lifecycle(point, at, NEW_DELETE_AFTER_DAYS, 0)[0]):
                actions.append(Action("shorten_retention", "copy exists", {
                    "BackupVaultName": VAULT_NAME, "RecoveryPointArn": arn}))
        elif ENABLE_COPY and not {"CREATED", "RUNNING"} & set(states):
            # A failed copy is retried under a new token: AWS answers a reused
            # token with "success, no action" (aws-facts 3.1).
            actions.append(Action("copy", "copy missing", copy_arguments(
                arn, destination, attempt=len(states))))
    return actions


def sweep_inputs(place, client):
    """What exists: the watched vault's recovery points of the last
    CATCH_UP_DAYS days, and the states of copy jobs to the sweep's destination."""
    since = now() - datetime.timedelta(days=CATCH_UP_DAYS)
    states = {}
    for page in client.get_paginator("list_copy_jobs").paginate(
            ByDestinationVaultArn=sweep_destination(place), ByCreatedAfter=since):
        for job in page.get("CopyJobs", []):
            states.setdefault(job["SourceRecoveryPointArn"], []).append(
                job["State"])
    points = [point for page in client.get_paginator(
        "list_recovery_points_by_backup_vault").paginate(
            BackupVaultName=VAULT_NAME, ByCreatedAfter=since)
        for point in page.get("RecoveryPoints", [])]
    return points, states


def sweep(place, event):
    """Redo what lost events left undone in the last CATCH_UP_DAYS days.

    AWS Backup events are best effort (aws-facts 1.1). Every step is
    idempotent: copies reuse their token, shortening never lengthens.
    """
    points, states = sweep_inputs(place, backup_client(place.region))
    done = {"recovery_points": len(points), "copies_started": 0,
            "retention_checked": 0}
    listed = {point["RecoveryPointArn"]: point for point in points}
    for action in sweep_actions(points, states, place, now()):
        if action.name == "copy":
            start_copy(place, action.arguments, event,
                       listed[action.arguments["RecoveryPointArn"]])
            done["copies_started"] += 1
        else:
            shorten_retention(place, action.arguments, event)
            done["retention_checked"] += 1
    return done


# --- Entry point -----------------------------------------------------------

def lambda_handler(event, context):
    try:
        place = Place.of(context)
        action = decide(event, place)
        if action.name == "ignore":
            log(logging.INFO, "ignored", event, reason=action.reason)
            return {"action": "ignore", "reason": action.reason}
        log(logging.DEBUG, "decision", event, action=action.name,
            reason=action.reason, arguments=action.arguments)
        if action.name == "sweep":
            result = sweep(place, event)
            log(logging.INFO, "sweep", event, result=result)
        elif action.name == "shorten_retention":
            result = {"lifecycle": shorten_retention(place, action.arguments, event)}
        else:
            result = {"copy_job_id": start_copy(
                place, action.arguments, event)["CopyJobId"]}
        # Only JSON-safe values: Lambda must serialise what we return.
        return dict(result, action=action.name)
    except Exception as error:
        # One ERROR line, then raise: Lambda retries, then the on-failure
        # destination records the event in the error queue.
        log(logging.ERROR, "error", event, error=type(error).__name__,
            aws_error_code=getattr(error, "response", {}).get("Error", {}).get(
                "Code"), message=str(error), event_detail_type=event.get(
                    "detail-type") if isinstance(event, dict) else None)
        raise
