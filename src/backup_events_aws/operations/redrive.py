"""`backup-events redrive`: read an error queue, explain it, re-submit once fixed.

    backup-events redrive --profile main --region us-east-1            # show, then ask
    backup-events redrive --profile main --region us-east-1 --yes      # re-submit all it can
    backup-events redrive ... --message-id ID [--message-id ID ...]    # only these

Every failure of a stack instance lands in its error queue (README: The function). Three
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
  EXPIRED/PARTIAL), with `statusMessage` and the likely fix (docs/AWS-BEHAVIOUR.md §4.4).
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

# The explanations live once, in the function's file: its alerts say the same.
FAILED_STATES = lambda_function.FAILED_STATES
KNOWN_FAILURES = lambda_function.KNOWN_FAILURES
DEAD_LETTER_FIXES = lambda_function.DEAD_LETTER_FIXES
likely_fix = lambda_function.likely_fix
describe_event = lambda_function.describe_event
# Long polling: SQS then asks every server, so an empty answer means no visible message; short
# polling (0) samples a few servers and can answer empty while messages wait.
WAIT_SECONDS = 5
EMPTY_POLLS = 3  # empty answers in a row while the queue still counts visible messages, then give up


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
    entry.kind, entry.summary, entry.fix = lambda_function.explain_failure(body, attributes)
    if entry.kind == "dead-letter":
        target = attributes.get("TARGET_ARN", "")
        if ":lambda:" in target and (not function_arn or target.split(":")[:7] == function_arn.split(":")[:7]):
            entry.resubmit, entry.event = "invoke", body
        elif ":events:" in target:
            entry.fix += (
                "; this forward can't be re-sent (only AWS may put aws.backup events): once fixed, "
                "run 'backup-events reconcile' in the backup account to start the missing copy"
            )
    elif entry.kind == "function-error":
        entry.resubmit, entry.event = "invoke", body["requestPayload"]
    elif entry.kind == "job-failed":
        detail = body["detail"]
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
