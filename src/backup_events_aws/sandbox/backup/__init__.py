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

The package keeps no state: callers hold their `BackupService` (`Organization.backup_service`);
`installed_service()` finds the one moto uses now, through moto.
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
