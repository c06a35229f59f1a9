"""AWS Backup for the sandbox, shaped like one of moto's services.

- service.py: `BackupService`, made by whoever starts the sandbox (clock, seed, event sink,
  organisation lookup): settings, faults, the lock, the job dispatcher and lifecycle scheduler;
  `install()` / `uninstall()` put its backends into moto and take them out again.
- models.py: `SandboxBackupBackend`, one per account and region (moto's `BackendDict`), with the
  jobs, recovery points, policies and settings, and public methods named after the operations.
- responses.py: the REST-JSON face, calling only those methods; every request passes one gate
  (authorise, then faults, then request rates). urls.py: the routes.
- events.py (event shapes), copy_rules.py (why a copy fails), vaults.py (air-gapped and locked
  vaults), account_settings.py (global and region settings, notifications),
  protected_resources.py (does a resource exist), exceptions.py.

The module-level names `configure`, `copy_jobs`, `recovery_points`, `settings`... are the
installed service's (read through moto, so this package keeps no state): a transition for
callers that have no `BackupService` at hand; new code uses the object.
"""

from __future__ import annotations

from typing import Any

from .copy_rules import MSG_ACCESS_DENIED, MSG_KEY_NOT_ACCESSIBLE, MSG_NOT_SAME_ORG, MSG_RDS_KEY_NOT_ACCESSIBLE
from .exceptions import (
    AccessDeniedException,
    InvalidParameterValueException,
    InvalidRequestException,
    ResourceNotFoundException,
    ThrottlingException,
)
from .models import FULLY_MANAGED_TYPES, BackupJob, CopyJob, RecoveryPoint, SandboxBackupBackend
from .service import RATE_LIMITS, BackupService, Settings

# What the installed service answers for, as module attributes (see the docstring).
DELEGATED = frozenset(
    {
        "allow_access",
        "backup_jobs",
        "clear_faults",
        "configure",
        "copy_jobs",
        "deny_access",
        "fail_next_copies",
        "find_recovery_point",
        "inject_throttling",
        "organization_of",
        "put_recovery_point",
        "recorded_events",
        "recovery_points",
        "register_aws_managed_key",
        "resource_encryption_key",
        "set_clock",
        "set_event_sink",
        "set_organization",
        "set_organization_lookup",
        "set_resource_encryption",
        "settings",
        "snapshot",
        "start_scheduled_backup",
    }
)


def installed_service() -> BackupService:
    """The BackupService whose backends moto uses now; RuntimeError if there is none."""
    import moto.backup.models

    service = getattr(moto.backup.models.backup_backends.backend, "service", None)
    if not isinstance(service, BackupService):
        raise RuntimeError("No BackupService is installed: BackupService(clock=...).install() first")
    return service


def backend_for(account_id: str, region: str) -> Any:
    """moto's AWS Backup backend of this account and region: the installed service's, if any."""
    import moto.backup.models

    return moto.backup.models.backup_backends[account_id][region]


def __getattr__(name: str) -> Any:
    if name in DELEGATED:
        return getattr(installed_service(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = (
    "FULLY_MANAGED_TYPES",
    "MSG_ACCESS_DENIED",
    "MSG_KEY_NOT_ACCESSIBLE",
    "MSG_NOT_SAME_ORG",
    "MSG_RDS_KEY_NOT_ACCESSIBLE",
    "RATE_LIMITS",
    "AccessDeniedException",
    "BackupJob",
    "BackupService",
    "CopyJob",
    "InvalidParameterValueException",
    "InvalidRequestException",
    "RecoveryPoint",
    "ResourceNotFoundException",
    "SandboxBackupBackend",
    "Settings",
    "ThrottlingException",
    "backend_for",
    "installed_service",
)
