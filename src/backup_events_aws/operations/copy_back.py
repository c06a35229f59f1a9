"""`backup-events copy-back`: copy a backup from the backup account's vault back to a source account,
to restore it there (AWS Backup restores a recovery point only where it is: docs/AWS-BEHAVIOUR.md §4.2).

    backup-events copy-back --profile backup --region us-east-1 \\
        --recovery-point-arn arn:aws:backup:us-east-1:999977775555:recovery-point:... \\
        --to-account 000022224444 [--yes] [--wait]

Runs with the backup account's credentials: StartCopyJob from its vault (VaultName) to the vault of
the same name in --to-account, same region, with the backup account's copy role (CopyRoleName).
Dry run unless --yes: it prints the request. The sample vaults admit this copy only when deployed
with AllowCopyBack=true (the backup account's vault lets copies leave only for the next hop
otherwise, and the source account's vault admits no copies in). Then restore in the source
account, from its vault, as usual.

`plan` is pure: from DescribeRecoveryPoint's answer to the StartCopyJob request, or a refusal with
the fix (a cold or continuous backup can't be copied, §3.1/§15; a retention already over).
"""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any

from ..cli import CliError
from . import common

UTC = datetime.UTC
FINISHED = ("COMPLETED", "FAILED", "ABORTED", "PARTIAL")
POLL_SECONDS = 30


def clock() -> datetime.datetime:
    """Now (tests give the sandbox's simulated time instead)."""
    return datetime.datetime.now(UTC)


def plan(
    point: dict[str, Any],
    vault_name: str,
    to_account: str,
    copy_role_arn: str,
    at: datetime.datetime,
    delete_after_days: int | None = None,
) -> dict[str, Any]:
    """The StartCopyJob request that copies `point` back to `to_account`, or CliError with the fix."""
    arn = point["RecoveryPointArn"]
    if point.get("Status") not in ("COMPLETED", "AVAILABLE"):
        raise CliError(f"{arn} is {point.get('Status')}, not a completed backup", "pick a completed one")
    if ":continuous:" in arn:
        raise CliError(
            "a continuous backup can't be copied on demand (AWS Backup)",
            "restore it in the backup account, or copy a snapshot backup",
        )
    if point.get("StorageClass") == "COLD":
        raise CliError(
            "a backup in cold storage can't be copied (AWS Backup)",
            "restore it in the backup account (StartRestoreJob there)",
        )
    region, partition = arn.split(":")[3], arn.split(":")[1]
    destination = f"arn:{partition}:backup:{region}:{to_account}:backup-vault:{vault_name}"
    created = point["CreationDate"]
    age = (at.astimezone(UTC).date() - created.astimezone(UTC).date()).days + 1
    keep = delete_after_days or (point.get("Lifecycle") or {}).get("DeleteAfterDays")
    if keep is not None and keep > 0 and keep <= age:
        # A copy keeps the original's creation date: it would expire at once (§3.1, §3.5).
        raise CliError(
            f"the copy would keep {keep} days from the original's creation, {age} days ago, and be deleted at once",
            f"pass --delete-after-days {age + 7} (or more)",
        )
    request = {
        "RecoveryPointArn": arn,
        "SourceBackupVaultName": vault_name,
        "DestinationBackupVaultArn": destination,
        "IamRoleArn": copy_role_arn,
        "IdempotencyToken": hashlib.sha256(f"copy-back {arn} {destination}".encode()).hexdigest()[:32],
    }
    if delete_after_days:
        request["Lifecycle"] = {"DeleteAfterDays": delete_after_days}
    return request


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "copy-back",
        help="copy a backup from the backup account back to its source account, to restore it",
        description=__doc__.split("\n\n")[0],
    )
    common.add_aws_arguments(parser, "the region of the backup (and of the copy back)")
    parser.add_argument("--recovery-point-arn", required=True, help="the copy in the backup account's vault")
    parser.add_argument("--to-account", required=True, help="the 12-digit account to copy it back to")
    parser.add_argument("--vault-name", default="BackupEvents-Sample", help="VaultName (default %(default)s)")
    parser.add_argument(
        "--copy-role-name",
        default="service-role/AWSBackupDefaultServiceRole",
        help="CopyRoleName (default %(default)s)",
    )
    parser.add_argument(
        "--delete-after-days",
        type=int,
        help="the copy's retention, days from the original's creation (default: the backup's)",
    )
    parser.add_argument("--yes", action="store_true", help="start the copy (without it: a dry run)")
    parser.add_argument("--wait", action="store_true", help="with --yes: wait until the copy job ends")
    parser.set_defaults(run=run)


def run(arguments: Any) -> int:
    if not (len(arguments.to_account) == 12 and arguments.to_account.isdigit()):
        raise CliError(f"--to-account {arguments.to_account} is not an account ID", "give its 12 digits")
    aws = common.session(arguments.profile, arguments.region)
    account = common.account_of(aws)
    if account == arguments.to_account:
        raise CliError(
            "--to-account is the account these credentials are in",
            "run it with the backup account's profile, --to-account the source account",
        )
    backup = aws.client("backup")
    point = backup.describe_recovery_point(
        BackupVaultName=arguments.vault_name, RecoveryPointArn=arguments.recovery_point_arn
    )
    role = f"arn:{aws.get_partition_for_region(aws.region_name)}:iam::{account}:role/{arguments.copy_role_name}"
    request = plan(point, arguments.vault_name, arguments.to_account, role, clock(), arguments.delete_after_days)
    if point.get("VaultType") == "LOGICALLY_AIR_GAPPED_BACKUP_VAULT":
        print("note: from an air-gapped vault, AWS copies back only into a vault with a customer managed key")
    print(
        f"{'Copy' if arguments.yes else 'Would copy'} {point.get('ResourceType', '')} backup "
        f"{request['RecoveryPointArn']} back to {request['DestinationBackupVaultArn']}:"
    )
    print(json.dumps({"StartCopyJob": request}, indent=2))
    if not arguments.yes:
        print(
            "Dry run: nothing started. Add --yes to start it (the source account's vault must admit it: "
            "sample vaults deployed with AllowCopyBack=true)."
        )
        return 0
    job_id = backup.start_copy_job(**request)["CopyJobId"]
    print(f"copy job {job_id} started")
    if not arguments.wait:
        print(f"follow it: aws backup describe-copy-job --copy-job-id {job_id} --region {aws.region_name}")
        return 0
    job = backup.describe_copy_job(CopyJobId=job_id)["CopyJob"]
    while job["State"] not in FINISHED:
        print(f"  {job['State']}...", flush=True)
        common.sleep(POLL_SECONDS)
        job = backup.describe_copy_job(CopyJobId=job_id)["CopyJob"]
    if job["State"] != "COMPLETED":
        raise CliError(
            f"copy job {job_id} {job['State']}: {job.get('StatusMessage', '')}",
            "deploy the stacks with AllowCopyBack=true (vault policies), share the key of a type "
            "not fully managed with the source account, then run it again",
        )
    print(
        f"copied: {job['DestinationRecoveryPointArn']}\nrestore it in account {arguments.to_account}: "
        f"aws backup start-restore-job --recovery-point-arn {job['DestinationRecoveryPointArn']} ..."
    )
    return 0
