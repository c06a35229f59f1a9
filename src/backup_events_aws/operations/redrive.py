"""`backup-events redrive`: read an error queue, explain it, re-submit once fixed.

    backup-events redrive --profile main --region us-east-1            # show, then ask
    backup-events redrive --profile main --region us-east-1 --yes      # re-submit all it can
    backup-events redrive ... --message-id ID [--message-id ID ...]    # only these

Every failure of a stack instance lands in its error queue (DESIGN.md 1, 3). Three
kinds of message, each shown in plain words:

* rule dead letter (attributes RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE):
  EventBridge could not hand the event (the body) to a target. If the target was
  this stack's function, re-submitting = invoking the function with that event.
  A failed forward to the backup account's bus can't be re-sent (only AWS may
  put `aws.backup` events): once fixed, the backup account's sweep (daily, or
  `backup-events reconcile` there) starts the missing copy 2; the message stays.
* Lambda on-failure record (requestContext, requestPayload, responsePayload):
  the function failed on every attempt. Re-submitting = invoking the function
  with `requestPayload`, the original event.
* failed job event (`aws.backup` Backup/Copy Job State Change, FAILED/ABORTED/
  EXPIRED/PARTIAL), with `statusMessage` and the likely fix (aws-facts 4.4).
  A failed COPY is re-submitted by invoking the function with a Scheduled Event:
  its sweep finds the recovery point with only failed copies and starts the copy
  again under a new idempotency token (re-sending the original backup event would
  reuse the old token, which AWS answers with "success, no action"). Then the
  copy jobs to that destination are listed: the message is deleted only if a
  copy of that recovery point other than the failed one now exists or runs. One
  sweep serves every failed copy in the batch. A failed BACKUP is not ours to
  redo (run the backup again); its message stays.

Invocations are synchronous (RequestResponse), after the cause is fixed, and only
the messages whose re-submission succeeded are deleted. Messages are received by
long polling with a visibility timeout, and made visible again at the end if they
stay; the queue is called empty only when its ApproximateNumberOfMessages (visible
and in flight) agree.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from .. import lambda_function
from ..cli import CliError
from . import common

FAILED_STATES = ("FAILED", "ABORTED", "EXPIRED", "PARTIAL")
# Long polling: SQS then asks every server, so an empty answer means no visible message; short
# polling (0) samples a few servers and can answer empty while messages wait.
WAIT_SECONDS = 5
EMPTY_POLLS = 3  # empty answers in a row while the queue still counts visible messages, then give up

# Copy failure messages and their fixes (aws-facts 4.4), matched by substring.
KNOWN_FAILURES = [
    (
        "must be a member of the same organization",
        "put the source and backup accounts in the same AWS Organization (OrgId)",
    ),
    (
        "Feature is not supported for provided resource type",
        "this resource type can't copy across accounts and regions in one action",
    ),
    # Key failures: the function's own words (lambda_function.KEY_FIX), one table for both.
    (
        "You must have DescribeKey permissions on the default CMK",
        "the AMI is encrypted with the default (AWS managed) key, which can't leave its account. "
        + lambda_function.KEY_FIX,
    ),
    (
        "Given key ID is not accessible",
        "the source's key doesn't admit the backup account, or is AWS managed (aws/ebs...) and can't leave "
        "its account. " + lambda_function.KEY_FIX + " ('backup-events preflight' names a missing key "
        "policy statement)",
    ),
    (
        "KMS key does not exist, is not enabled",
        "the source snapshot's key is disabled, or doesn't admit the backup account, or is AWS managed "
        "(aws/rds). " + lambda_function.KEY_FIX,
    ),
    (
        "outside the range allowed by the destination backup vault",
        "the copy's retention is outside the backup vault's Vault Lock or air-gapped limits: set "
        "BackupVaultRetention to those limits and Copy1Retention/Copy2Retention within them",
    ),
    (
        "Access Denied trying to call AWS Backup service",
        "the backup account's vault access policy must Allow backup:CopyIntoBackupVault for the organization "
        "(redeploy its stack, or see 'backup-events preflight')",
    ),
    (
        "Access denied exception while trying to list tags",
        "give the copy role permission to list tags (e.g. attach AWSBackupServiceRolePolicyForBackup)",
    ),
    ("requires a target option group", "create a matching RDS option group in the destination region"),
    ("Source AMI not found in Region", "EC2 Allowed AMIs: allow images from the source account in the backup account"),
    ("Failed to unshare snapshot", "the copy role was deleted during the copy: restore the role"),
]

DEAD_LETTER_FIXES = {
    "NO_PERMISSIONS": "the target's resource policy or role no longer lets EventBridge deliver: redeploy "
    "the stack ('backup-events deploy') to restore it",
    "NO_RESOURCE": "the target no longer exists: redeploy the stack",
    "CROSS_ACCOUNT_INGESTION_FAILED": "the backup account's event bus policy must admit this organization: "
    "redeploy the backup account's stacks with the same OrgId",
    "FAILED_TO_ASSUME_ROLE": "the rule's target role is missing or no longer trusts events.amazonaws.com: "
    "redeploy the stack",
}


@dataclass
class Entry:
    """One error-queue message, understood."""

    message_id: str
    receipt_handle: str
    kind: str  # dead-letter | function-error | job-failed | unknown
    summary: str
    fix: str = ""
    resubmit: str = ""  # invoke | sweep | "" (can't)
    event: Any = None  # what to invoke the function with
    copy: dict[str, str] = field(default_factory=dict)  # a failed copy: source, destination, job id
    outcome: str = ""


def _strip(text: Any) -> str:
    return str(text or "").strip().strip('"')


def describe_event(event: Any) -> str:
    if not isinstance(event, dict):
        return "an event"
    detail: dict[str, Any] = event["detail"] if isinstance(event.get("detail"), dict) else {}
    words = [event.get("detail-type") or "event"]
    if detail.get("state"):
        words.append(detail["state"])
    if event.get("resources"):
        words.append(f"of {event['resources'][0]}")
    if event.get("id"):
        words.append(f"(event {event['id']})")
    return " ".join(str(word) for word in words)


def likely_fix(status_message: str) -> str:
    for fragment, fix in KNOWN_FAILURES:
        if fragment.lower() in status_message.lower():
            return fix
    return "read the status message; fix the cause (roles, vault policies, KMS keys) and re-submit"


def classify(message: dict[str, Any], function_arn: str = "") -> Entry:
    """Pure: what an SQS message (as ReceiveMessage returns it) says, and how to re-submit it."""
    attributes = {key: value.get("StringValue", "") for key, value in (message.get("MessageAttributes") or {}).items()}
    try:
        body: Any = json.loads(message.get("Body", ""))
    except ValueError:
        body = message.get("Body", "")
    entry = Entry(
        message.get("MessageId", ""),
        message.get("ReceiptHandle", ""),
        "unknown",
        f"unrecognised message: {str(body)[:200]}",
        "read it; delete it by hand once dealt with",
    )
    if attributes.get("ERROR_CODE"):
        code, target = attributes["ERROR_CODE"], attributes.get("TARGET_ARN", "")
        entry.kind = "dead-letter"
        entry.summary = (
            f"EventBridge could not deliver {describe_event(body)} to {target} "
            f"({code}: {attributes.get('ERROR_MESSAGE', '')})"
        )
        entry.fix = DEAD_LETTER_FIXES.get(code, "fix the cause in the error message, then re-submit")
        if ":lambda:" in target and (not function_arn or target.split(":")[:7] == function_arn.split(":")[:7]):
            entry.resubmit, entry.event = "invoke", body
        elif ":events:" in target:
            entry.fix += (
                "; this forward can't be re-sent (only AWS may put aws.backup events): once fixed, "
                "run 'backup-events reconcile' in the backup account to start the missing copy"
            )
        return entry
    if isinstance(body, dict) and "requestContext" in body and "requestPayload" in body:
        error = body.get("responsePayload") or {}
        context = body["requestContext"]
        entry.kind = "function-error"
        entry.summary = (
            f"the function failed {context.get('approximateInvokeCount', '?')} time(s) "
            f"({context.get('condition', '')}) on {describe_event(body['requestPayload'])}: "
            f"{error.get('errorType', '')}: {error.get('errorMessage', '')}"
        )
        entry.fix = "fix the cause in the error (permissions, throttling, a missing vault), then re-submit"
        if error.get("errorType") == "CopyRefused" and "Fix: " in str(error.get("errorMessage")):
            # The function refused a copy AWS would refuse; its message ends with the fix.
            entry.fix = str(error["errorMessage"]).split("Fix: ", 1)[1] + "; then re-submit"
        entry.resubmit, entry.event = "invoke", body["requestPayload"]
        return entry
    if isinstance(body, dict) and body.get("source") == "aws.backup" and isinstance(body.get("detail"), dict):
        detail = body["detail"]
        if detail.get("state") not in FAILED_STATES:
            return entry
        status = _strip(detail.get("statusMessage")) or "no status message"
        entry.kind = "job-failed"
        entry.summary = f"{body.get('detail-type')} {detail.get('state')}: {status} ({describe_event(body)})"
        entry.fix = likely_fix(status)
        if body.get("detail-type") == "Copy Job State Change" and body.get("resources"):
            entry.resubmit = "sweep"
            entry.copy = {
                "source": body["resources"][0],
                "destination": detail.get("destinationBackupVaultArn", ""),
                "job": detail.get("copyJobId", ""),
                "since": detail.get("creationDate", ""),
            }
        else:
            entry.fix += "; a failed backup is not redone here: run the backup again"
    return entry


# --------------------------------------------------------------------------- AWS side


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "redrive",
        help="explain the error queue and re-submit what failed, once fixed",
        description=__doc__.split("\n\n")[0],
    )
    common.add_aws_arguments(parser)
    common.add_stack_argument(parser)
    parser.add_argument("--queue-url", help="the error queue (default: the stack's ErrorQueueUrl output)")
    parser.add_argument("--function-name", help="the function (default: the stack's FunctionName output)")
    parser.add_argument("--message-id", action="append", default=[], help="re-submit only this message (repeatable)")
    parser.add_argument("--yes", action="store_true", help="re-submit without asking")
    parser.add_argument("--max-messages", type=int, default=100, help="read at most this many (default 100)")
    parser.add_argument(
        "--visibility-timeout",
        type=int,
        default=300,
        help="seconds the messages stay hidden from other readers while this runs",
    )
    parser.set_defaults(run=run)


def counts(sqs: Any, queue_url: str) -> tuple[int, int]:
    """(visible, in flight): the queue's ApproximateNumberOfMessages and ...NotVisible."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    ).get("Attributes", {})
    return (
        int(attributes.get("ApproximateNumberOfMessages", 0)),
        int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    )


def receive(sqs: Any, queue_url: str, limit: int, visibility: int) -> list[dict[str, Any]]:
    """Up to `limit` messages (long polling), hidden for `visibility` seconds. An empty answer ends
    the reading only when the queue also counts no visible message (or after EMPTY_POLLS of them)."""
    messages: dict[str, dict[str, Any]] = {}
    empty = 0
    while len(messages) < limit:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, limit - len(messages)),
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
            VisibilityTimeout=visibility,
            WaitTimeSeconds=WAIT_SECONDS,
        ).get("Messages", [])
        if batch:
            empty = 0
            for message in batch:
                messages.setdefault(message["MessageId"], message)
            continue
        empty += 1
        if empty >= EMPTY_POLLS or counts(sqs, queue_url)[0] == 0:
            break
    return list(messages.values())


def _since(text: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def copy_retried(backup: Any, copy: dict[str, str]) -> str:
    """The id of a copy of the same recovery point, other than the failed job, that exists or runs."""
    request: dict[str, Any] = {"ByDestinationVaultArn": copy["destination"]}
    since = _since(copy.get("since", ""))
    if since:
        request["ByCreatedAfter"] = since
    for page in backup.get_paginator("list_copy_jobs").paginate(**request):
        for job in page.get("CopyJobs", []):
            if (
                job.get("SourceRecoveryPointArn") == copy["source"]
                and job.get("CopyJobId") != copy["job"]
                and job.get("State") in ("CREATED", "RUNNING", "COMPLETED")
            ):
                return str(job["CopyJobId"])
    return ""


def show(entries: list[Entry], queue_url: str) -> None:
    print(f"{len(entries)} message(s) in {queue_url}:")
    for number, entry in enumerate(entries, 1):
        print(f"{number:3}. [{entry.kind}] {entry.summary}")
        print(f"     message {entry.message_id}")
        if entry.fix:
            print(f"     likely fix: {entry.fix}")
        how = {
            "invoke": "invoke the function with the original event",
            "sweep": "run the function's sweep, which retries the copy with a new token",
        }.get(entry.resubmit, "can't be re-submitted: kept")
        print(f"     re-submit: {how}")


def confirm(count: int) -> bool:
    if not sys.stdin.isatty():
        return False
    answer = input(f"Re-submit {count} event(s) now that the cause is fixed? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def run(arguments: Any) -> int:
    aws = common.session(arguments.profile, arguments.region)
    queue_url, function = arguments.queue_url, arguments.function_name
    if not (queue_url and function):
        stack_name = arguments.stack_name or common.DEFAULT_STACK_NAME
        outputs = common.stack_outputs(aws.client("cloudformation"), stack_name, common.where(aws, arguments.profile))
        for output, flag, given in (
            ("ErrorQueueUrl", "--queue-url", queue_url),
            ("FunctionName", "--function-name", function),
        ):
            if not given and output not in outputs:
                raise CliError(
                    f"stack {stack_name!r} has no {output} output",
                    f"is it a Backup Events stack? pass the right --stack-name, or {flag}",
                )
        queue_url = queue_url or outputs["ErrorQueueUrl"]
        function = function or outputs["FunctionName"]
    lambda_client = aws.client("lambda")
    function_arn = lambda_client.get_function_configuration(FunctionName=function)["FunctionArn"]
    sqs = aws.client("sqs")
    messages = receive(sqs, queue_url, arguments.max_messages, arguments.visibility_timeout)
    entries = [classify(message, function_arn) for message in messages]
    if not entries:
        visible, in_flight = counts(sqs, queue_url)
        if visible or in_flight:
            raise CliError(
                f"no message could be read from the error queue {queue_url}, yet it counts "
                f"{visible} visible and {in_flight} in flight",
                "messages in flight are being read elsewhere, or hidden by an earlier run for up to "
                "its --visibility-timeout: run redrive again once they are visible",
            )
        print(f"The error queue {queue_url} is empty.")
        return 0
    show(entries, queue_url)
    chosen = [e for e in entries if e.resubmit and (not arguments.message_id or e.message_id in arguments.message_id)]
    unknown = set(arguments.message_id) - {e.message_id for e in entries}
    deleted = 0
    try:
        if unknown:
            raise CliError(f"no message {sorted(unknown)[0]} in the queue", "copy a message id from the list above")
        if not chosen:
            print("\nNothing to re-submit.")
            return 0
        if not (arguments.yes or confirm(len(chosen))):
            print(f"\n{len(chosen)} event(s) can be re-submitted: fix the cause, then run again with --yes.")
            return 0
        deleted = resubmit(chosen, aws, lambda_client, function, function_arn, sqs, queue_url)
    finally:
        # What stays is visible again to the next reader (or the next run).
        for entry in entries:
            if entry.outcome != "deleted":
                # Best effort: a message left hidden reappears after its timeout anyway.
                with contextlib.suppress(Exception):
                    sqs.change_message_visibility(
                        QueueUrl=queue_url, ReceiptHandle=entry.receipt_handle, VisibilityTimeout=0
                    )
    print(
        f"\n{deleted} of {len(chosen)} re-submitted event(s) succeeded and were deleted; "
        f"{len(entries) - deleted} message(s) stay in the queue."
    )
    return 0 if deleted == len(chosen) else 1


def resubmit(
    chosen: list[Entry], aws: Any, lambda_client: Any, function: str, function_arn: str, sqs: Any, queue_url: str
) -> int:
    print()
    deleted = 0
    for entry in [e for e in chosen if e.resubmit == "invoke"]:
        ok, result = common.invoke(lambda_client, function, entry.event)
        if ok:
            entry.outcome = "deleted"
            print(f"  OK    {entry.message_id}: {json.dumps(result)}")
        else:
            entry.outcome = "failed"
            print(f"  FAIL  {entry.message_id}: the function failed again: {common.error_message(result)}")
    copies = [e for e in chosen if e.resubmit == "sweep"]
    if copies:
        account, region = function_arn.split(":")[4], function_arn.split(":")[3]
        ok, result = common.invoke(lambda_client, function, common.scheduled_event(account, region))
        backup = aws.client("backup")
        for entry in copies:
            job = copy_retried(backup, entry.copy) if ok else ""
            if job:
                entry.outcome = "deleted"
                print(f"  OK    {entry.message_id}: copy started again (copy job {job})")
            else:
                entry.outcome = "failed"
                reason = (
                    f"the sweep failed: {common.error_message(result)}"
                    if not ok
                    else "the sweep started no copy of it (older than CatchUpDays, or "
                    "StartCopyJob still refused: see the function's log)"
                )
                print(f"  FAIL  {entry.message_id}: {reason}")
    for entry in chosen:
        if entry.outcome == "deleted":
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=entry.receipt_handle)
            deleted += 1
    return deleted
