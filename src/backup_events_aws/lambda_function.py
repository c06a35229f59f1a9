"""Backup Events: copy AWS Backup backups to a backup account and region.

github.com/backup-events/backup-events-aws  GPL-3.0  (embedded by make template)

Event -> decide() (pure: what to do, with which arguments) -> one thin AWS
call -> one JSON log line. Routes (docs/CONTRACT.md):
- resource account: backup COMPLETED in the watched vault -> copy 1 to the
  backup account's vault, same region; copy 1 COMPLETED -> shorten retention
- backup account: copy 1 COMPLETED (forwarded to our event bus) -> copy 2 to
  the backup region, or to the alternate if copy 1 is already there
- daily schedule -> catch-up sweep for what lost events left undone; it also
  measures coverage (copy gaps) as metrics; what it fails to repair errs
- an alarm of this stack (its error queue received failures) -> alert: read
  the queue, tell the one alert topic in plain words with the fix
"""

import datetime
import hashlib
import json
import logging
import os

import boto3
import botocore.config

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
ALERT_AFTER_HOURS = int(os.environ.get("ALERT_AFTER_HOURS", "24"))
ALERT_TOPIC_ARN = os.environ.get("ALERT_TOPIC_ARN", "")
ERROR_QUEUE_URL = os.environ.get("ERROR_QUEUE_URL", "")

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
    if kind == ("aws.cloudwatch", "CloudWatch Alarm State Change"):
        return decide_alarm(event, place)
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


# --- AWS calls, thin -------------------------------------------------------

_vault_lock_minimum = {}


def vault_lock_minimum_days(client):
    """The watched vault's lock minimum; a lock only tightens, read once."""
    if VAULT_NAME not in _vault_lock_minimum:
        vault = client.describe_backup_vault(BackupVaultName=VAULT_NAME)
        _vault_lock_minimum[VAULT_NAME] = vault.get("MinRetentionDays")
    return _vault_lock_minimum[VAULT_NAME]


def start_copy(place, arguments, event):
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
    before = (recovery_point.get("Lifecycle") or {}).get("DeleteAfterDays")
    emit_metrics(place, {"OriginalsShortened": 1, "StorageDaysRemoved": (
        before - lifecycle["DeleteAfterDays"] if is_set(before) else 0)})
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
    at = now()
    rows, counts = coverage(points, states, place, at, ALERT_AFTER_HOURS)
    emit_metrics(place, counts)
    done = {"recovery_points": len(points), "copies_started": 0,
            "retention_checked": 0}
    for action in sweep_actions(points, states, place, at):
        if action.name == "copy":
            start_copy(place, action.arguments, event)
            done["copies_started"] += 1
        else:
            shorten_retention(place, action.arguments, event)
            done["retention_checked"] += 1
    return done


# --- Alerts and coverage (issue 12) -----------------------------------------
# Every failure lands in the instance's error queue; an alarm on what arrives
# there invokes the function (decide_alarm), which reads (never deletes) up to
# 10 messages and tells the one alert topic, in plain words with the fix.
# `backup-events redrive` shows the same explanations (explain_failure).

# Copy failure messages (docs/AWS-BEHAVIOUR.md §4.4), matched by substring.
KNOWN_FAILURES = [
    ("same organization", "put both accounts in the organization OrgId"),
    ("not supported for provided resource type",
     "this type can't copy across accounts and regions at once"),
    ("on the default CMK", "re-encrypt the AMI with a key shared with the backup account"),
    ("Given key ID is not accessible",
     "share the source's KMS key with the backup account (aws/ebs can't be)"),
    ("KMS key does not exist, is not enabled",
     "share the snapshot's KMS key with the backup account; enable it"),
    ("Access Denied trying to call AWS Backup", "the backup account's vault access "
     "policy must Allow backup:CopyIntoBackupVault: redeploy it"),
    ("while trying to list tags", "let the copy role list tags"),
    ("requires a target option group", "create the RDS option group in the destination region"),
    ("Source AMI not found in Region", "EC2 Allowed AMIs: allow the source account's images"),
    ("Failed to unshare snapshot", "restore the copy role (deleted mid-copy)"),
]
# A rule's dead letter: its ERROR_CODE (docs/AWS-BEHAVIOUR.md §5.4) -> fix.
REDEPLOY = "EventBridge can't reach the target: redeploy the stack"
DEAD_LETTER_FIXES = {"CROSS_ACCOUNT_INGESTION_FAILED": "the backup account's bus policy must "
                     "admit this organization: redeploy its stacks with the same OrgId"}
FAILED_STATES = ("FAILED", "ABORTED", "EXPIRED", "PARTIAL")


def likely_fix(status):
    return next((fix for part, fix in KNOWN_FAILURES if part.lower() in status.lower()),
                "fix the cause (roles, vault policies, KMS keys), then re-submit")


def describe_event(event):
    if not isinstance(event, dict):
        return "an event"
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    return " ".join(str(word) for word in (
        event.get("detail-type") or "event", detail.get("state"),
        event.get("resources") and f"of {event['resources'][0]}",
        event.get("id") and f"(event {event['id']})") if word)


def explain_failure(body, attributes):
    """Pure: (kind, summary, fix) of an error-queue message: a rule's dead
    letter, a Lambda on-failure record, a failed job event, or unknown."""
    code = attributes.get("ERROR_CODE")
    detail = body.get("detail") if isinstance(body, dict) else None
    if code:
        return "dead-letter", (
            f"EventBridge could not deliver {describe_event(body)} to "
            f"{attributes.get('TARGET_ARN')} ({code}: {attributes.get('ERROR_MESSAGE')})"
        ), DEAD_LETTER_FIXES.get(code, REDEPLOY)
    if isinstance(body, dict) and "requestPayload" in body:
        context, error = body.get("requestContext") or {}, body.get("responsePayload") or {}
        return "function-error", (
            f"the function failed {context.get('approximateInvokeCount')} "
            f"time(s) ({context.get('condition')}) on {describe_event(body['requestPayload'])}: "
            f"{error.get('errorType')}: {error.get('errorMessage')}"), likely_fix("")
    if isinstance(detail, dict) and detail.get("state") in FAILED_STATES:
        status = str(detail.get("statusMessage") or "no status message").strip('" ')
        return "job-failed", (f"{body.get('detail-type')} {detail['state']}: "
                              f"{status} ({describe_event(body)})"), likely_fix(status)
    return "unknown", f"unrecognised: {str(body)[:200]}", "read it, delete it once dealt with"


def decide_alarm(event, place):
    """Only CloudWatch puts aws.cloudwatch events, and the rule admits only
    this stack's alarm (docs/AWS-BEHAVIOUR.md §18); alerting only reads our
    queue and publishes: a forged event can at worst cause a false alert."""
    state = event["detail"].get("state") or {}
    if state.get("value") != "ALARM":
        return ignore("alarm not in ALARM")
    return Action("alert", "alarm went off", {"since": state.get("timestamp")})


def alert_text(place, since, messages):
    """Pure: (subject, text) of the alert for these error-queue messages."""
    lines = [f"Failures in account {place.account}, region {place.region}, "
             f"vault {VAULT_NAME}, since {since}. In its error queue:"]
    kinds = []
    for message in messages:
        try:
            body = json.loads(message["Body"])
        except ValueError:
            body = message["Body"]
        kind, summary, fix = explain_failure(body, {key: value.get("StringValue") for key, value in (
            message.get("MessageAttributes") or {}).items()})
        kinds.append(kind)
        lines += ["", f"[{kind}] {summary}", f"Likely fix: {fix}"]
    lines += ["", f"{len(kinds)} read: " + ", ".join(
        f"{kinds.count(kind)} {kind}" for kind in sorted(set(kinds))),
        f"Once fixed: backup-events redrive --region {place.region} --yes, as {place.account}"]
    return f"Backup Events: failures in {place.account} {place.region}", "\n".join(lines)


def alert(place, arguments, event):
    """Read up to 10 messages of our own error queue (visible again at once:
    redrive still finds them), then publish one summary to the alert topic,
    ALERT_TOPIC_ARN or else B's topic named after this function (NamePrefix).
    Alerts are rare: no client is kept."""
    messages = boto3.client("sqs", region_name=place.region).receive_message(
        QueueUrl=ERROR_QUEUE_URL, MaxNumberOfMessages=10, VisibilityTimeout=0,
        WaitTimeSeconds=1, MessageAttributeNames=["All"]).get("Messages", [])
    subject, text = alert_text(place, arguments["since"], messages)
    topic = ALERT_TOPIC_ARN or (f"arn:{place.partition}:sns:{BACKUP_REGION}:{BACKUP_ACCOUNT_ID}:"
                                f"{os.environ['AWS_LAMBDA_FUNCTION_NAME']}-Alerts")
    boto3.client("sns", region_name=topic.split(":")[3]).publish(
        TopicArn=topic, Subject=subject, Message=text)
    log(logging.INFO, "aws_call", event, call="Publish", request={
        "TopicArn": topic, "Subject": subject, "Message": text})
    return {"alerted": topic, "messages": len(messages)}


def coverage(points, copy_job_states, place, at, alert_after_hours):
    """Pure: (rows, counts), one rule for the sweep's metrics and `backup-events
    status`. R: its originals, their copy 1 and shortening; B: its copies 1
    and their copy 2. A gap: no completed copy after alert_after_hours."""
    rows = []
    for point in points:
        arn = point["RecoveryPointArn"]
        if point.get("Status") not in ("COMPLETED", "AVAILABLE") or (
                ":continuous:" in arn or not is_ours_to_copy(point, place)):
            continue
        states = copy_job_states.get(arn, [])
        copy = "COMPLETED" if "COMPLETED" in states else "RUNNING" if {
            "CREATED", "RUNNING"} & set(states) else (states or ["NONE"])[-1]
        age = (at - point["CreationDate"]).total_seconds() / 3600
        rows.append({"recovery_point": arn, "age_hours": round(age, 1), "copy": copy,
                     "gap": copy != "COMPLETED" and age >= alert_after_hours,
                     "awaiting_shortening": not place.in_backup_account and copy == "COMPLETED"
                     and ENABLE_SHORTEN_RETENTION
                     and bool(new_lifecycle(point, at, NEW_DELETE_AFTER_DAYS, 0)[0])})
    return rows, {"Copies1" if place.in_backup_account else "Originals": len(rows),
                  "CopyGaps": sum(row["gap"] for row in rows),
                  "AwaitingShortening": sum(row["awaiting_shortening"] for row in rows)}


def emit_metrics(place, values):
    """One Embedded Metric Format line: CloudWatch Logs makes the metrics, no
    API call and no permission needed. Printed: Lambda writes stdout as it
    is, where its JSON log format would nest a logger's record
    (docs/AWS-BEHAVIOUR.md §18)."""
    print(json.dumps({"_aws": {"Timestamp": int(now().timestamp() * 1000), "CloudWatchMetrics": [{
        "Namespace": "BackupEvents", "Dimensions": [["Account", "Region", "Vault"]],
        "Metrics": [{"Name": name, "Unit": "Count"} for name in values]}]},
        "Account": place.account, "Region": place.region, "Vault": VAULT_NAME, **values}), flush=True)


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
        elif action.name == "alert":
            result = alert(place, action.arguments, event)
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
