"""AWS Backup's state for the sandbox: one backend per account and region, as moto keeps its own.

Stock moto 5.2.5 knows only Backup plans, vaults, tags and vault lock. `SandboxBackupBackend`
extends moto's `BackupBackend` with backup and copy jobs, recovery points with lifecycles, vault
access policies and notifications, region settings, and the public methods `responses.py` calls,
named after the API operations. Everything the backends share (clock, settings, faults, the job
dispatcher, the event sink) is the `BackupService` (service.py) the backend reads as
`self.service`. A moto reset empties a backend, like moto's own. "§X.Y" comments point to
docs/AWS-BEHAVIOUR.md.
"""

from __future__ import annotations

import base64
import datetime
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from moto.backup.models import BackupBackend
from moto.utilities.utils import get_partition

from backup_events_aws.sandbox.helpers import arn_parts
from backup_events_aws.sandbox.policies import Request, as_list, is_denied, statements_of

from . import account_settings, vaults
from .exceptions import (
    AccessDeniedException,
    InvalidParameterValueException,
    InvalidRequestException,
    ResourceNotFoundException,
)

if TYPE_CHECKING:
    from .service import BackupService

UTC = datetime.UTC
DAY = datetime.timedelta(days=1)

# --------------------------------------------------------------------------------------------
# Resource types and ARNs (docs/AWS-BEHAVIOUR.md §2.1/§2.2/§2.3)

# docs/AWS-BEHAVIOUR.md §2.2: fully managed types (backups use the vault's key, arn:aws:backup ARNs)
FULLY_MANAGED_TYPES = frozenset(
    {"S3", "VirtualMachine", "DynamoDB", "EFS", "Timestream", "CloudFormation", "SAP HANA on Amazon EC2"}
)
# docs/AWS-BEHAVIOUR.md §2.3 (UNCONFIRMED column): types that can go cold; EBS only with the archive opt-in
COLD_CAPABLE_TYPES = frozenset(
    {"EFS", "DynamoDB", "Timestream", "VirtualMachine", "CloudFormation", "SAP HANA on Amazon EC2"}
)
RDS_LIKE_TYPES = frozenset({"RDS", "Aurora", "DocumentDB", "Neptune"})


def resource_type_of(resource_arn: str) -> str:
    _, service, _, _, rest = arn_parts(resource_arn)
    if service == "elasticfilesystem":
        return "EFS"
    if service == "ec2":
        return "EC2" if rest.startswith("instance/") else "EBS"
    if service == "rds":
        return "Aurora" if rest.startswith("cluster:") else "RDS"
    names = {
        "dynamodb": "DynamoDB",
        "s3": "S3",
        "fsx": "FSx",
        "storagegateway": "Storage Gateway",
        "redshift": "Redshift",
        "timestream": "Timestream",
        "cloudformation": "CloudFormation",
    }
    return names.get(service, service)


def recovery_point_arn(
    account: str, region: str, resource_type: str, job_id: str, is_copy: bool, unique: str, hex17: str
) -> str:
    """A recovery point's ARN as its type makes it; `unique` and `hex17` are the random parts."""
    p = get_partition(region)
    # docs/AWS-BEHAVIOUR.md §2.1: EBS/EC2 snapshot and AMI ARNs have an empty account field
    if resource_type in ("EBS", "Storage Gateway"):
        return f"arn:{p}:ec2:{region}::snapshot/snap-{hex17}"
    if resource_type == "EC2":
        return f"arn:{p}:ec2:{region}::image/ami-{hex17}"
    if resource_type in RDS_LIKE_TYPES:
        kind = "snapshot" if resource_type == "RDS" else "cluster-snapshot"
        prefix = "copyjob" if is_copy else "job"  # docs/AWS-BEHAVIOUR.md §2.1 (SECONDARY for copies)
        return f"arn:{p}:rds:{region}:{account}:{kind}:awsbackup:{prefix}-{job_id.lower()}"
    if resource_type == "FSx":
        return f"arn:{p}:fsx:{region}:{account}:backup/backup-{hex17}"
    return f"arn:{p}:backup:{region}:{account}:recovery-point:{unique}"


def default_backup_key(account: str, region: str) -> str:
    return f"arn:{get_partition(region)}:kms:{region}:{account}:alias/aws/backup"


def vault_arn_parts(vault_arn: str) -> tuple[str, str, str]:
    """(account, region, name) of a vault ARN; the name is field 6 (docs/AWS-BEHAVIOUR.md §1.3)."""
    try:
        _, service, region, account, resource = arn_parts(vault_arn)
    except ValueError:
        raise InvalidParameterValueException(f"Invalid backup vault ARN: {vault_arn}") from None
    kind, _, name = resource.partition(":")
    if service != "backup" or kind != "backup-vault" or not name:
        raise InvalidParameterValueException(f"Invalid backup vault ARN: {vault_arn}")
    return account, region, name


# --------------------------------------------------------------------------------------------
# Lifecycle rules (docs/AWS-BEHAVIOUR.md §3.1/§3.2/§3.5)


def normalise_lifecycle(lifecycle: dict[str, Any] | None) -> dict[str, Any]:
    """-1 means "not set" (docs/AWS-BEHAVIOUR.md §3.1: -1 removes the setting)."""
    out = {}
    for key, value in (lifecycle or {}).items():
        if key in ("MoveToColdStorageAfterDays", "DeleteAfterDays"):
            if value is not None and int(value) != -1:
                out[key] = int(value)
        elif key == "OptInToArchiveForSupportedResources" and value is not None:
            out[key] = bool(value)
    return out


def validate_lifecycle(lifecycle: dict[str, Any]) -> None:
    delete = lifecycle.get("DeleteAfterDays")
    cold = lifecycle.get("MoveToColdStorageAfterDays")
    # docs/AWS-BEHAVIOUR.md §3.2 (SECONDARY messages)
    if delete is not None and not 1 <= delete <= 36500:
        raise InvalidParameterValueException(
            "Invalid lifecycle. DeleteAfterDays cannot be less than 1 or more than 36500 days"
        )
    if cold is not None and cold < 0:
        raise InvalidParameterValueException("Invalid lifecycle. MoveToColdStorageAfterDays cannot be negative")
    if delete is not None and cold is not None and delete < cold + 90:
        raise InvalidParameterValueException(
            "Invalid lifecycle. DeleteAfterDays cannot be less than 90 days apart from MoveToColdStorageAfterDays"
        )


def check_role_assumable(role_arn: str) -> None:
    """AWS Backup works with the role it is handed: a role IAM doesn't know, or whose trust policy
    doesn't let backup.amazonaws.com assume it, is refused when the job is asked for
    (docs/AWS-BEHAVIOUR.md §4.2, §19 item 62; worded as AWS Backup's other APIs refuse it)."""
    from ..authorization import service_may_assume

    if not service_may_assume(role_arn, "backup.amazonaws.com"):  # also a role IAM doesn't know
        raise InvalidParameterValueException(f"IAM Role {role_arn} cannot be assumed by AWS Backup")


# --------------------------------------------------------------------------------------------
# Recovery points and jobs


@dataclass
class RecoveryPoint:
    arn: str
    account: str
    region: str
    vault_name: str
    vault_arn: str
    resource_arn: str
    resource_type: str
    iam_role_arn: str
    creation_date: datetime.datetime
    completion_date: datetime.datetime
    lifecycle: dict[str, Any]
    encryption_key_arn: str | None
    backup_size: int = 36048
    source_vault_arn: str | None = None
    created_by: dict[str, str] | None = None
    storage_class: str = "WARM"
    status: str = "COMPLETED"
    is_continuous: bool = False
    deleted_at: datetime.datetime | None = None
    lifecycle_updated_at: datetime.datetime | None = None  # last UpdateRecoveryPointLifecycle that changed it
    schedule_generation: int = 0  # stale lifecycle callbacks compare this
    key_is_aws_managed: bool = False  # judged when the point is made (EncryptionKeyType)

    def calculated_lifecycle(self) -> dict[str, datetime.datetime]:
        out = {}
        if self.lifecycle.get("MoveToColdStorageAfterDays") is not None:
            out["MoveToColdStorageAt"] = self.creation_date + DAY * self.lifecycle["MoveToColdStorageAfterDays"]
        if self.lifecycle.get("DeleteAfterDays") is not None:
            # docs/AWS-BEHAVIOUR.md §3.5: DeleteAt = CreationDate + DeleteAfterDays x 24 h
            out["DeleteAt"] = self.creation_date + DAY * self.lifecycle["DeleteAfterDays"]
        return out

    def can_go_cold(self) -> bool:
        return self.resource_type in COLD_CAPABLE_TYPES or (
            self.resource_type == "EBS" and bool(self.lifecycle.get("OptInToArchiveForSupportedResources"))
        )

    def to_api(self) -> dict[str, Any]:
        out = {
            "RecoveryPointArn": self.arn,
            "BackupVaultName": self.vault_name,
            "BackupVaultArn": self.vault_arn,
            "SourceBackupVaultArn": self.source_vault_arn,
            "ResourceArn": self.resource_arn,
            "ResourceType": self.resource_type,
            "CreatedBy": self.created_by,
            "IamRoleArn": self.iam_role_arn,
            "Status": self.status,
            "CreationDate": self.creation_date,
            "InitiationDate": self.creation_date,
            "CompletionDate": self.completion_date,
            "BackupSizeInBytes": self.backup_size,
            "CalculatedLifecycle": self.calculated_lifecycle(),
            "Lifecycle": dict(self.lifecycle),
            "EncryptionKeyArn": self.encryption_key_arn,
            "IsEncrypted": bool(self.encryption_key_arn),
            "StorageClass": self.storage_class,
            "IsParent": False,
            "VaultType": "BACKUP_VAULT",
        }
        if self.encryption_key_arn:
            out["EncryptionKeyType"] = "AWS_OWNED_KMS_KEY" if self.key_is_aws_managed else "CUSTOMER_MANAGED_KMS_KEY"
        return {k: v for k, v in out.items() if v is not None}


@dataclass
class Job:
    job_id: str
    account: str
    region: str
    resource_arn: str
    resource_type: str
    iam_role_arn: str
    creation_date: datetime.datetime
    lifecycle: dict[str, Any] | None
    order: int  # creation order across the sandbox (the dispatcher starts the oldest first)
    created_by: dict[str, str] | None = None
    state: str = "CREATED"
    status_message: str | None = None
    completion_date: datetime.datetime | None = None
    started: bool = False  # holds its resource (and a copy slot) from dispatch to the end

    @property
    def finished(self) -> bool:
        return self.state in ("COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL")


@dataclass
class BackupJob(Job):
    vault_name: str = ""
    vault_arn: str = ""
    recovery_point_arn: str = ""
    start_by: datetime.datetime | None = None
    backup_size: int = 36048

    def to_api(self) -> dict[str, Any]:
        done = self.state == "COMPLETED"
        out = {
            "AccountId": self.account,
            "BackupJobId": self.job_id,
            "BackupVaultName": self.vault_name,
            "BackupVaultArn": self.vault_arn,
            "RecoveryPointArn": self.recovery_point_arn,
            "ResourceArn": self.resource_arn,
            "CreationDate": self.creation_date,
            "CompletionDate": self.completion_date,
            "State": self.state,
            "StatusMessage": self.status_message,
            "PercentDone": "100.0" if done else "0.0",
            "BackupSizeInBytes": self.backup_size if done else 0,
            "IamRoleArn": self.iam_role_arn,
            "CreatedBy": self.created_by,
            "ResourceType": self.resource_type,
            "BytesTransferred": self.backup_size if done else 0,
            "StartBy": self.start_by,
            "RecoveryPointLifecycle": self.lifecycle,
            "IsParent": False,
        }
        return {k: v for k, v in out.items() if v not in (None, "")}


@dataclass
class CopyJob(Job):
    source_vault_name: str = ""
    source_vault_arn: str = ""
    source_recovery_point_arn: str = ""
    destination_vault_arn: str = ""
    destination_recovery_point_arn: str | None = None
    backup_size: int = 36048
    failure: str | None = None  # decided when the job starts running

    def to_api(self) -> dict[str, Any]:
        out = {
            "AccountId": self.account,
            "CopyJobId": self.job_id,
            "SourceBackupVaultArn": self.source_vault_arn,
            "SourceRecoveryPointArn": self.source_recovery_point_arn,
            "DestinationBackupVaultArn": self.destination_vault_arn,
            "DestinationRecoveryPointArn": self.destination_recovery_point_arn,
            "DestinationRecoveryPointLifecycle": self.lifecycle,
            "ResourceArn": self.resource_arn,
            "CreationDate": self.creation_date,
            "CompletionDate": self.completion_date,
            "State": self.state,
            "StatusMessage": self.status_message,
            "BackupSizeInBytes": self.backup_size,
            "IamRoleArn": self.iam_role_arn,
            "CreatedBy": self.created_by,
            "ResourceType": self.resource_type,
            "IsParent": False,
        }
        return {k: v for k, v in out.items() if v is not None}


# --------------------------------------------------------------------------------------------
# Listing with pagination


def paginate(items: list[Any], max_results: int | None, next_token: str | None) -> tuple[list[Any], str | None]:
    start = 0
    if next_token:
        try:
            start = int(base64.urlsafe_b64decode(next_token.encode()).decode())
        except ValueError:
            raise InvalidParameterValueException("Invalid NextToken") from None
    size = max_results or 1000
    page = items[start : start + size]
    more = start + size < len(items)
    return page, base64.urlsafe_b64encode(str(start + size).encode()).decode() if more else None


def as_datetime(value: Any) -> datetime.datetime | None:
    if value is None or isinstance(value, datetime.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, UTC)
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _signature(request: dict[str, Any]) -> str:
    return json.dumps(request, sort_keys=True, default=str)


# --------------------------------------------------------------------------------------------
# The backend


class SandboxBackupBackend(BackupBackend):  # type: ignore[misc]
    """moto's AWS Backup for one account and region, plus what the sandbox adds.

    `service` is set on the per-service subclass `BackupService` makes (a moto reset re-runs
    `__init__` on an emptied instance, so the service cannot be an instance attribute)."""

    service: ClassVar[BackupService]

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.recovery_points: dict[str, RecoveryPoint] = {}
        self.deleted_recovery_points: list[RecoveryPoint] = []
        self.backup_jobs: dict[str, BackupJob] = {}
        self.copy_jobs: dict[str, CopyJob] = {}
        self.idempotency: dict[tuple[str, str], tuple[str, str]] = {}  # (kind, token) -> (request, job)
        # Calls per simulated second: second -> operation (and "*") -> count. Kept per second,
        # not just for the current one, so calls made inside a Lambda span (clock.py) count in
        # their own second whatever order they run in.
        self.rate_counts: dict[int, dict[str, int]] = {}
        # Dispatch indexes (kept in step by start/finish), so a burst of thousands of jobs is
        # dispatched in time proportional to what starts, not to every job ever made.
        self.waiting_backups: dict[str, BackupJob] = {}  # creation order
        self.waiting_copies: dict[str, dict[str, CopyJob]] = {}  # by destination vault
        self.busy_resources: dict[str, int] = {}  # resource ARN -> started jobs
        self.copies_to_region: dict[str, int] = {}  # destination region -> started
        self.copies_to_vault: dict[str, int] = {}  # destination vault -> started
        self.region_settings = account_settings.RegionSettings()

    # -- lookups ----------------------------------------------------------------------------

    def vault(self, name: str) -> Any:
        vault = self.vaults.get(name)
        if vault is None:
            raise ResourceNotFoundException(
                f"Backup vault {name} not found in account {self.account_id}, region {self.region_name}"
            )
        return vault

    def recovery_point(self, vault_name: str, arn: str) -> RecoveryPoint:
        self.vault(vault_name)
        rp = self.recovery_points.get(arn)
        if rp is None or rp.vault_name != vault_name:
            raise ResourceNotFoundException(f"Recovery point {arn} not found in backup vault {vault_name}")
        return rp

    def add_recovery_point(self, rp: RecoveryPoint) -> None:
        self.recovery_points[rp.arn] = rp
        self._vault_count_changed(rp.vault_name, 1)
        self.service.schedule_lifecycle(rp)

    def delete_expired(self, rp: RecoveryPoint) -> None:
        del self.recovery_points[rp.arn]
        rp.status, rp.storage_class, rp.deleted_at = "DELETED", "DELETED", self.service.now()
        self.deleted_recovery_points.append(rp)
        self._vault_count_changed(rp.vault_name, -1)

    def _vault_count_changed(self, vault_name: str, change: int) -> None:
        vault = self.vaults.get(vault_name)
        if vault is not None:
            vault.num_of_recovery_points = max(0, (vault.num_of_recovery_points or 0) + change)

    def _idempotent(self, kind: str, token: str | None, request: dict[str, Any]) -> str | None:
        """Job id of an earlier identical request with this token (docs/AWS-BEHAVIOUR.md §3.1, §19
        item 3: reuse with different parameters is UNCONFIRMED; the sandbox rejects it)."""
        if not token:
            return None
        earlier = self.idempotency.get((kind, token))
        if earlier is None:
            return None
        if earlier[0] != _signature(request):
            raise InvalidRequestException(f"IdempotencyToken {token} was already used with different parameters")
        return earlier[1]

    # -- jobs -------------------------------------------------------------------------------

    def start_backup_job(
        self,
        vault_name: str,
        resource_arn: str,
        iam_role_arn: str,
        lifecycle: dict[str, Any] | None = None,
        idempotency_token: str | None = None,
        created_by: dict[str, str] | None = None,
    ) -> BackupJob:
        service = self.service
        request = {"vault": vault_name, "resource": resource_arn, "role": iam_role_arn, "lifecycle": lifecycle}
        earlier = self._idempotent("backup", idempotency_token, request)
        if earlier:
            return self.backup_jobs[earlier]
        normalised = normalise_lifecycle(lifecycle)
        validate_lifecycle(normalised)
        check_role_assumable(iam_role_arn)
        now, account, region = service.now(), self.account_id, self.region_name
        resource_type = resource_type_of(resource_arn)
        job_id = service.new_uuid().upper()
        job = BackupJob(
            job_id=job_id,
            account=account,
            region=region,
            resource_arn=resource_arn,
            resource_type=resource_type,
            iam_role_arn=iam_role_arn,
            creation_date=now,
            lifecycle=normalised or None,
            order=service.next_order(),
            created_by=created_by,
            vault_name=vault_name,
            vault_arn=f"arn:{get_partition(region)}:backup:{region}:{account}:backup-vault:{vault_name}",
            recovery_point_arn=service.new_recovery_point_arn(account, region, resource_type, job_id, False),
            start_by=now + datetime.timedelta(hours=8),  # default start window (samples: +8 h)
        )
        self.backup_jobs[job_id] = job
        self.waiting_backups[job_id] = job
        if idempotency_token:
            self.idempotency[("backup", idempotency_token)] = (_signature(request), job_id)
        service.job_created(job)
        return job

    def describe_backup_job(self, job_id: str) -> BackupJob:
        job = self.backup_jobs.get(job_id)
        if job is None:
            raise ResourceNotFoundException(f"Backup job {job_id} not found")
        return job

    def list_backup_jobs(self, filters: dict[str, Any]) -> list[BackupJob]:
        return [
            job
            for job in sorted(self.backup_jobs.values(), key=lambda j: j.order)
            if filters.get("ByState") in (None, job.state)
            and filters.get("ByBackupVaultName") in (None, job.vault_name)
            and filters.get("ByResourceArn") in (None, job.resource_arn)
        ]

    def start_copy_job(
        self,
        source_vault_name: str,
        recovery_point_arn: str,
        destination_vault_arn: str,
        iam_role_arn: str,
        lifecycle: dict[str, Any] | None = None,
        idempotency_token: str | None = None,
    ) -> tuple[CopyJob, bool]:
        """The job, and whether this call started it (False: a replay of an earlier token)."""
        service = self.service
        request = {
            "vault": source_vault_name,
            "rp": recovery_point_arn,
            "dest": destination_vault_arn,
            "role": iam_role_arn,
            "lifecycle": lifecycle,
        }
        earlier = self._idempotent("copy", idempotency_token, request)
        if earlier:  # docs/AWS-BEHAVIOUR.md §3.1: same token -> success, no action taken
            return self.copy_jobs[earlier], False
        # docs/AWS-BEHAVIOUR.md §1.6/§3.1: the source vault is a name, resolved in the caller's account and region
        source_vault = self.vault(source_vault_name)
        source = self.recovery_point(source_vault_name, recovery_point_arn)
        if source.is_continuous:  # docs/AWS-BEHAVIOUR.md §3.1: no on-demand copies of continuous backups
            raise InvalidParameterValueException("StartCopyJob does not support continuous backups.")
        vault_arn_parts(destination_vault_arn)
        check_role_assumable(iam_role_arn)
        normalised = None
        if lifecycle is not None:
            validate_lifecycle(normalise_lifecycle(lifecycle))
            normalised = {k: v for k, v in lifecycle.items() if v is not None}
        job = CopyJob(
            job_id=service.new_uuid().upper(),
            account=self.account_id,
            region=self.region_name,
            resource_arn=source.resource_arn,
            resource_type=source.resource_type,
            iam_role_arn=iam_role_arn,
            creation_date=service.now(),
            lifecycle=normalised,
            order=service.next_order(),
            source_vault_name=source_vault_name,
            source_vault_arn=source_vault.backup_vault_arn,
            source_recovery_point_arn=recovery_point_arn,
            destination_vault_arn=destination_vault_arn,
            backup_size=source.backup_size,
        )
        self.copy_jobs[job.job_id] = job
        self.waiting_copies.setdefault(destination_vault_arn, {})[job.job_id] = job
        if idempotency_token:
            self.idempotency[("copy", idempotency_token)] = (_signature(request), job.job_id)
        service.job_created(job)
        return job, True

    def describe_copy_job(self, job_id: str) -> CopyJob:
        job = self.copy_jobs.get(job_id)
        if job is None:
            raise ResourceNotFoundException(f"Copy job {job_id} not found")
        return job

    def list_copy_jobs(self, filters: dict[str, Any]) -> list[CopyJob]:
        after, before = as_datetime(filters.get("ByCreatedAfter")), as_datetime(filters.get("ByCreatedBefore"))
        jobs = []
        for job in sorted(self.copy_jobs.values(), key=lambda j: j.order):
            checks = [
                ("ByState", job.state),
                ("ByDestinationVaultArn", job.destination_vault_arn),
                ("BySourceRecoveryPointArn", job.source_recovery_point_arn),
                ("ByAccountId", job.account),
                ("ByResourceArn", job.resource_arn),
                ("ByResourceType", job.resource_type),
            ]
            if any(filters.get(name) not in (None, value) for name, value in checks):
                continue
            if (after and job.creation_date <= after) or (before and job.creation_date >= before):
                continue
            jobs.append(job)
        return jobs

    # -- recovery points --------------------------------------------------------------------

    def check_vault_access_policy(
        self, vault_name: str, action: str, recovery_point_arn: str, caller_account: str, caller_arn: str | None
    ) -> None:
        """docs/AWS-BEHAVIOUR.md §7: DescribeRecoveryPoint and UpdateRecoveryPointLifecycle "use the
        existing vault access policy": a Deny there refuses the caller (its own identity policy is
        not modelled)."""
        policy = statements_of(getattr(self.vault(vault_name), "sandbox_access_policy", None))
        org_id = self.service.organization_of(caller_account)
        request = Request(
            action=action,
            resource=recovery_point_arn,
            principal_account=caller_account,
            principal_arn=caller_arn,
            context={"aws:PrincipalOrgID": org_id} if org_id else {},
        )
        if is_denied(policy, request, check_principal=True):
            raise AccessDeniedException(
                f"User: {caller_arn or caller_account} is not authorized to perform: {action} on resource: "
                f"{recovery_point_arn} with an explicit deny in a resource-based policy"
            )

    def describe_recovery_point(
        self, vault_name: str, arn: str, caller_account: str, caller_arn: str | None
    ) -> RecoveryPoint:
        rp = self.recovery_point(vault_name, arn)
        self.check_vault_access_policy(vault_name, "backup:DescribeRecoveryPoint", arn, caller_account, caller_arn)
        return rp

    def update_recovery_point_lifecycle(
        self,
        vault_name: str,
        arn: str,
        lifecycle: dict[str, Any] | None,
        caller_account: str | None = None,
        caller_arn: str | None = None,
    ) -> dict[str, Any]:
        vault = self.vault(vault_name)
        rp = self.recovery_point(vault_name, arn)
        if caller_account is not None:
            self.check_vault_access_policy(
                vault_name, "backup:UpdateRecoveryPointLifecycle", arn, caller_account, caller_arn
            )
        if rp.is_continuous:  # docs/AWS-BEHAVIOUR.md §3.2: "does not support continuous backups"
            raise InvalidParameterValueException("This operation does not support continuous backups.")
        # docs/AWS-BEHAVIOUR.md §3.2: the new lifecycle replaces the old; a missing
        # MoveToColdStorageAfterDays clears it
        new = normalise_lifecycle(lifecycle)
        validate_lifecycle(new)
        if rp.storage_class == "COLD" and new.get("MoveToColdStorageAfterDays") != rp.lifecycle.get(
            "MoveToColdStorageAfterDays"
        ):
            raise InvalidParameterValueException(
                "Invalid lifecycle. MoveToColdStorageAfterDays cannot be changed after the recovery point "
                "has transitioned to cold storage"
            )
        if vault.locked:
            # docs/AWS-BEHAVIOUR.md §17.1: Vault Lock "prevents attempts to update the lifecycle" of the
            # points in the vault; read strictly (§19 item 12), every update is refused. The wording
            # is ours: AWS documents none for this refusal.
            raise InvalidRequestException(
                f"Backup vault {vault_name} is locked (Vault Lock): the lifecycle of its recovery points "
                "cannot be updated"
            )
        if new != rp.lifecycle:
            rp.lifecycle_updated_at = self.service.now()
        rp.lifecycle = new
        self.service.schedule_lifecycle(rp)
        return {
            "BackupVaultArn": rp.vault_arn,
            "RecoveryPointArn": rp.arn,
            "Lifecycle": dict(new),
            "CalculatedLifecycle": rp.calculated_lifecycle(),
        }

    def list_recovery_points_by_backup_vault(self, vault_name: str, filters: dict[str, Any]) -> list[RecoveryPoint]:
        self.vault(vault_name)
        after, before = as_datetime(filters.get("ByCreatedAfter")), as_datetime(filters.get("ByCreatedBefore"))
        points = []
        for rp in self.recovery_points.values():
            if rp.vault_name != vault_name:
                continue
            if filters.get("ByResourceArn") not in (None, rp.resource_arn):
                continue
            if filters.get("ByResourceType") not in (None, rp.resource_type):
                continue
            if filters.get("ByBackupPlanId") not in (None, (rp.created_by or {}).get("BackupPlanId")):
                continue
            if (after and rp.creation_date <= after) or (before and rp.creation_date >= before):
                continue
            points.append(rp)
        return sorted(points, key=lambda rp: (rp.creation_date, rp.arn), reverse=True)

    def list_recovery_points_by_resource(self, resource_arn: str) -> list[dict[str, Any]]:
        """The recovery points of one resource in this account and region, newest first."""
        points = [rp for rp in self.recovery_points.values() if rp.resource_arn == resource_arn]
        points.sort(key=lambda rp: (rp.creation_date, rp.arn), reverse=True)
        out = []
        for rp in points:
            api = rp.to_api()
            described = {
                "RecoveryPointArn": rp.arn,
                "CreationDate": rp.creation_date,
                "Status": rp.status,
                "EncryptionKeyArn": rp.encryption_key_arn,
                "BackupSizeBytes": rp.backup_size,
                "BackupVaultName": rp.vault_name,
                "IsParent": False,
                "VaultType": "BACKUP_VAULT",
                "EncryptionKeyType": api.get("EncryptionKeyType"),
            }
            out.append({key: value for key, value in described.items() if value is not None})
        return out

    # -- vaults -----------------------------------------------------------------------------

    def vault_description(self, vault_name: str) -> dict[str, Any]:
        """DescribeBackupVault's output: moto's, with the vault type (vaults.py)."""
        vault = self.describe_backup_vault(vault_name)
        return {
            **{k: v for k, v in vault.to_list_dict().items() if v is not None},
            **vaults.describe_vault_extras(vault),
        }

    def create_logically_air_gapped_backup_vault(
        self,
        vault_name: str,
        min_retention_days: Any,
        max_retention_days: Any,
        tags: dict[str, str] | None = None,
        creator_request_id: str | None = None,
        encryption_key_arn: str | None = None,
    ) -> Any:
        return vaults.create_air_gapped_vault(
            self, vault_name, min_retention_days, max_retention_days, tags, creator_request_id, encryption_key_arn
        )

    # -- vault access policies (docs/AWS-BEHAVIOUR.md §7), evaluated by policies.py ---------

    def put_backup_vault_access_policy(self, vault_name: str, policy: str) -> None:
        vault = self.vault(vault_name)
        try:
            document = json.loads(policy)
        except ValueError:
            raise InvalidParameterValueException("Policy is not valid JSON") from None
        for statement in as_list(document.get("Statement")):
            if any(a == "*" or a.endswith(":*") for a in as_list(statement.get("Action"))):
                # docs/AWS-BEHAVIOUR.md §7: vault access policies don't support a wildcard in Action
                raise InvalidParameterValueException("Vault access policies do not support a wildcard in Action")
        vault.sandbox_access_policy = policy  # authorization.py reads it under this name

    def get_backup_vault_access_policy(self, vault_name: str) -> dict[str, str]:
        vault = self.vault(vault_name)
        policy = getattr(vault, "sandbox_access_policy", None)
        if not policy:
            raise ResourceNotFoundException(f"Backup vault {vault_name} has no access policy")
        return {"BackupVaultName": vault_name, "BackupVaultArn": vault.backup_vault_arn, "Policy": policy}

    def delete_backup_vault_access_policy(self, vault_name: str) -> None:
        self.vault(vault_name).sandbox_access_policy = None

    # -- settings and notifications (account_settings.py) -----------------------------------

    def describe_global_settings(self) -> dict[str, Any]:
        return account_settings.describe_global_settings(self.account_id)

    def update_global_settings(self, values: dict[str, str] | None) -> None:
        account_settings.update_global_settings(self.account_id, values, self.service.now())

    def describe_region_settings(self) -> dict[str, Any]:
        return account_settings.describe_region_settings(self.region_settings)

    def update_region_settings(self, opt_in: dict[str, bool] | None, management: dict[str, bool] | None) -> None:
        account_settings.update_region_settings(self.region_settings, opt_in, management)

    def put_backup_vault_notifications(self, vault_name: str, topic_arn: str, events: list[str]) -> None:
        vault = self.vault(vault_name)
        account_settings.put_vault_notifications(
            self.region_settings, vault_name, vault.backup_vault_arn, topic_arn, events
        )

    def get_backup_vault_notifications(self, vault_name: str) -> dict[str, Any]:
        self.vault(vault_name)
        return account_settings.get_vault_notifications(self.region_settings, vault_name)

    def delete_backup_vault_notifications(self, vault_name: str) -> None:
        self.vault(vault_name)
        self.region_settings.notifications.pop(vault_name, None)
