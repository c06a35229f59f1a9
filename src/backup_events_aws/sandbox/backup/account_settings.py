"""AWS Backup's account settings and read-outs that stock moto lacks, behind the real API
(the backend in models.py answers them from here): what `backup-events preflight` and an operator ask.

* Global settings (DescribeGlobalSettings / UpdateGlobalSettings): `isCrossAccountBackupEnabled`
  belongs to the organisation; only its management account may change it, any member reads it,
  and an account outside an organisation is refused (docs/AWS-BEHAVIOUR.md §4.2). The values are
  strings, "true" / "false", as the API documents them.
* Region settings (DescribeRegionSettings / UpdateRegionSettings): service opt-in per resource
  type, per account and region. Which types a new account has opted in is not documented
  clearly; the sandbox opts in only the long-standing types and lets UpdateRegionSettings change
  any (docs/AWS-BEHAVIOUR.md §19, modelled strictly).
* Vault notifications (Get/Put/DeleteBackupVaultNotifications): an SNS topic and events per vault;
  Get on a vault without them is ResourceNotFoundException.
* ListRecoveryPointsByResource: the recovery points of one resource in this account and region,
  newest first.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from moto.backup.exceptions import InvalidParameterValueException, InvalidRequestException, ResourceNotFoundException

# Opted in on a new account (modelled strictly, docs/AWS-BEHAVIOUR.md §19); the others start off.
DEFAULT_OPTED_IN = ("DynamoDB", "EBS", "EC2", "EFS", "RDS", "Storage Gateway")
OPT_IN_TYPES = (
    "Aurora",
    "CloudFormation",
    "DocumentDB",
    "DSQL",
    "DynamoDB",
    "EBS",
    "EC2",
    "EFS",
    "FSx",
    "Neptune",
    "RDS",
    "Redshift",
    "Redshift Serverless",
    "S3",
    "SAP HANA on Amazon EC2",
    "Storage Gateway",
    "Timestream",
    "VirtualMachine",
)
MANAGEMENT_TYPES = ("CloudFormation", "DSQL", "DynamoDB", "EFS")  # full AWS Backup management
GLOBAL_SETTING_NAMES = ("isCrossAccountBackupEnabled", "isMpaEnabled", "isDelegatedAdministratorEnabled")
VAULT_EVENTS = (
    "BACKUP_JOB_STARTED",
    "BACKUP_JOB_COMPLETED",
    "COPY_JOB_STARTED",
    "COPY_JOB_SUCCESSFUL",
    "COPY_JOB_FAILED",
    "RESTORE_JOB_STARTED",
    "RESTORE_JOB_COMPLETED",
    "RECOVERY_POINT_MODIFIED",
    "BACKUP_PLAN_CREATED",
    "BACKUP_PLAN_MODIFIED",
    "S3_BACKUP_OBJECT_FAILED",
    "S3_RESTORE_OBJECT_FAILED",
    "CONTINUOUS_BACKUP_INTERRUPTED",
    "RECOVERY_POINT_INDEX_COMPLETED",
    "RECOVERY_POINT_INDEX_DELETED",
    "RECOVERY_POINT_INDEXING_FAILED",
)


@dataclass
class RegionSettings:
    opt_in: dict[str, bool] = field(default_factory=lambda: {t: t in DEFAULT_OPTED_IN for t in OPT_IN_TYPES})
    management: dict[str, bool] = field(default_factory=lambda: {t: True for t in MANAGEMENT_TYPES})
    notifications: dict[str, dict[str, Any]] = field(default_factory=dict)  # vault name -> configuration


@dataclass
class GlobalSettings:
    values: dict[str, str] = field(default_factory=lambda: dict.fromkeys(GLOBAL_SETTING_NAMES, "false"))
    last_update: datetime.datetime | None = None


# ------------------------------------------------------------------ global settings


def _management_account(account: str) -> str | None:
    """The management account of `account`'s organisation, from moto's Organizations."""
    from moto.organizations.models import organizations_backends

    if account in organizations_backends.master_accounts:
        return organizations_backends.master_accounts[account][0]
    backends = organizations_backends.get(account)
    if backends is not None and "aws" in backends and backends["aws"].org is not None:
        return account
    return None


def _global_settings(management: str) -> GlobalSettings:
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[management]["aws"]
    return backend.__dict__.setdefault("sandbox_backup_global_settings", GlobalSettings())


def describe_global_settings(account: str) -> dict[str, Any]:
    management = _management_account(account)
    if management is None:  # sandbox wording; AWS: "an error if the account is not a member"
        raise InvalidRequestException(f"Account {account} is not a member of an organization.")
    settings = _global_settings(management)
    out: dict[str, Any] = {"GlobalSettings": dict(settings.values)}
    if settings.last_update is not None:
        out["LastUpdateTime"] = settings.last_update
    return out


def update_global_settings(account: str, values: dict[str, str] | None, now: datetime.datetime) -> None:
    if _management_account(account) != account:  # sandbox wording
        raise InvalidRequestException(
            f"Account {account} is not the management account of an organization: only it can update global settings."
        )
    settings = _global_settings(account)
    for name, value in (values or {}).items():
        if name not in GLOBAL_SETTING_NAMES or str(value).lower() not in ("true", "false"):
            raise InvalidParameterValueException(f"Invalid global setting {name}={value}")
        settings.values[name] = str(value).lower()
    settings.last_update = now


def cross_account_backup_enabled(account: str) -> bool:
    management = _management_account(account)
    return management is not None and _global_settings(management).values["isCrossAccountBackupEnabled"] == "true"


# ------------------------------------------------------------------ region settings


def describe_region_settings(settings: RegionSettings) -> dict[str, Any]:
    return {
        "ResourceTypeOptInPreference": dict(settings.opt_in),
        "ResourceTypeManagementPreference": dict(settings.management),
    }


def update_region_settings(
    settings: RegionSettings, opt_in: dict[str, bool] | None, management: dict[str, bool] | None
) -> None:
    for given, known, target in (
        (opt_in, OPT_IN_TYPES, settings.opt_in),
        (management, MANAGEMENT_TYPES, settings.management),
    ):
        for resource_type, value in (given or {}).items():
            if resource_type not in known:  # sandbox wording
                raise InvalidParameterValueException(f"Unsupported resource type: {resource_type}")
            target[resource_type] = bool(value)


# ------------------------------------------------------------------ vault notifications


def put_vault_notifications(
    settings: RegionSettings, vault_name: str, vault_arn: str, topic_arn: str, events: list[str]
) -> None:
    unknown = [e for e in events or [] if e not in VAULT_EVENTS]
    if unknown or not events:  # sandbox wording
        raise InvalidParameterValueException(f"Invalid BackupVaultEvents: {unknown or events}")
    settings.notifications[vault_name] = {
        "BackupVaultName": vault_name,
        "BackupVaultArn": vault_arn,
        "SNSTopicArn": topic_arn,
        "BackupVaultEvents": list(events),
    }


def get_vault_notifications(settings: RegionSettings, vault_name: str) -> dict[str, Any]:
    configuration = settings.notifications.get(vault_name)
    if configuration is None:  # sandbox wording
        raise ResourceNotFoundException(f"Backup vault {vault_name} has no notification configuration")
    return dict(configuration)
