"""`backup-events demo`: the quick start, run in the local sandbox.

Deploys the template as its stack instances, takes an on-demand backup of an
unencrypted EFS file system with 35-day retention, and tells, step by step
with simulated timestamps, what happened in which account and region. Ends
with every vault's recovery points and the original's new retention.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backup_events_aws.sandbox.organization import Organization

BACKUP_RETENTION_DAYS = 35  # the quick start's on-demand backups
ALERT_EMAIL = "backup-team@example.com"  # the failures scenario's alert subscription
EVENT_WORDS = MappingProxyType(
    {
        "Backup Job State Change": "backup job",
        "Copy Job State Change": "copy job",
    }
)


@dataclass
class Step:
    at: str
    account: str
    region: str
    text: str


@dataclass
class Story:
    """What the demo saw: AWS Backup events and the function's actions, in order."""

    org: Organization
    steps: list[Step] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def say(self, account: str, region: str, text: str, at: str | None = None) -> None:
        stamp = at or self.org.now().strftime("%Y-%m-%d %H:%M:%S")
        self.steps.append(Step(stamp, account, region, text))

    def listen(self) -> None:
        """Note each AWS Backup event as it is emitted, then deliver it as before."""
        deliver = self.org.bridge.deliver

        def sink(event: dict[str, Any]) -> None:
            self.events.append(event)
            self.say(event["account"], event["region"], describe_event(event))
            deliver(event, event["account"], event["region"])

        assert self.org.backup_service is not None, "the organisation is started"
        self.org.backup_service.set_event_sink(sink)

    def add_function_actions(self) -> None:
        for delivery in self.org.deliveries():
            target = delivery.target_arn or ""
            at = delivery.at.strftime("%Y-%m-%d %H:%M:%S")
            if delivery.outcome == "delivered" and ":event-bus/" in target:
                self.steps.append(
                    Step(
                        at,
                        delivery.account,
                        delivery.region,
                        f"EventBridge: event forwarded to the bus {short_bus(target)}",
                    )
                )
            elif delivery.outcome.startswith("on-failure"):
                what = (
                    "recorded in"
                    if delivery.outcome == "on-failure-delivered"
                    else (f"{delivery.outcome.removeprefix('on-failure-')} by")
                )
                self.steps.append(
                    Step(
                        at,
                        delivery.account,
                        delivery.region,
                        f"Lambda: retries exhausted, the event {what} the error queue",
                    )
                )
            elif delivery.outcome not in ("delivered", "rule-disabled"):
                self.steps.append(
                    Step(
                        at,
                        delivery.account,
                        delivery.region,
                        f"EventBridge: {delivery.outcome} {delivery.error_code or ''}",
                    )
                )
        for record in self.org.function_logs():
            message = record.get("message")
            if not isinstance(message, dict):
                continue
            text = describe_action(message)
            if text:
                at = str(record.get("timestamp", ""))[:19].replace("T", " ")
                self.steps.append(Step(at, record["account"], record["region"], text))
        # Same second: the function's call comes before the event it causes.
        self.steps.sort(key=lambda step: (step.at, not step.text.startswith(("function", "EventBridge"))))


def describe_event(event: dict[str, Any]) -> str:
    detail = event["detail"]
    what = EVENT_WORDS.get(event["detail-type"], event["detail-type"])
    state = detail.get("state") or detail.get("status")
    text = f"AWS Backup: {what} {state}"
    if event["detail-type"] == "Copy Job State Change":
        text += f" -> {short_vault(detail.get('destinationBackupVaultArn', ''))}"
    if state == "FAILED" and detail.get("statusMessage"):
        text += f" ({detail['statusMessage']})"
    return text


def describe_action(message: dict[str, Any]) -> str | None:
    call = message.get("call")
    request = message.get("request") or {}
    if call == "StartCopyJob":
        return (
            f"function: StartCopyJob {short_arn(request['RecoveryPointArn'])} -> "
            f"{short_vault(request['DestinationBackupVaultArn'])}"
        )
    if call == "UpdateRecoveryPointLifecycle":
        before = (message.get("previous") or {}).get("DeleteAfterDays")
        after = request["Lifecycle"]["DeleteAfterDays"]
        return (
            f"function: UpdateRecoveryPointLifecycle {short_arn(request['RecoveryPointArn'])}"
            f" DeleteAfterDays {before} -> {after}"
        )
    if message.get("type") == "error" and message.get("error") == "CopyRefused":
        # A copy AWS would refuse: shown whole, it says why and how to fix it.
        refused, _, reason = str(message.get("message")).partition(" not started: ")
        return f"function: ERROR CopyRefused, {refused.split(' of ')[0]} not started: {reason}"
    if message.get("type") == "error":
        text = f"function: ERROR {message.get('aws_error_code') or message.get('error')}: {message.get('message')}"
        return text if len(text) <= 150 else text[:147] + "..."
    return None


def short_arn(arn: str) -> str:
    return arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1][:18]


def short_bus(arn: str) -> str:
    parts = arn.split(":")
    return f"{parts[4]}/{parts[3]}/{parts[-1].split('/', 1)[-1]}" if len(parts) > 5 else arn


def short_vault(arn: str) -> str:
    parts = arn.split(":")
    return f"{parts[4]}/{parts[3]}/{parts[-1]}" if len(parts) > 6 else arn


def vault_table(org: Organization) -> list[dict[str, Any]]:
    rows = []
    for point in org.recovery_points():
        source = point.get("SourceBackupVaultArn")
        rows.append(
            {
                "account": point["Account"],
                "region": point["Region"],
                "vault": point["BackupVaultName"],
                "recovery_point": short_arn(point["RecoveryPointArn"]),
                "source": short_vault(source) if source else "original",
                "delete_after_days": (point.get("Lifecycle") or {}).get("DeleteAfterDays"),
            }
        )
    return sorted(rows, key=lambda row: (row["source"] != "original", row["account"], row["region"]))


def print_table(rows: list[dict[str, Any]], out=None) -> None:
    out = out or sys.stdout
    headers = ["account", "region", "vault", "recovery_point", "source", "delete_after_days"]
    titles = ["Account", "Region", "Vault", "Recovery point", "Source", "DeleteAfterDays"]
    widths = [max(len(t), *(len(str(r[h])) for r in rows)) for h, t in zip(headers, titles, strict=True)]
    print("  ".join(t.ljust(w) for t, w in zip(titles, widths, strict=True)).rstrip(), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in rows:
        print("  ".join(str(row[h]).ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(), file=out)


def quick_start(layout: str = "minimum", scenario: str = "quickstart") -> dict[str, Any]:
    """Run the demo; returns a JSON-ready summary (the printed story is in it)."""
    from backup_events_aws.sandbox.organization import Organization

    # The failures scenario also shows the alert path: one topic in the backup account, an e-mail
    # subscription its recipient has confirmed.
    parameters = {"AlertEmail": ALERT_EMAIL} if scenario == "failures" else {}
    org = (Organization.typical if layout == "typical" else Organization.minimum)(parameters=parameters)
    with org:
        story = Story(org)
        story.listen()
        if scenario == "failures":
            org.sns.confirm(ALERT_EMAIL)
        for instance in org.layout.instances():
            role = "backup account" if instance.is_backup_account else "resource account"
            story.say(
                instance.account,
                instance.region,
                f"stack instance deployed ({role})",
                at=org.now().strftime("%Y-%m-%d %H:%M:%S"),
            )
        if scenario == "failures":
            run_failures(org, story)
        else:
            accounts = org.layout.resource_accounts if layout == "typical" else [org.main_account]
            for account in accounts:
                for region in org.layout.resource_regions:
                    back_up(org, story, "EFS", account, region)
        org.run_until_idle()
        story.add_function_actions()
        errors = {f"{i.account}/{i.region}": org.error_messages(i.account, i.region) for i in org.layout.instances()}
        summary = {
            "layout": layout,
            "scenario": scenario,
            "steps": [step.__dict__ for step in story.steps],
            "recovery_points": vault_table(org),
            "error_queues": {
                where: [explain_error(m) for m in messages] for where, messages in errors.items() if messages
            },
        }
        if scenario == "failures":
            summary["alerts"] = [
                {
                    "at": mail.at.strftime("%Y-%m-%d %H:%M:%S"),
                    "to": mail.endpoint,
                    "subject": mail.subject,
                    "message": mail.message,
                }
                for mail in org.sns.mail_for(ALERT_EMAIL)
            ]
            summary["status"] = status_of(org)
        return summary


def status_of(org: Organization) -> str:
    """What `backup-events status` prints for every stack instance, now."""
    import io

    import boto3

    from backup_events_aws.operations import common, status

    sessions = []
    for instance in org.layout.instances():
        keys = org.credentials.for_account(instance.account)
        sessions.append(
            (
                instance.account,
                boto3.Session(
                    aws_access_key_id=keys["AccessKeyId"],
                    aws_secret_access_key=keys["SecretAccessKey"],
                    aws_session_token=keys["SessionToken"],
                    region_name=instance.region,
                ),
            )
        )
    instances = status.collect(sessions, "BackupEvents", None, common.Progress(out=io.StringIO()))
    out = io.StringIO()
    status.report(instances, as_json=False, out=out)
    return out.getvalue()


def back_up(org: Organization, story: Story, kind: str, account: str, region: str, note: str = "") -> str:
    resource = org.create_resource(kind, account, region)
    story.say(
        account,
        region,
        f"on-demand backup of {kind} {resource.rsplit('/', 1)[-1].rsplit(':', 1)[-1]}"
        f" into {org.vault_name}, DeleteAfterDays {BACKUP_RETENTION_DAYS}{note}",
    )
    org.start_backup(account, region, resource, delete_after_days=BACKUP_RETENTION_DAYS)
    return resource


def run_failures(org: Organization, story: Story) -> None:
    """Three things AWS refuses, one after the other, and where each is recorded."""
    main, backup, region = org.main_account, org.backup_account, org.layout.resource_regions[0]
    # 1. The backup account's vault no longer admits copies: the copy job FAILS.
    vault = org.client("backup", backup, region)
    policy = vault.get_backup_vault_access_policy(BackupVaultName=org.vault_name)["Policy"]
    vault.delete_backup_vault_access_policy(BackupVaultName=org.vault_name)
    story.say(backup, region, "(scenario) vault access policy removed: copies into it will fail")
    back_up(org, story, "EFS", main, region)
    org.run_until_idle()
    vault.put_backup_vault_access_policy(BackupVaultName=org.vault_name, Policy=policy)
    story.say(backup, region, "(scenario) vault access policy restored")
    # 2. An EBS volume encrypted with the AWS-managed key aws/ebs can't be copied
    #    across accounts (docs/AWS-BEHAVIOUR.md §4.3): the function refuses copy 1
    #    before AWS would fail it, with the fix; the event lands in the error queue.
    # Encrypted with no key given: EC2 uses the account's aws/ebs key (§4.3).
    created = org.client("ec2", main, region).create_volume(AvailabilityZone=f"{region}a", Size=8, Encrypted=True)
    volume = f"arn:aws:ec2:{region}:{main}:volume/{created['VolumeId']}"
    story.say(
        main,
        region,
        f"on-demand backup of EBS {volume.rsplit('/', 1)[-1]} (encrypted with "
        f"aws/ebs) into {org.vault_name}, DeleteAfterDays {BACKUP_RETENTION_DAYS}",
    )
    org.start_backup(main, region, volume, delete_after_days=BACKUP_RETENTION_DAYS)
    org.run_until_idle()
    # 3. The function may not start copies: it fails 3 times, then Lambda
    #    records the event in the error queue.
    org.backup_service.deny_access("StartCopyJob", main, region)
    story.say(main, region, "(scenario) StartCopyJob denied to the function's role")
    back_up(org, story, "EFS", main, region)


def explain_error(message: dict[str, Any]) -> str:
    """An error-queue message in plain words."""
    body, attributes = message["body"], message["attributes"]
    if attributes.get("ERROR_CODE"):
        return f"EventBridge could not deliver ({attributes['ERROR_CODE']}): {attributes.get('ERROR_MESSAGE')}"
    if isinstance(body, dict) and "requestContext" in body:
        context = body["requestContext"]
        error = (body.get("responsePayload") or {}).get("errorMessage")
        return f"function failed {context.get('approximateInvokeCount')} times ({context.get('condition')}): {error}"
    if isinstance(body, dict) and body.get("source") == "aws.backup":
        detail = body["detail"]
        return f"{body['detail-type']} {detail.get('state')}: {detail.get('statusMessage') or 'no status message'}"
    return f"unrecognised message: {str(body)[:200]}"


def print_story(summary: dict[str, Any], out=None) -> None:
    out = out or sys.stdout
    print(
        f"Backup Events demo: {summary['layout']} layout, {summary['scenario']} "
        "(local sandbox, simulated time, no AWS account)\n",
        file=out,
    )
    for step in summary["steps"]:
        print(f"{step['at']}  {step['account']} {step['region']:<10} {step['text']}", file=out)
    print("\nRecovery points in every vault:\n", file=out)
    print_table(summary["recovery_points"], out)
    errors = summary["error_queues"]
    print("\nError queues:" + (" empty" if not errors else ""), file=out)
    for where, messages in errors.items():
        for text in messages:
            print(f"  {where}: {text}", file=out)
    if "alerts" in summary:
        print(f"\nAlerts the central topic sent to {ALERT_EMAIL}: {len(summary['alerts'])}", file=out)
        for mail in summary["alerts"]:
            print(f"\n--- {mail['at']}  Subject: {mail['subject']}", file=out)
            print(mail["message"], file=out)
        print("\nbackup-events status:\n", file=out)
        print(summary["status"].rstrip(), file=out)
    originals = [r for r in summary["recovery_points"] if r["source"] == "original"]
    shortened = [r for r in originals if r["delete_after_days"] != BACKUP_RETENTION_DAYS]
    if originals and not shortened:
        print("\nNo original was shortened: none has a completed cross-account copy.", file=out)
    elif shortened:
        days = sorted({r["delete_after_days"] for r in shortened})
        which = (
            "The original"
            if len(originals) == 1
            else f"All {len(originals)} originals"
            if len(shortened) == len(originals)
            else f"{len(shortened)} of {len(originals)} originals"
        )
        print(
            f"\n{which}: DeleteAfterDays {BACKUP_RETENTION_DAYS} -> {', '.join(map(str, days))}, "
            "now that the copies exist.",
            file=out,
        )


def register(subcommands) -> None:
    parser = subcommands.add_parser(
        "demo",
        help="run the quick start in the local sandbox (no AWS account needed)",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--layout",
        choices=["minimum", "typical"],
        default="minimum",
        help="minimum: 1 resource account; typical: 3 accounts, 2 regions",
    )
    parser.add_argument(
        "--scenario",
        choices=["quickstart", "failures"],
        default="quickstart",
        help="failures: a copy that AWS refuses, and where it is recorded",
    )
    parser.add_argument("--json", action="store_true", help="print a machine-readable summary")
    parser.set_defaults(run=run)


def run(arguments) -> int:
    summary = quick_start(arguments.layout, arguments.scenario)
    if arguments.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print_story(summary)
    return 0
