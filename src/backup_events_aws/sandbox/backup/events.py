"""The EventBridge events AWS Backup emits for its jobs, as the documented samples shape them
(docs/AWS-BEHAVIOUR.md §1.2-1.4, 1.6, 1.9). Pure functions: the service (service.py) stamps the
envelope and hands the event to its sink.
"""

from __future__ import annotations

import datetime
from typing import Any

from .models import BackupJob, CopyJob

UTC = datetime.UTC


def ms(moment: datetime.datetime) -> str:
    """Detail timestamps: milliseconds and Z (docs/AWS-BEHAVIOUR.md §1.2)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def expected_completion(moment: datetime.datetime) -> str:
    """The RUNNING sample's odd format, e.g. "Jul 15, 2020 9:39:07 PM" (docs/AWS-BEHAVIOUR.md §1.3)."""
    hour = moment.hour % 12 or 12
    return f"{moment:%b} {moment.day}, {moment.year} {hour}:{moment:%M:%S} {'AM' if moment.hour < 12 else 'PM'}"


def event_created_by(created_by: dict[str, str] | None) -> dict[str, str] | None:
    if not created_by or "BackupPlanArn" not in created_by:
        return None
    # docs/AWS-BEHAVIOUR.md §1.3: events say backupPlanRuleId where the API says BackupRuleId
    return {
        "backupPlanId": created_by["BackupPlanId"],
        "backupPlanArn": created_by["BackupPlanArn"],
        "backupPlanVersion": created_by["BackupPlanVersion"],
        "backupPlanRuleId": created_by["BackupRuleId"],
    }


def backup_job_event(job: BackupJob, expected_end: datetime.datetime) -> tuple[list[str], dict[str, Any]]:
    """(resources, detail) of a "Backup Job State Change" event; `expected_end` for RUNNING."""
    if job.state == "CREATED":  # docs/AWS-BEHAVIOUR.md §1.3: CREATED carries only these three
        return [], {"backupJobId": job.job_id, "state": "CREATED", "creationDate": ms(job.creation_date)}
    done = job.state == "COMPLETED"
    detail: dict[str, Any] = {"backupJobId": job.job_id}
    if job.state in ("RUNNING", "COMPLETED"):  # docs/AWS-BEHAVIOUR.md §1.3: only these samples carry a size
        detail["backupSizeInBytes"] = str(job.backup_size)  # a string in backup-job events
    detail.update(
        {
            "backupVaultArn": job.vault_arn,
            "backupVaultName": job.vault_name,
            "bytesTransferred": str(job.backup_size if done else 0),
            "creationDate": ms(job.creation_date),
            "iamRoleArn": job.iam_role_arn,
            "resourceArn": job.resource_arn,
            "resourceType": job.resource_type,
            "state": job.state,
        }
    )
    if job.status_message is not None:
        detail["statusMessage"] = f'"{job.status_message}"'  # embedded quotes, as in the samples
    if job.completion_date is not None and job.state != "FAILED":  # the FAILED sample has none
        detail["completionDate"] = ms(job.completion_date)
    if job.start_by is not None:
        detail["startBy"] = ms(job.start_by)
    if job.state == "RUNNING":
        detail["expectedCompletionDate"] = expected_completion(expected_end)
    detail["percentDone"] = 100 if done else 0  # a number (docs/AWS-BEHAVIOUR.md §1.3)
    created_by = event_created_by(job.created_by)
    if created_by:
        detail["createdBy"] = created_by
    # docs/AWS-BEHAVIOUR.md §1.3: resources holds the recovery point only when COMPLETED
    return ([job.recovery_point_arn] if done else []), detail


def copy_job_event(job: CopyJob) -> tuple[list[str], dict[str, Any]]:
    """(resources, detail) of a "Copy Job State Change" event."""
    # docs/AWS-BEHAVIOUR.md §1.4/§1.6: emitted by the job's owner (source); resources[0] = source recovery point
    resources = [job.source_recovery_point_arn]
    if job.state == "CREATED":  # no copyJobId, resourceArn, resourceType, iamRoleArn
        return resources, {
            "creationDate": ms(job.creation_date),
            "state": "CREATED",
            "sourceBackupVaultArn": job.source_vault_arn,
            "destinationBackupVaultArn": job.destination_vault_arn,
        }
    detail: dict[str, Any] = {
        "copyJobId": job.job_id,
        "backupSizeInBytes": job.backup_size,  # a number here (docs/AWS-BEHAVIOUR.md §1.4)
        "creationDate": ms(job.creation_date),
        "iamRoleArn": job.iam_role_arn,
        "resourceArn": job.resource_arn,
        "resourceType": job.resource_type,
        "sourceBackupVaultArn": job.source_vault_arn,
        "state": job.state,
    }
    if job.status_message is not None:
        detail["statusMessage"] = job.status_message
    if job.completion_date is not None:
        detail["completionDate"] = ms(job.completion_date)
    detail["destinationBackupVaultArn"] = job.destination_vault_arn
    # docs/AWS-BEHAVIOUR.md §1.4: {} (an empty object) until COMPLETED
    detail["destinationRecoveryPointArn"] = job.destination_recovery_point_arn if job.state == "COMPLETED" else {}
    created_by = event_created_by(job.created_by)
    if created_by:
        detail["createdBy"] = created_by
    return resources, detail
