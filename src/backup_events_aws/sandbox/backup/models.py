"""AWS Backup for the sandbox: the jobs, recovery points and policies that stock moto lacks.

Stock moto 5.2.5 knows only Backup plans, vaults, tags and vault lock. `install()` adds, behind
the real REST-JSON API (see `backup_api.py`), backup and copy jobs that progress with the
sandbox's simulated clock, recovery points with lifecycles (cold storage, expiry), vault access
policies, the documented copy failures, request-rate throttling and the documented EventBridge
event shapes. "§X.Y" comments point to docs/AWS-BEHAVIOUR.md.

AWS state lives on moto's own per-account, per-region `BackupBackend` (so a moto reset clears
it); sandbox-wide knobs (clock, event sink, organisation registry, faults) live in this module.
"""

from __future__ import annotations

import base64
import datetime
import heapq
import itertools
import json
import random
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from moto.backup.exceptions import (
    InvalidParameterValueException,
    InvalidRequestException,
    ResourceNotFoundException,
)
from moto.backup.models import BackupBackend, backup_backends
from moto.utilities.utils import get_partition

from backup_events_aws.sandbox.clock import Clock
from backup_events_aws.sandbox.helpers import arn_parts, envelope_time, random_uuid
from .exceptions import AccessDeniedException, ThrottlingException
from .protected_resources import missing_resource_message, resource_exists
from backup_events_aws.sandbox.policies import Request, as_list, is_allowed, is_denied, statements_of

UTC = datetime.timezone.utc
DAY = datetime.timedelta(days=1)


# --------------------------------------------------------------------------------------------
# Sandbox-wide settings, clock, events, organisations, faults


@dataclass
class Settings:
    job_start_seconds: float = 60  # CREATED -> RUNNING once the resource is free
    backup_run_seconds: float = 300  # RUNNING -> COMPLETED
    copy_run_seconds: float = 600
    copy_fail_seconds: float = 60  # RUNNING -> FAILED
    expiry_window_seconds: float = 8 * 3600  # docs/AWS-BEHAVIOUR.md §3.5: deleted within the following 8 h
    # docs/AWS-BEHAVIOUR.md §5.1: 100 concurrent copies per account in a destination region, then up to 5
    # more per destination vault; extra jobs wait in CREATED (UNCONFIRMED vs an error, 9.4).
    copy_concurrency_per_region: int = 100
    copy_concurrency_extra_per_vault: int = 5
    throttling: bool = True
    seed: int = 0
    # A backup of a resource moto doesn't have fails (protected_resources.py); off only where the
    # Backup emulation is exercised alone on made-up ARNs.
    require_existing_resources: bool = True


@dataclass
class _Faults:
    throttle_fraction: float = 0.0
    throttle_operations: set[str] | None = None  # None: every operation
    denied: set[tuple[str, str | None, str | None]] = field(default_factory=set)
    copy_failure_messages: list[str] = field(default_factory=list)


settings = Settings()
_faults = _Faults()
_lock = threading.RLock()  # ThreadedMotoServer serves requests on threads
_clock: Clock | None = None
_rng = random.Random(settings.seed)
recorded_events: list[dict] = []
_sink: Callable[[dict], None] = recorded_events.append
_org_of_account: dict[str, str] = {}
_org_lookup: Callable[[str], str | None] = _org_of_account.get
_resource_keys: dict[str, str] = {}  # protected resource ARN -> its KMS key ARN
_aws_managed_keys: set[str] = set()
_sequence = itertools.count()


def configure(**changes: Any) -> Settings:
    """Change settings (durations, quotas, throttling, seed); returns them."""
    for name, value in changes.items():
        if not hasattr(settings, name):
            raise TypeError(f"unknown setting {name}")
        setattr(settings, name, value)
    if "seed" in changes:
        _rng.seed(settings.seed)
    return settings


def set_clock(clock: Clock) -> None:
    """The sandbox has one clock: jobs, lifecycles and rate limits all read it."""
    global _clock, _dispatch_pending
    _clock = clock
    _dispatch_pending = False  # a pass pending on another clock would never run


def get_clock() -> Clock:
    global _clock
    if _clock is None:
        _clock = Clock()
    return _clock


def _now() -> datetime.datetime:
    return get_clock().now()


def set_event_sink(sink: Callable[[dict], None] | None) -> None:
    """Where emitted events go; None restores the default (append to `recorded_events`)."""
    global _sink
    _sink = sink if sink is not None else recorded_events.append


def set_organization_lookup(lookup: Callable[[str], str | None] | None) -> None:
    """Where organisation membership is looked up: account ID -> organisation ID or None.
    The sandbox Organization passes its own (its layout is the one registry); None restores
    the module's table, which `set_organization` fills for use without an Organization."""
    global _org_lookup
    _org_lookup = lookup if lookup is not None else _org_of_account.get


def set_organization(org_id: str, accounts: Iterable[str]) -> None:
    """Without an Organization: record these accounts as members of org_id (and use this table)."""
    for account in accounts:
        _org_of_account[account] = org_id
    set_organization_lookup(None)


def organization_of(account_id: str) -> str | None:
    return _org_lookup(account_id)


def set_resource_encryption(resource_arn: str, kms_key_arn: str | None) -> None:
    """The KMS key of a protected resource (its backups inherit it unless fully managed)."""
    if kms_key_arn:
        _resource_keys[resource_arn] = kms_key_arn
    else:
        _resource_keys.pop(resource_arn, None)


def _aws_managed_key_arn(account: str, region: str, service: str) -> str:
    """The AWS managed key a service encrypts with by default (alias aws/ebs, aws/rds...)."""
    return f"arn:{get_partition(region)}:kms:{region}:{account}:alias/aws/{service}"


def _key_arn(account: str, region: str, key: str | None, default_service: str) -> str:
    """A key as the resource names it (ID, alias, ARN, or none: the service's AWS managed key), as an ARN."""
    if not key or key == "default_kms_key_id":  # moto's placeholder for "the default key"
        return _aws_managed_key_arn(account, region, default_service)
    if key.startswith("arn:"):
        return key
    kind = key if key.startswith("alias/") else f"key/{key}"
    return f"arn:{get_partition(region)}:kms:{region}:{account}:{kind}"


def resource_encryption_key(resource_arn: str) -> str | None:
    """The KMS key of a protected resource: one set with `set_resource_encryption`, else what the
    resource itself carries in moto (an EBS volume, EFS file system or RDS instance/cluster created
    encrypted through the API; without a KmsKeyId, the service's AWS managed key aws/ebs,
    aws/elasticfilesystem, aws/rds; docs/AWS-BEHAVIOUR.md §4.3)."""
    if resource_arn in _resource_keys:
        return _resource_keys[resource_arn]
    try:
        _, service, region, account, rest = arn_parts(resource_arn)
    except ValueError:
        return None
    try:
        if service == "ec2" and rest.startswith("volume/"):
            from moto.ec2.models import ec2_backends

            volume = ec2_backends[account][region].volumes.get(rest.split("/", 1)[1])
            if volume is not None and volume.encrypted:
                return _key_arn(account, region, volume.kms_key_id, "ebs")
        elif service == "elasticfilesystem":
            from moto.efs.models import efs_backends

            file_system = efs_backends[account][region].file_systems_by_id.get(rest.split("/", 1)[1])
            if file_system is not None and file_system.encrypted:
                return _key_arn(account, region, file_system.kms_key_id, "elasticfilesystem")
        elif service == "rds":
            from moto.rds.models import rds_backends

            kind, _, name = rest.partition(":")
            backend = rds_backends[account][region]
            found = (backend.databases if kind == "db" else backend.clusters).get(name)
            if found is not None and found.storage_encrypted:
                return _key_arn(account, region, getattr(found, "kms_key_id", None), "rds")
    except (AttributeError, KeyError):
        return None
    return None


def register_aws_managed_key(kms_key_arn: str) -> None:
    """Mark a key ID ARN as AWS managed (alias ARNs `alias/aws/...` are recognised anyway)."""
    _aws_managed_keys.add(kms_key_arn)


def inject_throttling(fraction: float, operations: Iterable[str] | None = None) -> None:
    """Throttle this fraction of calls (seeded random), optionally only these operations."""
    _faults.throttle_fraction = fraction
    _faults.throttle_operations = set(operations) if operations is not None else None


def deny_access(operation: str, account_id: str | None = None, region: str | None = None) -> None:
    """Make `operation` (e.g. "StartCopyJob") raise AccessDeniedException; None = any."""
    _faults.denied.add((operation, account_id, region))


def allow_access(operation: str, account_id: str | None = None, region: str | None = None) -> None:
    _faults.denied.discard((operation, account_id, region))


def fail_next_copies(count: int, message: str = "Access Denied trying to call AWS Backup service") -> None:
    """The next `count` copy jobs that start running end FAILED with `message`."""
    _faults.copy_failure_messages.extend([message] * count)


def clear_faults() -> None:
    global _faults
    _faults = _Faults()


def reset_sandbox() -> None:
    """Restore default settings, sink, organisations, keys and faults (moto state is untouched;
    a new clock is created on next use)."""
    global _clock, _dispatch_pending
    _dispatch_pending = False
    settings.__dict__.update(Settings().__dict__)  # in place: importers keep a live reference
    _rng.seed(settings.seed)
    _clock = None
    recorded_events.clear()
    set_event_sink(None)
    _org_of_account.clear()
    set_organization_lookup(None)
    _resource_keys.clear()
    _aws_managed_keys.clear()
    clear_faults()


# --------------------------------------------------------------------------------------------
# Resource types and ARNs (docs/AWS-BEHAVIOUR.md §2.1/§2.2/§2.3)

# docs/AWS-BEHAVIOUR.md §2.2: fully managed types (backups use the vault's key, arn:aws:backup ARNs)
FULLY_MANAGED_TYPES = {"S3", "VirtualMachine", "DynamoDB", "EFS", "Timestream", "CloudFormation",
                       "SAP HANA on Amazon EC2"}
# docs/AWS-BEHAVIOUR.md §2.3 (UNCONFIRMED column): types that can go cold; EBS only with the archive opt-in
COLD_CAPABLE_TYPES = {"EFS", "DynamoDB", "Timestream", "VirtualMachine", "CloudFormation",
                      "SAP HANA on Amazon EC2"}


def resource_type_of(resource_arn: str) -> str:
    _, service, _, _, rest = arn_parts(resource_arn)
    if service == "elasticfilesystem":
        return "EFS"
    if service == "ec2":
        return "EC2" if rest.startswith("instance/") else "EBS"
    if service == "rds":
        return "Aurora" if rest.startswith("cluster:") else "RDS"
    return {"dynamodb": "DynamoDB", "s3": "S3", "fsx": "FSx", "storagegateway": "Storage Gateway",
            "redshift": "Redshift", "timestream": "Timestream",
            "cloudformation": "CloudFormation"}.get(service, service)


def _new_uuid() -> str:
    return random_uuid(_rng)


def _hex17() -> str:
    return f"{_rng.getrandbits(68):017x}"


def _recovery_point_arn(account: str, region: str, resource_type: str, job_id: str, is_copy: bool) -> str:
    p = get_partition(region)
    # docs/AWS-BEHAVIOUR.md §2.1: EBS/EC2 snapshot and AMI ARNs have an empty account field
    if resource_type in ("EBS", "Storage Gateway"):
        return f"arn:{p}:ec2:{region}::snapshot/snap-{_hex17()}"
    if resource_type == "EC2":
        return f"arn:{p}:ec2:{region}::image/ami-{_hex17()}"
    if resource_type in ("RDS", "Aurora", "DocumentDB", "Neptune"):
        kind = "snapshot" if resource_type == "RDS" else "cluster-snapshot"
        prefix = "copyjob" if is_copy else "job"  # docs/AWS-BEHAVIOUR.md §2.1 (SECONDARY for copies)
        return f"arn:{p}:rds:{region}:{account}:{kind}:awsbackup:{prefix}-{job_id.lower()}"
    if resource_type == "FSx":
        return f"arn:{p}:fsx:{region}:{account}:backup/backup-{_hex17()}"
    return f"arn:{p}:backup:{region}:{account}:recovery-point:{_new_uuid()}"


def _is_aws_managed_key(key_arn: str | None) -> bool:
    """An AWS managed key: an `alias/aws/...` ARN, a registered key, or a key of moto's KMS that is
    AWS managed or the target of an `alias/aws/...` alias (moto creates aws/ebs that way)."""
    if not key_arn:
        return False
    if ":alias/aws/" in key_arn or key_arn in _aws_managed_keys:
        return True
    try:
        _, service, region, account, resource = arn_parts(key_arn)
    except ValueError:
        return False
    if service != "kms" or not resource.startswith("key/"):
        return False
    from moto.kms.models import kms_backends

    kms = kms_backends[account][region]
    key = kms.keys.get(resource.split("/", 1)[1])
    if key is None:
        return False
    if getattr(key, "key_manager", "CUSTOMER") == "AWS":
        return True
    return any(str(name).startswith("alias/aws/") for name in getattr(key, "aliases", {}))


def _default_backup_key(account: str, region: str) -> str:
    return f"arn:{get_partition(region)}:kms:{region}:{account}:alias/aws/backup"


def _vault_arn_parts(vault_arn: str) -> tuple[str, str, str]:
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
# State kept on moto's BackupBackend


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
            self.resource_type == "EBS" and bool(self.lifecycle.get("OptInToArchiveForSupportedResources")))

    def to_api(self) -> dict[str, Any]:
        out = {
            "RecoveryPointArn": self.arn, "BackupVaultName": self.vault_name, "BackupVaultArn": self.vault_arn,
            "SourceBackupVaultArn": self.source_vault_arn, "ResourceArn": self.resource_arn,
            "ResourceType": self.resource_type, "CreatedBy": self.created_by, "IamRoleArn": self.iam_role_arn,
            "Status": self.status, "CreationDate": self.creation_date, "InitiationDate": self.creation_date,
            "CompletionDate": self.completion_date, "BackupSizeInBytes": self.backup_size,
            "CalculatedLifecycle": self.calculated_lifecycle(), "Lifecycle": dict(self.lifecycle),
            "EncryptionKeyArn": self.encryption_key_arn, "IsEncrypted": bool(self.encryption_key_arn),
            "StorageClass": self.storage_class, "IsParent": False, "VaultType": "BACKUP_VAULT",
        }
        if self.encryption_key_arn:
            out["EncryptionKeyType"] = ("AWS_OWNED_KMS_KEY" if _is_aws_managed_key(self.encryption_key_arn)
                                        else "CUSTOMER_MANAGED_KMS_KEY")
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
    created_by: dict[str, str] | None = None
    state: str = "CREATED"
    status_message: str | None = None
    completion_date: datetime.datetime | None = None
    started: bool = False  # holds its resource (and a copy slot) from dispatch to the end
    order: int = field(default_factory=lambda: next(_sequence))

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
        out = {
            "AccountId": self.account, "BackupJobId": self.job_id, "BackupVaultName": self.vault_name,
            "BackupVaultArn": self.vault_arn, "RecoveryPointArn": self.recovery_point_arn,
            "ResourceArn": self.resource_arn, "CreationDate": self.creation_date,
            "CompletionDate": self.completion_date, "State": self.state, "StatusMessage": self.status_message,
            "PercentDone": "100.0" if self.state == "COMPLETED" else "0.0",
            "BackupSizeInBytes": self.backup_size if self.state == "COMPLETED" else 0,
            "IamRoleArn": self.iam_role_arn, "CreatedBy": self.created_by, "ResourceType": self.resource_type,
            "BytesTransferred": self.backup_size if self.state == "COMPLETED" else 0,
            "StartBy": self.start_by, "RecoveryPointLifecycle": self.lifecycle, "IsParent": False,
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
            "AccountId": self.account, "CopyJobId": self.job_id, "SourceBackupVaultArn": self.source_vault_arn,
            "SourceRecoveryPointArn": self.source_recovery_point_arn,
            "DestinationBackupVaultArn": self.destination_vault_arn,
            "DestinationRecoveryPointArn": self.destination_recovery_point_arn,
            "DestinationRecoveryPointLifecycle": self.lifecycle,
            "ResourceArn": self.resource_arn, "CreationDate": self.creation_date,
            "CompletionDate": self.completion_date, "State": self.state, "StatusMessage": self.status_message,
            "BackupSizeInBytes": self.backup_size, "IamRoleArn": self.iam_role_arn,
            "CreatedBy": self.created_by, "ResourceType": self.resource_type, "IsParent": False,
        }
        return {k: v for k, v in out.items() if v is not None}


@dataclass
class BackupState:
    """What this sandbox adds to one account's region of AWS Backup."""

    recovery_points: dict[str, RecoveryPoint] = field(default_factory=dict)
    deleted_recovery_points: list[RecoveryPoint] = field(default_factory=list)
    backup_jobs: dict[str, BackupJob] = field(default_factory=dict)
    copy_jobs: dict[str, CopyJob] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # -> (request, job)
    # Calls per simulated second: second -> operation (and "*") -> count. Kept per
    # second, not just for the current one, so calls made inside a Lambda span
    # (clock.py) count in their own second whatever order they run in.
    rate_counts: dict[int, dict[str, int]] = field(default_factory=dict)
    # Dispatch indexes (kept in step by start/finish), so a burst of thousands of jobs is
    # dispatched in time proportional to what starts, not to every job ever made.
    waiting_backups: dict[str, "BackupJob"] = field(default_factory=dict)  # creation order
    waiting_copies: dict[str, dict[str, "CopyJob"]] = field(default_factory=dict)  # by destination vault
    busy_resources: dict[str, int] = field(default_factory=dict)  # resource ARN -> started jobs
    copies_to_region: dict[str, int] = field(default_factory=dict)  # destination region -> started
    copies_to_vault: dict[str, int] = field(default_factory=dict)  # destination vault -> started


def backend_for(account_id: str, region: str) -> BackupBackend:
    return backup_backends[account_id][region]


def state_of(backend: BackupBackend) -> BackupState:
    # Stored in the backend's __dict__: BaseBackend.reset() empties it, so moto resets clear us.
    return backend.__dict__.setdefault("sandbox_state", BackupState())


def _existing_states() -> Iterable[tuple[BackupBackend, BackupState]]:
    for account_backends in list(backup_backends.values()):
        for region in list(account_backends.keys()):
            backend = account_backends[region]
            if "sandbox_state" in backend.__dict__:
                yield backend, backend.__dict__["sandbox_state"]


def _vault(backend: BackupBackend, name: str):
    vault = backend.vaults.get(name)
    if vault is None:
        raise ResourceNotFoundException(f"Backup vault {name} not found in account "
                                        f"{backend.account_id}, region {backend.region_name}")
    return vault


def _recovery_point(backend: BackupBackend, vault_name: str, arn: str) -> RecoveryPoint:
    _vault(backend, vault_name)
    rp = state_of(backend).recovery_points.get(arn)
    if rp is None or rp.vault_name != vault_name:
        raise ResourceNotFoundException(f"Recovery point {arn} not found in backup vault {vault_name}")
    return rp


def _vault_count_changed(backend: BackupBackend, vault_name: str, change: int) -> None:
    vault = backend.vaults.get(vault_name)
    if vault is not None:
        vault.num_of_recovery_points = max(0, (vault.num_of_recovery_points or 0) + change)


# --------------------------------------------------------------------------------------------
# Events (docs/AWS-BEHAVIOUR.md §1.2-1.4, 1.6, 1.9)


def _ms(moment: datetime.datetime) -> str:
    """Detail timestamps: milliseconds and Z (docs/AWS-BEHAVIOUR.md §1.2)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _expected_completion(moment: datetime.datetime) -> str:
    """The RUNNING sample's odd format, e.g. "Jul 15, 2020 9:39:07 PM" (docs/AWS-BEHAVIOUR.md §1.3)."""
    hour = moment.hour % 12 or 12
    return f"{moment:%b} {moment.day}, {moment.year} {hour}:{moment:%M:%S} {'AM' if moment.hour < 12 else 'PM'}"


def _emit(account: str, region: str, detail_type: str, resources: list[str], detail: dict) -> None:
    event = {
        "version": "0", "id": _new_uuid(), "detail-type": detail_type, "source": "aws.backup",
        "account": account, "time": envelope_time(_now()), "region": region, "resources": resources,
        "detail": detail,
    }
    _sink(event)


def _event_created_by(created_by: dict[str, str] | None) -> dict[str, str] | None:
    if not created_by or "BackupPlanArn" not in created_by:
        return None
    # docs/AWS-BEHAVIOUR.md §1.3: events say backupPlanRuleId where the API says BackupRuleId
    return {"backupPlanId": created_by["BackupPlanId"], "backupPlanArn": created_by["BackupPlanArn"],
            "backupPlanVersion": created_by["BackupPlanVersion"], "backupPlanRuleId": created_by["BackupRuleId"]}


def _emit_backup_job(job: BackupJob) -> None:
    if job.state == "CREATED":  # docs/AWS-BEHAVIOUR.md §1.3: CREATED carries only these three
        detail = {"backupJobId": job.job_id, "state": "CREATED", "creationDate": _ms(job.creation_date)}
        _emit(job.account, job.region, "Backup Job State Change", [], detail)
        return
    done = job.state == "COMPLETED"
    detail: dict[str, Any] = {"backupJobId": job.job_id}
    if job.state in ("RUNNING", "COMPLETED"):  # docs/AWS-BEHAVIOUR.md §1.3: only these samples carry a size
        detail["backupSizeInBytes"] = str(job.backup_size)  # a string in backup-job events
    detail.update({
        "backupVaultArn": job.vault_arn, "backupVaultName": job.vault_name,
        "bytesTransferred": str(job.backup_size if done else 0),
        "creationDate": _ms(job.creation_date), "iamRoleArn": job.iam_role_arn,
        "resourceArn": job.resource_arn, "resourceType": job.resource_type, "state": job.state,
    })
    if job.status_message is not None:
        detail["statusMessage"] = f'"{job.status_message}"'  # embedded quotes, as in the samples
    if job.completion_date is not None and job.state != "FAILED":  # the FAILED sample has none
        detail["completionDate"] = _ms(job.completion_date)
    detail["startBy"] = _ms(job.start_by)
    if job.state == "RUNNING":
        expected = _now() + datetime.timedelta(seconds=settings.backup_run_seconds)
        detail["expectedCompletionDate"] = _expected_completion(expected)
    detail["percentDone"] = 100 if done else 0  # a number (docs/AWS-BEHAVIOUR.md §1.3)
    created_by = _event_created_by(job.created_by)
    if created_by:
        detail["createdBy"] = created_by
    # docs/AWS-BEHAVIOUR.md §1.3: resources holds the recovery point only when COMPLETED
    _emit(job.account, job.region, "Backup Job State Change", [job.recovery_point_arn] if done else [], detail)


def _emit_copy_job(job: CopyJob) -> None:
    # docs/AWS-BEHAVIOUR.md §1.4/§1.6: emitted by the job's owner (source); resources[0] = source recovery point
    resources = [job.source_recovery_point_arn]
    if job.state == "CREATED":  # no copyJobId, resourceArn, resourceType, iamRoleArn
        detail = {"creationDate": _ms(job.creation_date), "state": "CREATED",
                  "sourceBackupVaultArn": job.source_vault_arn,
                  "destinationBackupVaultArn": job.destination_vault_arn}
        _emit(job.account, job.region, "Copy Job State Change", resources, detail)
        return
    detail: dict[str, Any] = {
        "copyJobId": job.job_id, "backupSizeInBytes": job.backup_size,  # a number here (docs/AWS-BEHAVIOUR.md §1.4)
        "creationDate": _ms(job.creation_date), "iamRoleArn": job.iam_role_arn,
        "resourceArn": job.resource_arn, "resourceType": job.resource_type,
        "sourceBackupVaultArn": job.source_vault_arn, "state": job.state,
    }
    if job.status_message is not None:
        detail["statusMessage"] = job.status_message
    if job.completion_date is not None:
        detail["completionDate"] = _ms(job.completion_date)
    detail["destinationBackupVaultArn"] = job.destination_vault_arn
    # docs/AWS-BEHAVIOUR.md §1.4: {} (an empty object) until COMPLETED
    detail["destinationRecoveryPointArn"] = job.destination_recovery_point_arn if job.state == "COMPLETED" else {}
    created_by = _event_created_by(job.created_by)
    if created_by:
        detail["createdBy"] = created_by
    _emit(job.account, job.region, "Copy Job State Change", resources, detail)


# --------------------------------------------------------------------------------------------
# Request gate: faults and request rates (docs/AWS-BEHAVIOUR.md §5.2)

RATE_LIMIT_TOTAL = 50
RATE_LIMITS = {
    **dict.fromkeys(["UpdateRecoveryPointLifecycle", "StartBackupJob", "DescribeBackupVault",
                     "DeleteBackupVaultAccessPolicy", "DeleteBackupVault", "CreateBackupPlan",
                     "DeleteBackupPlan", "UpdateBackupPlan", "TagResource", "UntagResource"], 5),
    "DeleteRecoveryPoint": 10,
    **dict.fromkeys(["DescribeBackupJob", "DescribeRecoveryPoint", "GetBackupPlan",
                     "GetBackupVaultAccessPolicy"], 15),
}
LIST_RATE_LIMIT = 20  # every List* call


def check_request(operation: str, account: str, region: str) -> None:
    """Run before every AWS Backup call: injected faults first, then the request rates."""
    with _lock:
        for denied_op, denied_account, denied_region in _faults.denied:
            if (denied_op in (operation, "*") and denied_account in (None, account)
                    and denied_region in (None, region)):
                raise AccessDeniedException(
                    f"User: arn:aws:sts::{account}:assumed-role/sandbox is not authorized to perform: "
                    f"backup:{operation}")
        if _faults.throttle_fraction and (
                _faults.throttle_operations is None or operation in _faults.throttle_operations):
            if _rng.random() < _faults.throttle_fraction:
                raise ThrottlingException()
        if not settings.throttling:
            return
        state = state_of(backend_for(account, region))
        second = int(_now().timestamp())
        if len(state.rate_counts) > 4096:  # forget seconds long past (spans last minutes at most)
            state.rate_counts = {s: c for s, c in state.rate_counts.items() if s > second - 3600}
        counts = state.rate_counts.setdefault(second, {})
        limit = RATE_LIMITS.get(operation, LIST_RATE_LIMIT if operation.startswith("List") else None)
        if counts.get("*", 0) >= RATE_LIMIT_TOTAL or (limit is not None and counts.get(operation, 0) >= limit):
            raise ThrottlingException()
        counts["*"] = counts.get("*", 0) + 1
        counts[operation] = counts.get(operation, 0) + 1


# --------------------------------------------------------------------------------------------
# Lifecycle rules (docs/AWS-BEHAVIOUR.md §3.1/§3.2/§3.5)


def _normalise_lifecycle(lifecycle: dict[str, Any] | None) -> dict[str, Any]:
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
            "Invalid lifecycle. DeleteAfterDays cannot be less than 1 or more than 36500 days")
    if cold is not None and cold < 0:
        raise InvalidParameterValueException("Invalid lifecycle. MoveToColdStorageAfterDays cannot be negative")
    if delete is not None and cold is not None and delete < cold + 90:
        raise InvalidParameterValueException(
            "Invalid lifecycle. DeleteAfterDays cannot be less than 90 days apart from MoveToColdStorageAfterDays")


def _schedule_lifecycle(rp: RecoveryPoint) -> None:
    """(Re)plan the cold transition and the expiry; earlier plans become stale."""
    rp.schedule_generation += 1
    generation, location = rp.schedule_generation, (rp.account, rp.region, rp.arn)
    clock, now = get_clock(), _now()
    calculated = rp.calculated_lifecycle()
    cold_at = calculated.get("MoveToColdStorageAt")
    delete_at = calculated.get("DeleteAt")
    if cold_at is not None and rp.storage_class == "WARM" and rp.can_go_cold() and (
            delete_at is None or cold_at < delete_at):
        clock.schedule(max(0.0, (cold_at - now).total_seconds()),
                       lambda: _lifecycle_callback(location, generation, _move_to_cold))
    if delete_at is not None:
        # docs/AWS-BEHAVIOUR.md §3.5: deleted at a random point over the 8 hours after expiry
        delay = max(0.0, (delete_at - now).total_seconds()) + _rng.uniform(0, settings.expiry_window_seconds)
        clock.schedule(delay, lambda: _lifecycle_callback(location, generation, _delete_expired))


def _lifecycle_callback(location: tuple[str, str, str], generation: int, action: Callable) -> None:
    account, region, arn = location
    with _lock:
        backend = backend_for(account, region)
        rp = state_of(backend).recovery_points.get(arn)
        if rp is not None and rp.schedule_generation == generation:
            action(backend, rp)


def _move_to_cold(backend: BackupBackend, rp: RecoveryPoint) -> None:
    rp.storage_class = "COLD"


def _delete_expired(backend: BackupBackend, rp: RecoveryPoint) -> None:
    state = state_of(backend)
    del state.recovery_points[rp.arn]
    rp.status, rp.storage_class, rp.deleted_at = "DELETED", "DELETED", _now()
    state.deleted_recovery_points.append(rp)
    _vault_count_changed(backend, rp.vault_name, -1)


def _add_recovery_point(backend: BackupBackend, rp: RecoveryPoint) -> None:
    state_of(backend).recovery_points[rp.arn] = rp
    _vault_count_changed(backend, rp.vault_name, 1)
    _schedule_lifecycle(rp)


def update_recovery_point_lifecycle(backend: BackupBackend, vault_name: str, arn: str,
                                    lifecycle: dict[str, Any] | None) -> dict[str, Any]:
    vault = _vault(backend, vault_name)
    rp = _recovery_point(backend, vault_name, arn)
    if rp.is_continuous:  # docs/AWS-BEHAVIOUR.md §3.2: "does not support continuous backups"
        raise InvalidParameterValueException("This operation does not support continuous backups.")
    # docs/AWS-BEHAVIOUR.md §3.2: the new lifecycle replaces the old; a missing MoveToColdStorageAfterDays clears it
    new = _normalise_lifecycle(lifecycle)
    validate_lifecycle(new)
    if rp.storage_class == "COLD" and new.get("MoveToColdStorageAfterDays") != rp.lifecycle.get(
            "MoveToColdStorageAfterDays"):
        raise InvalidParameterValueException(
            "Invalid lifecycle. MoveToColdStorageAfterDays cannot be changed after the recovery point "
            "has transitioned to cold storage")
    if vault.locked:
        # docs/AWS-BEHAVIOUR.md §17.1: Vault Lock "prevents attempts to update the lifecycle" of the
        # points in the vault; read strictly (§19 item 12), every update is refused. The wording
        # is ours: AWS documents none for this refusal.
        raise InvalidRequestException(
            f"Backup vault {vault_name} is locked (Vault Lock): the lifecycle of its recovery points "
            "cannot be updated")
    if new != rp.lifecycle:
        rp.lifecycle_updated_at = _now()
    rp.lifecycle = new
    _schedule_lifecycle(rp)
    return {"BackupVaultArn": rp.vault_arn, "RecoveryPointArn": rp.arn, "Lifecycle": dict(new),
            "CalculatedLifecycle": rp.calculated_lifecycle()}


# --------------------------------------------------------------------------------------------
# Jobs: creation, dispatch (one job per resource, copy quotas), progress


def _created_by_plan(backend: BackupBackend, plan_id: str | None, rule_id: str | None) -> dict[str, str]:
    plan = backend.plans.get(plan_id) if plan_id else None
    if plan is not None:
        rule = plan.backup_plan["Rules"][0]
        return {"BackupPlanId": plan.backup_plan_id, "BackupPlanArn": plan.backup_plan_arn,
                "BackupPlanVersion": plan.version_id, "BackupRuleId": rule_id or rule["RuleId"],
                "BackupPlanName": plan.backup_plan["BackupPlanName"], "BackupRuleName": rule["RuleName"]}
    plan_id = plan_id or _new_uuid()
    region = backend.region_name
    arn = f"arn:{get_partition(region)}:backup:{region}:{backend.account_id}:backup-plan:{plan_id}"
    version = base64.b64encode(_new_uuid().encode()).decode()
    return {"BackupPlanId": plan_id, "BackupPlanArn": arn, "BackupPlanVersion": version,
            "BackupRuleId": rule_id or _new_uuid()}


def _idempotent(state: BackupState, kind: str, token: str | None, request: dict) -> str | None:
    """Job id of an earlier identical request with this token (docs/AWS-BEHAVIOUR.md §3.1, §19 item 3: reuse with
    different parameters is UNCONFIRMED; the sandbox rejects it)."""
    if not token:
        return None
    signature = json.dumps(request, sort_keys=True, default=str)
    earlier = state.idempotency.get((kind, token))
    if earlier is None:
        return None
    if earlier[0] != signature:
        raise InvalidRequestException(f"IdempotencyToken {token} was already used with different parameters")
    return earlier[1]


def start_backup_job(backend: BackupBackend, vault_name: str, resource_arn: str, iam_role_arn: str,
                     lifecycle: dict[str, Any] | None = None, idempotency_token: str | None = None,
                     created_by: dict[str, str] | None = None) -> BackupJob:
    state = state_of(backend)
    request = {"vault": vault_name, "resource": resource_arn, "role": iam_role_arn, "lifecycle": lifecycle}
    earlier = _idempotent(state, "backup", idempotency_token, request)
    if earlier:
        return state.backup_jobs[earlier]
    normalised = _normalise_lifecycle(lifecycle)
    validate_lifecycle(normalised)
    now, account, region = _now(), backend.account_id, backend.region_name
    resource_type = resource_type_of(resource_arn)
    job_id = _new_uuid().upper()
    job = BackupJob(
        job_id=job_id, account=account, region=region, resource_arn=resource_arn,
        resource_type=resource_type, iam_role_arn=iam_role_arn, creation_date=now,
        lifecycle=normalised or None, created_by=created_by, vault_name=vault_name,
        vault_arn=f"arn:{get_partition(region)}:backup:{region}:{account}:backup-vault:{vault_name}",
        recovery_point_arn=_recovery_point_arn(account, region, resource_type, job_id, is_copy=False),
        start_by=now + datetime.timedelta(hours=8),  # default start window (samples: +8 h)
    )
    state.backup_jobs[job_id] = job
    state.waiting_backups[job_id] = job
    if idempotency_token:
        state.idempotency[("backup", idempotency_token)] = (json.dumps(request, sort_keys=True, default=str), job_id)
    _emit_backup_job(job)
    _dispatch_soon()
    return job


def start_scheduled_backup(account_id: str, region: str, vault_name: str, resource_arn: str, iam_role_arn: str,
                           lifecycle: dict[str, Any] | None = None, backup_plan_id: str | None = None,
                           backup_rule_id: str | None = None) -> str:
    """Start a backup job as a backup plan would (events carry createdBy.backupPlanArn).
    A moto plan id fills in the real plan ARN/version/rule; otherwise they are made up."""
    with _lock:
        backend = backend_for(account_id, region)
        created_by = _created_by_plan(backend, backup_plan_id, backup_rule_id)
        return start_backup_job(backend, vault_name, resource_arn, iam_role_arn, lifecycle,
                                created_by=created_by).job_id


def start_copy_job(backend: BackupBackend, source_vault_name: str, recovery_point_arn: str,
                   destination_vault_arn: str, iam_role_arn: str, lifecycle: dict[str, Any] | None = None,
                   idempotency_token: str | None = None) -> CopyJob:
    state = state_of(backend)
    request = {"vault": source_vault_name, "rp": recovery_point_arn, "dest": destination_vault_arn,
               "role": iam_role_arn, "lifecycle": lifecycle}
    earlier = _idempotent(state, "copy", idempotency_token, request)
    if earlier:  # docs/AWS-BEHAVIOUR.md §3.1: same token -> success, no action taken
        return state.copy_jobs[earlier]
    # docs/AWS-BEHAVIOUR.md §1.6/§3.1: the source vault is a name, resolved in the caller's account and region
    source_vault = _vault(backend, source_vault_name)
    source = _recovery_point(backend, source_vault_name, recovery_point_arn)
    if source.is_continuous:  # docs/AWS-BEHAVIOUR.md §3.1: no on-demand copies of continuous backups
        raise InvalidParameterValueException("StartCopyJob does not support continuous backups.")
    _vault_arn_parts(destination_vault_arn)
    normalised = None
    if lifecycle is not None:
        validate_lifecycle(_normalise_lifecycle(lifecycle))
        normalised = {k: v for k, v in lifecycle.items() if v is not None}
    job = CopyJob(
        job_id=_new_uuid().upper(), account=backend.account_id, region=backend.region_name,
        resource_arn=source.resource_arn, resource_type=source.resource_type, iam_role_arn=iam_role_arn,
        creation_date=_now(), lifecycle=normalised, source_vault_name=source_vault_name,
        source_vault_arn=source_vault.backup_vault_arn, source_recovery_point_arn=recovery_point_arn,
        destination_vault_arn=destination_vault_arn, backup_size=source.backup_size,
    )
    state.copy_jobs[job.job_id] = job
    state.waiting_copies.setdefault(destination_vault_arn, {})[job.job_id] = job
    if idempotency_token:
        state.idempotency[("copy", idempotency_token)] = (json.dumps(request, sort_keys=True, default=str),
                                                           job.job_id)
    _emit_copy_job(job)
    _dispatch_soon()
    return job


_dispatch_pending = False


def _dispatch_soon() -> None:
    """One dispatch pass per burst of starts and ends (they coalesce)."""
    global _dispatch_pending
    if not _dispatch_pending:
        _dispatch_pending = True
        get_clock().schedule(0, _dispatch_waiting_jobs)


def _take_slot(state: BackupState, job: Job, sign: int) -> None:
    """Count a job in (sign 1) or out (sign -1) of its resource and copy quotas."""
    state.busy_resources[job.resource_arn] = state.busy_resources.get(job.resource_arn, 0) + sign
    if isinstance(job, CopyJob):
        region = _vault_arn_parts(job.destination_vault_arn)[1]
        state.copies_to_region[region] = state.copies_to_region.get(region, 0) + sign
        vault = job.destination_vault_arn
        state.copies_to_vault[vault] = state.copies_to_vault.get(vault, 0) + sign


def _dispatch_waiting_jobs() -> None:
    """Start CREATED jobs whose resource is free and whose copy quota allows it, oldest first.
    docs/AWS-BEHAVIOUR.md §3.1/§5.1: one backup or copy job per resource at a time; the rest wait in CREATED.
    Copies: 100 at once per account and destination region, then up to 5 per destination vault."""
    global _dispatch_pending
    _dispatch_pending = False
    with _lock:
        located = list(_existing_states())
        states = [state for _, state in located]
        # The copy quotas are per account and destination region (and vault), whatever region the
        # copies come from (docs/AWS-BEHAVIOUR.md §5.1): count an account's copies over all its source regions.
        of_account: dict[str, list[BackupState]] = {}
        for backend, state in located:
            of_account.setdefault(backend.account_id, []).append(state)

        def copies(account: str, table: str, key: str) -> int:
            return sum(getattr(state, table).get(key, 0) for state in of_account.get(account, []))

        def busy(resource_arn: str) -> bool:
            return any(state.busy_resources.get(resource_arn, 0) > 0 for state in states)

        # Merge the waiting lists by creation order; a copy list whose quota is full is dropped
        # whole (its later jobs would be refused too), so the pass stays short.
        queues: list[tuple[BackupState, dict[str, Job], list[Job]]] = []
        for state in states:
            if state.waiting_backups:
                queues.append((state, state.waiting_backups, list(state.waiting_backups.values())))
            for waiting in state.waiting_copies.values():
                if waiting:
                    queues.append((state, waiting, list(waiting.values())))
        heads = [(jobs[0].order, n, 0) for n, (_, _, jobs) in enumerate(queues)]
        heapq.heapify(heads)
        while heads:
            _, n, index = heapq.heappop(heads)
            state, waiting, jobs = queues[n]
            job = jobs[index]
            if isinstance(job, CopyJob):
                region = _vault_arn_parts(job.destination_vault_arn)[1]
                if (copies(job.account, "copies_to_region", region) >= settings.copy_concurrency_per_region
                        and copies(job.account, "copies_to_vault", job.destination_vault_arn)
                        >= settings.copy_concurrency_extra_per_vault):
                    continue  # this destination is full: its later copies wait too
            if index + 1 < len(jobs):
                heapq.heappush(heads, (jobs[index + 1].order, n, index + 1))
            if busy(job.resource_arn):
                continue
            del waiting[job.job_id]
            job.started = True
            _take_slot(state, job, 1)
            wait = (job.creation_date + datetime.timedelta(seconds=settings.job_start_seconds) - _now())
            location = (job.account, job.region, job.job_id, isinstance(job, CopyJob))
            get_clock().schedule(max(0.0, wait.total_seconds()), lambda loc=location: _job_step(loc, _run_job))


def _job_step(location: tuple[str, str, str, bool], step: Callable[[BackupBackend, Job], None]) -> None:
    account, region, job_id, is_copy = location
    with _lock:
        backend = backend_for(account, region)
        state = state_of(backend)
        job = (state.copy_jobs if is_copy else state.backup_jobs).get(job_id)
        if job is not None and not job.finished:  # gone after a moto reset
            step(backend, job)


def _finish(job: Job, state: str, message: str | None = None) -> None:
    job.state, job.status_message, job.completion_date = state, message, _now()
    if job.started:
        _take_slot(state_of(backend_for(job.account, job.region)), job, -1)
    _dispatch_soon()


def _run_job(backend: BackupBackend, job: Job) -> None:
    location = (job.account, job.region, job.job_id, isinstance(job, CopyJob))
    if isinstance(job, BackupJob):
        if job.vault_name not in backend.vaults:  # the documented FAILED sample (docs/AWS-BEHAVIOUR.md §1.3)
            _finish(job, "FAILED", f"Backup job failed because backup vault {job.vault_arn} does not exist.")
            _emit_backup_job(job)
            return
        if settings.require_existing_resources and not resource_exists(job.resource_arn):
            _finish(job, "FAILED", missing_resource_message(job.resource_arn))
            _emit_backup_job(job)
            return
        job.state = "RUNNING"
        _emit_backup_job(job)
        get_clock().schedule(settings.backup_run_seconds, lambda: _job_step(location, _complete_backup))
        return
    assert isinstance(job, CopyJob)
    job.failure = copy_failure_reason(job)
    job.state = "RUNNING"
    _emit_copy_job(job)
    seconds = settings.copy_fail_seconds if job.failure else settings.copy_run_seconds
    get_clock().schedule(seconds, lambda: _job_step(location, _complete_copy))


def _complete_backup(backend: BackupBackend, job: BackupJob) -> None:
    vault = backend.vaults.get(job.vault_name)
    if vault is None:
        _finish(job, "FAILED", f"Backup job failed because backup vault {job.vault_arn} does not exist.")
        _emit_backup_job(job)
        return
    resource_key = resource_encryption_key(job.resource_arn)
    if job.resource_type in FULLY_MANAGED_TYPES:  # docs/AWS-BEHAVIOUR.md §2.2: the vault's key
        resource_key = vault.encryption_key_arn or _default_backup_key(job.account, job.region)
    now = _now()
    rp = RecoveryPoint(
        arn=job.recovery_point_arn, account=job.account, region=job.region, vault_name=job.vault_name,
        vault_arn=vault.backup_vault_arn, resource_arn=job.resource_arn, resource_type=job.resource_type,
        iam_role_arn=job.iam_role_arn, creation_date=job.creation_date, completion_date=now,
        lifecycle=dict(job.lifecycle or {}), encryption_key_arn=resource_key, backup_size=job.backup_size,
        created_by=job.created_by,
    )
    _add_recovery_point(backend, rp)
    _finish(job, "COMPLETED")
    _emit_backup_job(job)


def _complete_copy(backend: BackupBackend, job: CopyJob) -> None:
    failure = job.failure or copy_failure_reason(job, injected=False)
    if failure:
        _finish(job, "FAILED", failure)
        _emit_copy_job(job)
        return
    source = state_of(backend).recovery_points[job.source_recovery_point_arn]
    dest_account, dest_region, dest_name = _vault_arn_parts(job.destination_vault_arn)
    dest_backend = backend_for(dest_account, dest_region)
    dest_vault = dest_backend.vaults[dest_name]
    # docs/AWS-BEHAVIOUR.md §3.1: a copy keeps the source's creation date, and its retention unless overridden;
    # DeleteAfterDays -1 keeps the source's expiry. An override without DeleteAfterDays (e.g. only
    # the archive opt-in) keeps the source's DeleteAfterDays too (UNCONFIRMED detail: no AWS page
    # says what a partial override does; "copies retain their retention period" is the rule).
    lifecycle = dict(source.lifecycle)
    if job.lifecycle is not None:
        lifecycle = _normalise_lifecycle(job.lifecycle)
        if job.lifecycle.get("DeleteAfterDays") in (None, -1) and "DeleteAfterDays" in source.lifecycle:
            lifecycle["DeleteAfterDays"] = source.lifecycle["DeleteAfterDays"]
    key = (dest_vault.encryption_key_arn or _default_backup_key(dest_account, dest_region)
           if source.resource_type in FULLY_MANAGED_TYPES or dest_region != job.region
           else source.encryption_key_arn)  # docs/AWS-BEHAVIOUR.md §4.3: cross-region copies use the vault's key
    rp = RecoveryPoint(
        arn=_recovery_point_arn(dest_account, dest_region, source.resource_type, job.job_id, is_copy=True),
        account=dest_account, region=dest_region, vault_name=dest_name, vault_arn=dest_vault.backup_vault_arn,
        resource_arn=source.resource_arn, resource_type=source.resource_type, iam_role_arn=job.iam_role_arn,
        creation_date=source.creation_date, completion_date=_now(), lifecycle=lifecycle,
        encryption_key_arn=key, backup_size=source.backup_size, source_vault_arn=job.source_vault_arn,
        created_by=source.created_by,
    )
    _add_recovery_point(dest_backend, rp)
    job.destination_recovery_point_arn = rp.arn
    _finish(job, "COMPLETED")
    _emit_copy_job(job)


# --------------------------------------------------------------------------------------------
# Copy failures (docs/AWS-BEHAVIOUR.md §3.1/§4.2/§4.3/§4.4); wording marked "sandbox" is not documented

MSG_NOT_SAME_ORG = "Copy job failed. Both source and destination account must be a member of the same organization"
MSG_ACCESS_DENIED = "Access Denied trying to call AWS Backup service"
MSG_KEY_NOT_ACCESSIBLE = "Given key ID is not accessible"
MSG_RDS_KEY_NOT_ACCESSIBLE = ("The source snapshot KMS key does not exist, is not enabled or you do not have "
                              "permissions to access it")


def copy_failure_reason(job: CopyJob, injected: bool = True) -> str | None:
    """Why this copy fails, or None; evaluated when it starts running (and again at the end)."""
    if injected and _faults.copy_failure_messages:
        return _faults.copy_failure_messages.pop(0)
    source_backend = backend_for(job.account, job.region)
    source = state_of(source_backend).recovery_points.get(job.source_recovery_point_arn)
    if source is None:  # sandbox wording
        return f"Copy job failed because the source recovery point {job.source_recovery_point_arn} no longer exists."
    if source.storage_class == "COLD":  # docs/AWS-BEHAVIOUR.md §3.1: cold backups cannot be copied (sandbox wording)
        return "Copy job failed. Recovery points in cold storage cannot be copied."
    dest_account, dest_region, dest_name = _vault_arn_parts(job.destination_vault_arn)
    if dest_name not in backend_for(dest_account, dest_region).vaults:  # sandbox wording
        return f"Copy job failed because destination backup vault {job.destination_vault_arn} does not exist."
    cross_account = dest_account != job.account
    if cross_account:
        org = organization_of(job.account)
        if org is None or org != organization_of(dest_account):  # docs/AWS-BEHAVIOUR.md §4.2/§4.4
            return MSG_NOT_SAME_ORG
        if dest_name == "Default":  # docs/AWS-BEHAVIOUR.md §4.2 (sandbox wording)
            return "Copy job failed. The Default backup vault cannot receive cross-account copies."
        if source.resource_type not in FULLY_MANAGED_TYPES and _is_aws_managed_key(source.encryption_key_arn):
            # docs/AWS-BEHAVIOUR.md §4.3: AWS managed keys can't be shared; messages from docs/AWS-BEHAVIOUR.md §4.4
            if source.resource_type in ("RDS", "Aurora", "DocumentDB", "Neptune"):
                return MSG_RDS_KEY_NOT_ACCESSIBLE
            return MSG_KEY_NOT_ACCESSIBLE
        key_refusal = _shared_key_refusal(source, dest_account)
        if key_refusal:
            return key_refusal
    return _copy_role_refusal(job, source, source_backend, dest_account, dest_region, dest_name, cross_account)


def _copy_role_refusal(job: CopyJob, source: RecoveryPoint, source_backend: BackupBackend, dest_account: str,
                       dest_region: str, dest_name: str, cross_account: bool) -> str | None:
    """AWS Backup copies with the job's role (authorization.py decides, docs/AWS-BEHAVIOUR.md §7, §11.3):

    * backup:CopyFromBackupVault on the source recovery point: an explicit Deny in the source
      vault's policy or the role's policies refuses. Whether the role must also allow it is not
      documented, and the AWS managed role policy is not known to grant it: only a Deny refuses.
    * backup:CopyIntoBackupVault on the destination vault: the role's identity policies and the
      vault's policy, both when the vault is in another account (either in the same account).
    A role IAM does not know is judged by the vault policies alone."""
    from backup_events_aws.sandbox.authorization import decide, principal_context, role_policy_statements

    identity = role_policy_statements(job.iam_role_arn)
    context = principal_context(job.account, job.iam_role_arn)
    source_vault = source_backend.vaults.get(job.source_vault_name)
    source_policy = statements_of(getattr(source_vault, "sandbox_access_policy", None))
    copy_from = Request(action="backup:CopyFromBackupVault", resource=source.arn, principal_account=job.account,
                        principal_arn=job.iam_role_arn,
                        context={**context, "backup:CopyTargets": [job.destination_vault_arn]})
    if "explicit deny" in decide(copy_from, source_policy, job.account, identity or []).reason:
        return MSG_ACCESS_DENIED
    dest_vault = backend_for(dest_account, dest_region).vaults[dest_name]
    dest_policy = statements_of(getattr(dest_vault, "sandbox_access_policy", None))
    copy_into = Request(action="backup:CopyIntoBackupVault", resource=dest_vault.backup_vault_arn,
                        principal_account=job.account, principal_arn=job.iam_role_arn, context=context)
    if identity is None:  # docs/AWS-BEHAVIOUR.md §4.2, §4.4: the destination vault must Allow CopyIntoBackupVault
        if cross_account and not is_allowed(dest_policy, copy_into, check_principal=True):
            return MSG_ACCESS_DENIED
        return None
    if not decide(copy_into, dest_policy if dest_policy else None, dest_account, identity).allowed:
        return MSG_ACCESS_DENIED  # docs/AWS-BEHAVIOUR.md §4.4: "Access Denied trying to call AWS Backup service"
    return None


def _shared_key_refusal(source: RecoveryPoint, dest_account: str) -> str | None:
    """A cross-account copy of a type AWS Backup does not fully manage needs the source's customer
    managed key shared with the destination account: its key policy must let that account use it
    (kms:Decrypt and kms:CreateGrant; docs/AWS-BEHAVIOUR.md §4.3). Keys moto's KMS does not hold are
    not judged (the sandbox cannot know their policy)."""
    if source.resource_type in FULLY_MANAGED_TYPES or not source.encryption_key_arn:
        return None
    from moto.kms.models import kms_backends

    from backup_events_aws.sandbox.authorization import decide

    try:
        _, _, key_region, key_account, resource = arn_parts(source.encryption_key_arn)
    except ValueError:
        return None
    key = kms_backends[key_account][key_region].keys.get(resource.split("/", 1)[-1]) \
        if resource.startswith("key/") else None
    if key is None:
        return None
    administrator = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]  # the destination's own side
    for action in ("kms:Decrypt", "kms:CreateGrant"):
        request = Request(action=action, resource=key.arn, principal_account=dest_account,
                          principal_arn=f"arn:{get_partition(key_region)}:iam::{dest_account}:root")
        if not decide(request, statements_of(key.policy), key_account, administrator).allowed:
            if source.resource_type in ("RDS", "Aurora", "DocumentDB", "Neptune"):
                return MSG_RDS_KEY_NOT_ACCESSIBLE
            return MSG_KEY_NOT_ACCESSIBLE  # docs/AWS-BEHAVIOUR.md §4.4
    return None


# --------------------------------------------------------------------------------------------
# Vault access policies (docs/AWS-BEHAVIOUR.md §7), evaluated by policies.py


def check_vault_access_policy(backend: BackupBackend, vault_name: str, action: str, recovery_point_arn: str,
                              caller_account: str, caller_arn: str | None) -> None:
    """docs/AWS-BEHAVIOUR.md §7: DescribeRecoveryPoint and UpdateRecoveryPointLifecycle "use the existing vault
    access policy": a Deny there refuses the caller (its own identity policy is not modelled)."""
    vault = _vault(backend, vault_name)
    policy = statements_of(getattr(vault, "sandbox_access_policy", None))
    org_id = organization_of(caller_account)
    request = Request(action=action, resource=recovery_point_arn, principal_account=caller_account,
                      principal_arn=caller_arn, context={"aws:PrincipalOrgID": org_id} if org_id else {})
    if is_denied(policy, request, check_principal=True):
        raise AccessDeniedException(
            f"User: {caller_arn or caller_account} is not authorized to perform: {action} on resource: "
            f"{recovery_point_arn} with an explicit deny in a resource-based policy")


def put_vault_access_policy(backend: BackupBackend, vault_name: str, policy: str) -> None:
    vault = _vault(backend, vault_name)
    try:
        document = json.loads(policy)
    except ValueError:
        raise InvalidParameterValueException("Policy is not valid JSON")
    for statement in as_list(document.get("Statement")):
        if any(a == "*" or a.endswith(":*") for a in as_list(statement.get("Action"))):
            # docs/AWS-BEHAVIOUR.md §7: vault access policies don't support a wildcard in Action
            raise InvalidParameterValueException("Vault access policies do not support a wildcard in Action")
    vault.sandbox_access_policy = policy


def get_vault_access_policy(backend: BackupBackend, vault_name: str) -> dict[str, str]:
    vault = _vault(backend, vault_name)
    policy = getattr(vault, "sandbox_access_policy", None)
    if not policy:
        raise ResourceNotFoundException(f"Backup vault {vault_name} has no access policy")
    return {"BackupVaultName": vault_name, "BackupVaultArn": vault.backup_vault_arn, "Policy": policy}


def delete_vault_access_policy(backend: BackupBackend, vault_name: str) -> None:
    _vault(backend, vault_name).sandbox_access_policy = None


# --------------------------------------------------------------------------------------------
# Listing with pagination


def paginate(items: list, max_results: int | None, next_token: str | None) -> tuple[list, str | None]:
    start = 0
    if next_token:
        try:
            start = int(base64.urlsafe_b64decode(next_token.encode()).decode())
        except ValueError:
            raise InvalidParameterValueException("Invalid NextToken")
    size = max_results or 1000
    page = items[start:start + size]
    more = start + size < len(items)
    return page, base64.urlsafe_b64encode(str(start + size).encode()).decode() if more else None


def _as_datetime(value: Any) -> datetime.datetime | None:
    if value is None or isinstance(value, datetime.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, UTC)
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def list_copy_jobs(backend: BackupBackend, filters: dict[str, Any]) -> list[CopyJob]:
    after, before = _as_datetime(filters.get("ByCreatedAfter")), _as_datetime(filters.get("ByCreatedBefore"))
    jobs = []
    for job in sorted(state_of(backend).copy_jobs.values(), key=lambda j: j.order):
        checks = [
            ("ByState", job.state), ("ByDestinationVaultArn", job.destination_vault_arn),
            ("BySourceRecoveryPointArn", job.source_recovery_point_arn), ("ByAccountId", job.account),
            ("ByResourceArn", job.resource_arn), ("ByResourceType", job.resource_type),
        ]
        if any(filters.get(name) not in (None, value) for name, value in checks):
            continue
        if (after and job.creation_date <= after) or (before and job.creation_date >= before):
            continue
        jobs.append(job)
    return jobs


def list_recovery_points(backend: BackupBackend, vault_name: str, filters: dict[str, Any]) -> list[RecoveryPoint]:
    _vault(backend, vault_name)
    after, before = _as_datetime(filters.get("ByCreatedAfter")), _as_datetime(filters.get("ByCreatedBefore"))
    points = []
    for rp in state_of(backend).recovery_points.values():
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


# --------------------------------------------------------------------------------------------
# Sandbox helpers: seed state, inspect it without the API


def put_recovery_point(account_id: str, region: str, vault_name: str, resource_arn: str,
                       iam_role_arn: str | None = None, creation_date: datetime.datetime | None = None,
                       lifecycle: dict[str, Any] | None = None, continuous: bool = False,
                       storage_class: str = "WARM", encryption_key_arn: str | None = None) -> str:
    """Place a finished recovery point directly (e.g. a continuous or an old one); returns its ARN."""
    with _lock:
        backend = backend_for(account_id, region)
        vault = _vault(backend, vault_name)
        resource_type = resource_type_of(resource_arn)
        if resource_type in FULLY_MANAGED_TYPES and encryption_key_arn is None:
            encryption_key_arn = vault.encryption_key_arn or _default_backup_key(account_id, region)
        created = creation_date or _now()
        default_role = f"arn:{get_partition(region)}:iam::{account_id}:role/service-role/AWSBackupDefaultServiceRole"
        rp = RecoveryPoint(
            arn=_recovery_point_arn(account_id, region, resource_type, _new_uuid(), is_copy=False),
            account=account_id, region=region, vault_name=vault_name, vault_arn=vault.backup_vault_arn,
            resource_arn=resource_arn, resource_type=resource_type,
            iam_role_arn=iam_role_arn or default_role,
            creation_date=created, completion_date=created, lifecycle=_normalise_lifecycle(lifecycle),
            encryption_key_arn=encryption_key_arn or resource_encryption_key(resource_arn),
            storage_class=storage_class, is_continuous=continuous,
        )
        _add_recovery_point(backend, rp)
        return rp.arn


def _select(account_id: str | None, region: str | None) -> Iterable[tuple[BackupBackend, BackupState]]:
    for backend, state in _existing_states():
        if account_id in (None, backend.account_id) and region in (None, backend.region_name):
            yield backend, state


def recovery_points(account_id: str | None = None, region: str | None = None, vault_name: str | None = None,
                    include_deleted: bool = False) -> list[RecoveryPoint]:
    """Every recovery point (optionally deleted ones too), filtered; objects are live."""
    with _lock:
        out = []
        for _, state in _select(account_id, region):
            points = list(state.recovery_points.values())
            if include_deleted:
                points += state.deleted_recovery_points
            out.extend(rp for rp in points if vault_name in (None, rp.vault_name))
        return sorted(out, key=lambda rp: (rp.account, rp.region, rp.vault_name, rp.creation_date))


def backup_jobs(account_id: str | None = None, region: str | None = None) -> list[BackupJob]:
    with _lock:
        return sorted((j for _, s in _select(account_id, region) for j in s.backup_jobs.values()),
                      key=lambda j: j.order)


def copy_jobs(account_id: str | None = None, region: str | None = None) -> list[CopyJob]:
    with _lock:
        return sorted((j for _, s in _select(account_id, region) for j in s.copy_jobs.values()),
                      key=lambda j: j.order)


def find_recovery_point(arn: str) -> RecoveryPoint | None:
    for rp in recovery_points(include_deleted=True):
        if rp.arn == arn:
            return rp
    return None


def snapshot() -> dict[str, Any]:
    """A JSON-friendly view of all vault contents, for the demo's printout."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for rp in recovery_points():
        grouped.setdefault(f"{rp.account}/{rp.region}/{rp.vault_name}", []).append(
            json.loads(json.dumps(rp.to_api(), default=str)))
    return grouped


def install() -> None:
    """Route the added AWS Backup operations through moto (idempotent)."""
    from . import responses

    responses.install_routes()


def uninstall() -> None:
    """moto's own AWS Backup routes again (Organization.stop)."""
    from . import responses

    responses.uninstall_routes()


__all__ = [
    "install", "uninstall", "configure", "settings", "set_clock", "get_clock", "set_event_sink",
    "recorded_events", "set_organization", "set_organization_lookup", "organization_of", "set_resource_encryption",
    "register_aws_managed_key", "inject_throttling", "deny_access", "allow_access", "fail_next_copies",
    "clear_faults", "reset_sandbox", "start_scheduled_backup", "put_recovery_point", "recovery_points",
    "backup_jobs", "copy_jobs", "find_recovery_point", "snapshot", "ThrottlingException",
    "AccessDeniedException",
]
