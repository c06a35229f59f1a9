"""`BackupService`: everything the sandbox's AWS Backup backends share, and its installation into moto.

One object per sandbox, made by whoever starts it (`Organization.start`, a test fixture) with
the clock and seed: settings, injected faults, the lock, the seeded random numbers, the event
sink, the organisation lookup, what it knows of KMS keys, and the job dispatcher (one job per
resource, the copy quotas) and lifecycle scheduler, which span accounts and regions.

`install()` puts the service's own `BackendDict` of `SandboxBackupBackend`s (models.py) where
moto looks for AWS Backup's backends (so requests reach responses.py through urls.py, in process
and in server mode) and marks the keys behind `alias/aws/...` aliases as AWS managed in moto's
KMS; `uninstall()` undoes both. Nothing is patched at import.
"""

from __future__ import annotations

import base64
import datetime
import heapq
import itertools
import json
import random
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from moto.core.base_backend import BackendDict
from moto.utilities.utils import get_partition

from backup_events_aws.sandbox.clock import Clock
from backup_events_aws.sandbox.helpers import arn_parts, envelope_time, random_uuid
from backup_events_aws.sandbox.patches import Patches

from . import copy_rules, events
from .exceptions import AccessDeniedException, ThrottlingException
from .models import (
    FULLY_MANAGED_TYPES,
    BackupJob,
    CopyJob,
    Job,
    RecoveryPoint,
    SandboxBackupBackend,
    default_backup_key,
    normalise_lifecycle,
    recovery_point_arn,
    resource_type_of,
    vault_arn_parts,
)
from .protected_resources import missing_resource_message, resource_exists

Event = dict[str, Any]


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
class Faults:
    throttle_fraction: float = 0.0
    throttle_operations: set[str] | None = None  # None: every operation
    denied: set[tuple[str, str | None, str | None]] = field(default_factory=set)
    copy_failure_messages: list[str] = field(default_factory=list)


# Request rates per account and region, per second (docs/AWS-BEHAVIOUR.md §5.2)
RATE_LIMIT_TOTAL = 50
RATE_LIMITS = MappingProxyType(
    {
        **dict.fromkeys(
            [
                "UpdateRecoveryPointLifecycle",
                "StartBackupJob",
                "DescribeBackupVault",
                "DeleteBackupVaultAccessPolicy",
                "DeleteBackupVault",
                "CreateBackupPlan",
                "DeleteBackupPlan",
                "UpdateBackupPlan",
                "TagResource",
                "UntagResource",
            ],
            5,
        ),
        "DeleteRecoveryPoint": 10,
        **dict.fromkeys(
            ["DescribeBackupJob", "DescribeRecoveryPoint", "GetBackupPlan", "GetBackupVaultAccessPolicy"], 15
        ),
    }
)
LIST_RATE_LIMIT = 20  # every List* call


def _create_alias_marking_aws_managed(
    original: Callable[..., Any], backend: Any, target_key_id: str, alias_name: str
) -> Any:
    """moto's KmsBackend.create_alias, then: a key given an `alias/aws/...` alias is AWS managed
    (only AWS services make those, docs/AWS-BEHAVIOUR.md §4.3), so DescribeKey says KeyManager AWS."""
    alias = original(backend, target_key_id, alias_name)
    if alias_name.startswith("alias/aws/"):
        backend.keys[backend.get_key_id(target_key_id)].key_manager = "AWS"
    return alias


def _key_arn(account: str, region: str, key: str | None, default_service: str) -> str:
    """A key as the resource names it (ID, alias, ARN, or none: the service's AWS managed key
    aws/ebs, aws/rds...), as an ARN."""
    partition = get_partition(region)
    if not key or key == "default_kms_key_id":  # moto's placeholder for "the default key"
        return f"arn:{partition}:kms:{region}:{account}:alias/aws/{default_service}"
    if key.startswith("arn:"):
        return key
    kind = key if key.startswith("alias/") else f"key/{key}"
    return f"arn:{partition}:kms:{region}:{account}:{kind}"


class BackupService:
    """The sandbox's AWS Backup: settings, faults, clock, events, organisations, keys, dispatch."""

    def __init__(
        self,
        clock: Clock | None = None,
        seed: int = 0,
        event_sink: Callable[[Event], None] | None = None,
        organization_lookup: Callable[[str], str | None] | None = None,
        **settings: Any,
    ):
        self.settings = Settings(seed=seed)
        self.rng = random.Random(seed)
        self.configure(**settings)
        self.faults = Faults()
        self.lock = threading.RLock()  # ThreadedMotoServer serves requests on threads
        self.clock = clock or Clock()
        self.recorded_events: list[Event] = []  # where events go without a sink
        self._sink = event_sink or self.recorded_events.append
        self._organization_table: dict[str, str] = {}
        self._organization_lookup = organization_lookup or self._organization_table.get
        self.resource_keys: dict[str, str] = {}  # protected resource ARN -> its KMS key ARN
        self.aws_managed_keys: set[str] = set()
        self._sequence = itertools.count()
        self._dispatch_pending = False
        # The backends know their service through their class: a moto reset re-runs __init__
        # on an emptied instance. __module__ stays models', whose urls.py moto routes by.
        backend_class = type(
            "SandboxBackupBackend",
            (SandboxBackupBackend,),
            {"service": self, "__module__": SandboxBackupBackend.__module__},
        )
        self.backends: BackendDict[SandboxBackupBackend] = BackendDict(backend_class, "backup")
        self.patches = Patches()  # what install() replaced in moto (patches.py)

    # ------------------------------------------------------------------ installation

    def install(self) -> BackupService:
        """Make moto's AWS Backup this service's backends; idempotent."""
        if self.patches.active:
            return self
        import moto.backup
        import moto.backup.models
        import moto.backup.responses
        from moto.kms.models import KmsBackend

        for module in (moto.backup, moto.backup.models, moto.backup.responses):
            self.patches.replace(module, "backup_backends", self.backends)
        self.patches.wrap(KmsBackend, "create_alias", _create_alias_marking_aws_managed)
        self.patches.on_undo(self._forget_backends)
        return self

    def uninstall(self) -> None:
        """Undo every replacement `install` made, in reverse, and forget the backends; idempotent."""
        self.patches.undo()

    def _forget_backends(self) -> None:
        if self.backends in BackendDict._instances:
            BackendDict._instances.remove(self.backends)
        self.backends.clear()

    @property
    def installed(self) -> bool:
        return self.patches.active

    # ------------------------------------------------------------------ knobs

    def configure(self, **changes: Any) -> Settings:
        """Change settings (durations, quotas, throttling, seed); returns them."""
        known = {f.name for f in fields(Settings)}
        for name, value in changes.items():
            if name not in known:
                raise TypeError(f"unknown setting {name}")
            setattr(self.settings, name, value)
        if "seed" in changes:
            self.rng.seed(self.settings.seed)
        return self.settings

    def set_clock(self, clock: Clock) -> None:
        """The sandbox has one clock: jobs, lifecycles and rate limits all read it."""
        self.clock = clock
        self._dispatch_pending = False  # a pass pending on another clock would never run

    def now(self) -> datetime.datetime:
        return self.clock.now()

    def set_event_sink(self, sink: Callable[[Event], None] | None) -> None:
        """Where emitted events go; None: append to `recorded_events`."""
        self._sink = sink if sink is not None else self.recorded_events.append

    def set_organization_lookup(self, lookup: Callable[[str], str | None] | None) -> None:
        """Where organisation membership is looked up: account ID -> organisation ID or None.
        None: the service's own table, which `set_organization` fills."""
        self._organization_lookup = lookup if lookup is not None else self._organization_table.get

    def set_organization(self, org_id: str, accounts: Iterable[str]) -> None:
        """Without an Organization: record these accounts as members of org_id (and use this table)."""
        for account in accounts:
            self._organization_table[account] = org_id
        self.set_organization_lookup(None)

    def organization_of(self, account_id: str) -> str | None:
        return self._organization_lookup(account_id)

    def inject_throttling(self, fraction: float, operations: Iterable[str] | None = None) -> None:
        """Throttle this fraction of calls (seeded random), optionally only these operations."""
        self.faults.throttle_fraction = fraction
        self.faults.throttle_operations = set(operations) if operations is not None else None

    def deny_access(self, operation: str, account_id: str | None = None, region: str | None = None) -> None:
        """Make `operation` (e.g. "StartCopyJob") raise AccessDeniedException; None = any."""
        self.faults.denied.add((operation, account_id, region))

    def allow_access(self, operation: str, account_id: str | None = None, region: str | None = None) -> None:
        self.faults.denied.discard((operation, account_id, region))

    def fail_next_copies(self, count: int, message: str = copy_rules.MSG_ACCESS_DENIED) -> None:
        """The next `count` copy jobs that start running end FAILED with `message`."""
        self.faults.copy_failure_messages.extend([message] * count)

    def clear_faults(self) -> None:
        self.faults = Faults()

    # ------------------------------------------------------------------ KMS keys (docs/AWS-BEHAVIOUR.md §4.3)

    def set_resource_encryption(self, resource_arn: str, kms_key_arn: str | None) -> None:
        """The KMS key of a protected resource (its backups inherit it unless fully managed)."""
        if kms_key_arn:
            self.resource_keys[resource_arn] = kms_key_arn
        else:
            self.resource_keys.pop(resource_arn, None)

    def register_aws_managed_key(self, kms_key_arn: str) -> None:
        """Mark a key ID ARN as AWS managed (alias ARNs `alias/aws/...` are recognised anyway)."""
        self.aws_managed_keys.add(kms_key_arn)

    def resource_encryption_key(self, resource_arn: str) -> str | None:
        """The KMS key of a protected resource: one set with `set_resource_encryption`, else what the
        resource itself carries in moto (an EBS volume, EFS file system or RDS instance/cluster created
        encrypted through the API; without a KmsKeyId, the service's AWS managed key aws/ebs,
        aws/elasticfilesystem, aws/rds)."""
        if resource_arn in self.resource_keys:
            return self.resource_keys[resource_arn]
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

    def is_aws_managed_key(self, key_arn: str | None) -> bool:
        """An AWS managed key: an `alias/aws/...` ARN, a registered key, or a key of moto's KMS that is
        AWS managed or the target of an `alias/aws/...` alias (moto creates aws/ebs that way)."""
        if not key_arn:
            return False
        if ":alias/aws/" in key_arn or key_arn in self.aws_managed_keys:
            return True
        try:
            _, service, region, account, resource = arn_parts(key_arn)
        except ValueError:
            return False
        if service != "kms" or not resource.startswith("key/"):
            return False
        from moto.kms.models import kms_backends

        key = kms_backends[account][region].keys.get(resource.split("/", 1)[1])
        if key is None:
            return False
        if getattr(key, "key_manager", "CUSTOMER") == "AWS":
            return True
        return any(str(name).startswith("alias/aws/") for name in getattr(key, "aliases", {}))

    # ------------------------------------------------------------------ the request gate

    def admit(self, operation: str, account: str, region: str) -> None:
        """Faults, then request rates, for one AWS Backup call (responses.py runs it after the
        authorisation, so a refused call spends no rate)."""
        with self.lock:
            for denied_op, denied_account, denied_region in self.faults.denied:
                if (
                    denied_op in (operation, "*")
                    and denied_account in (None, account)
                    and denied_region in (None, region)
                ):
                    raise AccessDeniedException(
                        f"User: arn:aws:sts::{account}:assumed-role/sandbox is not authorized to perform: "
                        f"backup:{operation}"
                    )
            faults = self.faults
            if (
                faults.throttle_fraction
                and (faults.throttle_operations is None or operation in faults.throttle_operations)
                and self.rng.random() < faults.throttle_fraction
            ):
                raise ThrottlingException()
            if not self.settings.throttling:
                return
            backend = self.backend_for(account, region)
            second = int(self.now().timestamp())
            if len(backend.rate_counts) > 4096:  # forget seconds long past (spans last minutes at most)
                backend.rate_counts = {s: c for s, c in backend.rate_counts.items() if s > second - 3600}
            counts = backend.rate_counts.setdefault(second, {})
            limit = RATE_LIMITS.get(operation, LIST_RATE_LIMIT if operation.startswith("List") else None)
            if counts.get("*", 0) >= RATE_LIMIT_TOTAL or (limit is not None and counts.get(operation, 0) >= limit):
                raise ThrottlingException()
            counts["*"] = counts.get("*", 0) + 1
            counts[operation] = counts.get(operation, 0) + 1

    # ------------------------------------------------------------------ backends

    def backend_for(self, account_id: str, region: str) -> SandboxBackupBackend:
        return self.backends[account_id][region]

    def existing_backends(self) -> Iterator[SandboxBackupBackend]:
        for account_backends in list(self.backends.values()):
            yield from list(account_backends.values())

    # ------------------------------------------------------------------ what the backends ask

    def new_uuid(self) -> str:
        return random_uuid(self.rng)

    def next_order(self) -> int:
        return next(self._sequence)

    def new_recovery_point_arn(self, account: str, region: str, resource_type: str, job_id: str, is_copy: bool) -> str:
        # Only the types that need them draw random parts, so seeded runs keep their sequence.
        unique = hex17 = ""
        if resource_type in ("EBS", "Storage Gateway", "EC2", "FSx"):
            hex17 = f"{self.rng.getrandbits(68):017x}"
        elif resource_type not in ("RDS", "Aurora", "DocumentDB", "Neptune"):
            unique = self.new_uuid()
        return recovery_point_arn(account, region, resource_type, job_id, is_copy, unique, hex17)

    def job_created(self, job: Job) -> None:
        self._emit_job(job)
        self._dispatch_soon()

    # ------------------------------------------------------------------ events

    def _emit(self, account: str, region: str, detail_type: str, resources: list[str], detail: Event) -> None:
        event = {
            "version": "0",
            "id": self.new_uuid(),
            "detail-type": detail_type,
            "source": "aws.backup",
            "account": account,
            "time": envelope_time(self.now()),
            "region": region,
            "resources": resources,
            "detail": detail,
        }
        self._sink(event)

    def _emit_job(self, job: Job) -> None:
        if isinstance(job, BackupJob):
            expected_end = self.now() + datetime.timedelta(seconds=self.settings.backup_run_seconds)
            resources, detail = events.backup_job_event(job, expected_end)
            self._emit(job.account, job.region, "Backup Job State Change", resources, detail)
        else:
            assert isinstance(job, CopyJob)
            resources, detail = events.copy_job_event(job)
            self._emit(job.account, job.region, "Copy Job State Change", resources, detail)

    # ------------------------------------------------------------------ lifecycles (docs/AWS-BEHAVIOUR.md §3.5)

    def schedule_lifecycle(self, rp: RecoveryPoint) -> None:
        """(Re)plan the cold transition and the expiry; earlier plans become stale."""
        rp.schedule_generation += 1
        generation, location = rp.schedule_generation, (rp.account, rp.region, rp.arn)
        now = self.now()
        calculated = rp.calculated_lifecycle()
        cold_at = calculated.get("MoveToColdStorageAt")
        delete_at = calculated.get("DeleteAt")
        if (
            cold_at is not None
            and rp.storage_class == "WARM"
            and rp.can_go_cold()
            and (delete_at is None or cold_at < delete_at)
        ):
            self.clock.schedule(
                max(0.0, (cold_at - now).total_seconds()),
                lambda: self._lifecycle_step(location, generation, delete=False),
            )
        if delete_at is not None:
            # docs/AWS-BEHAVIOUR.md §3.5: deleted at a random point over the 8 hours after expiry
            delay = max(0.0, (delete_at - now).total_seconds()) + self.rng.uniform(
                0, self.settings.expiry_window_seconds
            )
            self.clock.schedule(delay, lambda: self._lifecycle_step(location, generation, delete=True))

    def _lifecycle_step(self, location: tuple[str, str, str], generation: int, delete: bool) -> None:
        account, region, arn = location
        with self.lock:
            backend = self.backend_for(account, region)
            rp = backend.recovery_points.get(arn)
            if rp is None or rp.schedule_generation != generation:
                return  # gone after a moto reset, or replanned
            if delete:
                backend.delete_expired(rp)
            else:
                rp.storage_class = "COLD"

    # ------------------------------------------------------------------ jobs: dispatch and progress

    def _dispatch_soon(self) -> None:
        """One dispatch pass per burst of starts and ends (they coalesce)."""
        if not self._dispatch_pending:
            self._dispatch_pending = True
            self.clock.schedule(0, self._dispatch_waiting_jobs)

    @staticmethod
    def _take_slot(backend: SandboxBackupBackend, job: Job, sign: int) -> None:
        """Count a job in (sign 1) or out (sign -1) of its resource and copy quotas."""
        backend.busy_resources[job.resource_arn] = backend.busy_resources.get(job.resource_arn, 0) + sign
        if isinstance(job, CopyJob):
            region = vault_arn_parts(job.destination_vault_arn)[1]
            backend.copies_to_region[region] = backend.copies_to_region.get(region, 0) + sign
            vault = job.destination_vault_arn
            backend.copies_to_vault[vault] = backend.copies_to_vault.get(vault, 0) + sign

    def _dispatch_waiting_jobs(self) -> None:
        """Start CREATED jobs whose resource is free and whose copy quota allows it, oldest first.
        docs/AWS-BEHAVIOUR.md §3.1/§5.1: one backup or copy job per resource at a time; the rest wait
        in CREATED. Copies: 100 at once per account and destination region, then up to 5 per
        destination vault."""
        self._dispatch_pending = False
        settings = self.settings
        with self.lock:
            backends = list(self.existing_backends())
            # The copy quotas are per account and destination region (and vault), whatever region the
            # copies come from (§5.1): count an account's copies over all its source regions.
            of_account: dict[str, list[SandboxBackupBackend]] = {}
            for backend in backends:
                of_account.setdefault(backend.account_id, []).append(backend)

            def copies(account: str, table: str, key: str) -> int:
                return sum(getattr(backend, table).get(key, 0) for backend in of_account.get(account, []))

            def busy(resource_arn: str) -> bool:
                return any(backend.busy_resources.get(resource_arn, 0) > 0 for backend in backends)

            # Merge the waiting lists by creation order; a copy list whose quota is full is dropped
            # whole (its later jobs would be refused too), so the pass stays short.
            queues: list[tuple[SandboxBackupBackend, dict[str, Any], list[Job]]] = []
            for backend in backends:
                if backend.waiting_backups:
                    queues.append((backend, backend.waiting_backups, list(backend.waiting_backups.values())))
                for waiting in backend.waiting_copies.values():
                    if waiting:
                        queues.append((backend, waiting, list(waiting.values())))
            heads = [(jobs[0].order, n, 0) for n, (_, _, jobs) in enumerate(queues)]
            heapq.heapify(heads)
            while heads:
                _, n, index = heapq.heappop(heads)
                backend, waiting, jobs = queues[n]
                job = jobs[index]
                if isinstance(job, CopyJob):
                    region = vault_arn_parts(job.destination_vault_arn)[1]
                    if (
                        copies(job.account, "copies_to_region", region) >= settings.copy_concurrency_per_region
                        and copies(job.account, "copies_to_vault", job.destination_vault_arn)
                        >= settings.copy_concurrency_extra_per_vault
                    ):
                        continue  # this destination is full: its later copies wait too
                if index + 1 < len(jobs):
                    heapq.heappush(heads, (jobs[index + 1].order, n, index + 1))
                if busy(job.resource_arn):
                    continue
                del waiting[job.job_id]
                job.started = True
                self._take_slot(backend, job, 1)
                wait = job.creation_date + datetime.timedelta(seconds=settings.job_start_seconds) - self.now()
                location = (job.account, job.region, job.job_id, isinstance(job, CopyJob))
                self.clock.schedule(max(0.0, wait.total_seconds()), lambda loc=location: self._job_step(loc, "run"))

    def _job_step(self, location: tuple[str, str, str, bool], step: str) -> None:
        account, region, job_id, is_copy = location
        with self.lock:
            backend = self.backend_for(account, region)
            job = (backend.copy_jobs if is_copy else backend.backup_jobs).get(job_id)
            if job is None or job.finished:  # gone after a moto reset
                return
            if step == "run":
                self._run_job(backend, job)
            elif isinstance(job, BackupJob):
                self._complete_backup(backend, job)
            else:
                assert isinstance(job, CopyJob)
                self._complete_copy(backend, job)

    def _finish(self, job: Job, state: str, message: str | None = None) -> None:
        job.state, job.status_message, job.completion_date = state, message, self.now()
        if job.started:
            self._take_slot(self.backend_for(job.account, job.region), job, -1)
        self._dispatch_soon()
        self._emit_job(job)

    def _run_job(self, backend: SandboxBackupBackend, job: Job) -> None:
        location = (job.account, job.region, job.job_id, isinstance(job, CopyJob))
        if isinstance(job, BackupJob):
            if job.vault_name not in backend.vaults:  # the documented FAILED sample (docs/AWS-BEHAVIOUR.md §1.3)
                self._finish(job, "FAILED", f"Backup job failed because backup vault {job.vault_arn} does not exist.")
                return
            if self.settings.require_existing_resources and not resource_exists(job.resource_arn):
                self._finish(job, "FAILED", missing_resource_message(job.resource_arn))
                return
            job.state = "RUNNING"
            self._emit_job(job)
            self.clock.schedule(self.settings.backup_run_seconds, lambda: self._job_step(location, "complete"))
            return
        assert isinstance(job, CopyJob)
        job.failure = self.copy_failure_reason(job)
        job.state = "RUNNING"
        self._emit_job(job)
        seconds = self.settings.copy_fail_seconds if job.failure else self.settings.copy_run_seconds
        self.clock.schedule(seconds, lambda: self._job_step(location, "complete"))

    def copy_failure_reason(self, job: CopyJob, injected: bool = True) -> str | None:
        """Why this copy fails, or None (copy_rules.py); judged when it starts running and at the end."""
        return copy_rules.copy_failure_reason(self, job, injected)

    def _new_recovery_point(self, **values: Any) -> RecoveryPoint:
        rp = RecoveryPoint(**values)
        rp.key_is_aws_managed = self.is_aws_managed_key(rp.encryption_key_arn)
        return rp

    def _complete_backup(self, backend: SandboxBackupBackend, job: BackupJob) -> None:
        vault = backend.vaults.get(job.vault_name)
        if vault is None:
            self._finish(job, "FAILED", f"Backup job failed because backup vault {job.vault_arn} does not exist.")
            return
        resource_key = self.resource_encryption_key(job.resource_arn)
        if job.resource_type in FULLY_MANAGED_TYPES:  # docs/AWS-BEHAVIOUR.md §2.2: the vault's key
            resource_key = vault.encryption_key_arn or default_backup_key(job.account, job.region)
        rp = self._new_recovery_point(
            arn=job.recovery_point_arn,
            account=job.account,
            region=job.region,
            vault_name=job.vault_name,
            vault_arn=vault.backup_vault_arn,
            resource_arn=job.resource_arn,
            resource_type=job.resource_type,
            iam_role_arn=job.iam_role_arn,
            creation_date=job.creation_date,
            completion_date=self.now(),
            lifecycle=dict(job.lifecycle or {}),
            encryption_key_arn=resource_key,
            backup_size=job.backup_size,
            created_by=job.created_by,
        )
        backend.add_recovery_point(rp)
        self._finish(job, "COMPLETED")

    def _complete_copy(self, backend: SandboxBackupBackend, job: CopyJob) -> None:
        failure = job.failure or self.copy_failure_reason(job, injected=False)
        if failure:
            self._finish(job, "FAILED", failure)
            return
        source = backend.recovery_points[job.source_recovery_point_arn]
        dest_account, dest_region, dest_name = vault_arn_parts(job.destination_vault_arn)
        dest_backend = self.backend_for(dest_account, dest_region)
        dest_vault = dest_backend.vaults[dest_name]
        # docs/AWS-BEHAVIOUR.md §3.1: a copy keeps the source's creation date, and its retention unless
        # overridden; DeleteAfterDays -1 keeps the source's expiry. An override without DeleteAfterDays
        # (e.g. only the archive opt-in) keeps the source's DeleteAfterDays too (UNCONFIRMED detail: no
        # AWS page says what a partial override does; "copies retain their retention period" is the rule).
        lifecycle = dict(source.lifecycle)
        if job.lifecycle is not None:
            lifecycle = normalise_lifecycle(job.lifecycle)
            if job.lifecycle.get("DeleteAfterDays") in (None, -1) and "DeleteAfterDays" in source.lifecycle:
                lifecycle["DeleteAfterDays"] = source.lifecycle["DeleteAfterDays"]
        # docs/AWS-BEHAVIOUR.md §4.3: cross-region copies use the vault's key
        key = (
            dest_vault.encryption_key_arn or default_backup_key(dest_account, dest_region)
            if source.resource_type in FULLY_MANAGED_TYPES or dest_region != job.region
            else source.encryption_key_arn
        )
        rp = self._new_recovery_point(
            arn=self.new_recovery_point_arn(dest_account, dest_region, source.resource_type, job.job_id, True),
            account=dest_account,
            region=dest_region,
            vault_name=dest_name,
            vault_arn=dest_vault.backup_vault_arn,
            resource_arn=source.resource_arn,
            resource_type=source.resource_type,
            iam_role_arn=job.iam_role_arn,
            creation_date=source.creation_date,
            completion_date=self.now(),
            lifecycle=lifecycle,
            encryption_key_arn=key,
            backup_size=source.backup_size,
            source_vault_arn=job.source_vault_arn,
            created_by=source.created_by,
        )
        dest_backend.add_recovery_point(rp)
        job.destination_recovery_point_arn = rp.arn
        self._finish(job, "COMPLETED")

    # ------------------------------------------------------------------ seeding and inspecting without the API

    def _created_by_plan(
        self, backend: SandboxBackupBackend, plan_id: str | None, rule_id: str | None
    ) -> dict[str, str]:
        plan = backend.plans.get(plan_id) if plan_id else None
        if plan is not None:
            rule = plan.backup_plan["Rules"][0]
            return {
                "BackupPlanId": plan.backup_plan_id,
                "BackupPlanArn": plan.backup_plan_arn,
                "BackupPlanVersion": plan.version_id,
                "BackupRuleId": rule_id or rule["RuleId"],
                "BackupPlanName": plan.backup_plan["BackupPlanName"],
                "BackupRuleName": rule["RuleName"],
            }
        plan_id = plan_id or self.new_uuid()
        region = backend.region_name
        arn = f"arn:{get_partition(region)}:backup:{region}:{backend.account_id}:backup-plan:{plan_id}"
        version = base64.b64encode(self.new_uuid().encode()).decode()
        return {
            "BackupPlanId": plan_id,
            "BackupPlanArn": arn,
            "BackupPlanVersion": version,
            "BackupRuleId": rule_id or self.new_uuid(),
        }

    def start_scheduled_backup(
        self,
        account_id: str,
        region: str,
        vault_name: str,
        resource_arn: str,
        iam_role_arn: str,
        lifecycle: dict[str, Any] | None = None,
        backup_plan_id: str | None = None,
        backup_rule_id: str | None = None,
    ) -> str:
        """Start a backup job as a backup plan would (events carry createdBy.backupPlanArn).
        A moto plan id fills in the real plan ARN/version/rule; otherwise they are made up."""
        with self.lock:
            backend = self.backend_for(account_id, region)
            created_by = self._created_by_plan(backend, backup_plan_id, backup_rule_id)
            job = backend.start_backup_job(vault_name, resource_arn, iam_role_arn, lifecycle, created_by=created_by)
            return job.job_id

    def put_recovery_point(
        self,
        account_id: str,
        region: str,
        vault_name: str,
        resource_arn: str,
        iam_role_arn: str | None = None,
        creation_date: datetime.datetime | None = None,
        lifecycle: dict[str, Any] | None = None,
        continuous: bool = False,
        storage_class: str = "WARM",
        encryption_key_arn: str | None = None,
    ) -> str:
        """Place a finished recovery point directly (e.g. a continuous or an old one); returns its ARN."""
        with self.lock:
            backend = self.backend_for(account_id, region)
            vault = backend.vault(vault_name)
            resource_type = resource_type_of(resource_arn)
            if resource_type in FULLY_MANAGED_TYPES and encryption_key_arn is None:
                encryption_key_arn = vault.encryption_key_arn or default_backup_key(account_id, region)
            created = creation_date or self.now()
            partition = get_partition(region)
            default_role = f"arn:{partition}:iam::{account_id}:role/service-role/AWSBackupDefaultServiceRole"
            rp = self._new_recovery_point(
                arn=self.new_recovery_point_arn(account_id, region, resource_type, self.new_uuid(), False),
                account=account_id,
                region=region,
                vault_name=vault_name,
                vault_arn=vault.backup_vault_arn,
                resource_arn=resource_arn,
                resource_type=resource_type,
                iam_role_arn=iam_role_arn or default_role,
                creation_date=created,
                completion_date=created,
                lifecycle=normalise_lifecycle(lifecycle),
                encryption_key_arn=encryption_key_arn or self.resource_encryption_key(resource_arn),
                storage_class=storage_class,
                is_continuous=continuous,
            )
            backend.add_recovery_point(rp)
            return rp.arn

    def _select(self, account_id: str | None, region: str | None) -> Iterator[SandboxBackupBackend]:
        for backend in self.existing_backends():
            if account_id in (None, backend.account_id) and region in (None, backend.region_name):
                yield backend

    def recovery_points(
        self,
        account_id: str | None = None,
        region: str | None = None,
        vault_name: str | None = None,
        include_deleted: bool = False,
    ) -> list[RecoveryPoint]:
        """Every recovery point (optionally deleted ones too), filtered; objects are live."""
        with self.lock:
            out = []
            for backend in self._select(account_id, region):
                points = list(backend.recovery_points.values())
                if include_deleted:
                    points += backend.deleted_recovery_points
                out.extend(rp for rp in points if vault_name in (None, rp.vault_name))
            return sorted(out, key=lambda rp: (rp.account, rp.region, rp.vault_name, rp.creation_date))

    def backup_jobs(self, account_id: str | None = None, region: str | None = None) -> list[BackupJob]:
        with self.lock:
            jobs = (j for backend in self._select(account_id, region) for j in backend.backup_jobs.values())
            return sorted(jobs, key=lambda j: j.order)

    def copy_jobs(self, account_id: str | None = None, region: str | None = None) -> list[CopyJob]:
        with self.lock:
            jobs = (j for backend in self._select(account_id, region) for j in backend.copy_jobs.values())
            return sorted(jobs, key=lambda j: j.order)

    def find_recovery_point(self, arn: str) -> RecoveryPoint | None:
        for rp in self.recovery_points(include_deleted=True):
            if rp.arn == arn:
                return rp
        return None

    def snapshot(self) -> dict[str, Any]:
        """A JSON-friendly view of all vault contents, for the demo's printout."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        for rp in self.recovery_points():
            grouped.setdefault(f"{rp.account}/{rp.region}/{rp.vault_name}", []).append(
                json.loads(json.dumps(rp.to_api(), default=str))
            )
        return grouped
