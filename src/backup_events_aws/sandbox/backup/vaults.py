"""Vaults that stock moto lacks and the rules AWS Backup applies to copies into them (docs/AWS-BEHAVIOUR.md).

- `CreateLogicallyAirGappedBackupVault`: a vault locked by AWS in compliance mode between
  MinRetentionDays (7 or more) and MaxRetentionDays, encrypted with an AWS owned key (§15.3,
  §17.2). DescribeBackupVault reports its VaultType. (`AWS::Backup::LogicallyAirGappedBackupVault`,
  the CloudFormation resource, is in sandbox/destinations.py.)
- Destination rules for a copy, evaluated when the copy job starts running, as AWS fails such
  copies (a FAILED job with a status message, not an error from StartCopyJob):
  * a copy whose retention (its Lifecycle, else the source's) is under the destination vault's
    lock or air-gapped minimum, or over its maximum, or never expires while there is a maximum
    (§17.1, §17.2; asynchronous and "never" over any maximum: modelled strictly, §17.3, §19);
  * a type an air-gapped vault doesn't take, and Aurora, DocumentDB, Neptune across regions to
    or from one (§15.3);
  * a type not fully managed by AWS Backup, encrypted with an AWS managed key, into an
    air-gapped vault even in the same account: such types must come with a customer managed
    key (§15.3, §4.3).
  The cross-account rules (organisation, vault policies, AWS managed keys) are in copy_rules.py.

Status message wording marked "sandbox wording" is not documented by AWS.
"""

from __future__ import annotations

from typing import Any

from .exceptions import InvalidParameterValueException

AIR_GAPPED = "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"
# §15.3: the types a logically air-gapped vault is documented to take; others are refused
# (the feature table's column could not be read cell by cell: modelled strictly, §19 item 24).
AIR_GAPPED_TYPES = frozenset(
    {"EBS", "EC2", "EFS", "S3", "RDS", "Aurora", "DocumentDB", "Neptune", "Storage Gateway", "FSx"}
)
# §15: "Cross-Region copy to or from a logically air-gapped vault is not currently available for
# backups that contain Amazon Aurora, Amazon DocumentDB, and Amazon Neptune".
AIR_GAPPED_ONE_REGION_TYPES = frozenset({"Aurora", "DocumentDB", "Neptune"})
LAG_MINIMUM_RETENTION_DAYS = 7  # §15: CreateLogicallyAirGappedBackupVault's MinRetentionDays >= 7
MAXIMUM_RETENTION_DAYS = 36500

MSG_AIR_GAPPED_TYPE = (
    "Copy job failed. Resource type {type} is not supported by logically air-gapped backup vaults."  # sandbox wording
)
MSG_AIR_GAPPED_REGION = (
    "Copy job failed. Cross-Region copy to or from a logically air-gapped backup vault is "
    "not available for resource type {type}."
)  # sandbox wording
MSG_RETENTION_OUT_OF_RANGE = (
    "Copy job failed. The retention period of the copy ({days}) is outside the range allowed by the "
    "destination backup vault {vault}: MinRetentionDays {low}, MaxRetentionDays {high}."
)  # sandbox wording


def vault_type(vault: Any) -> str:
    return getattr(vault, "sandbox_vault_type", "BACKUP_VAULT")


# --------------------------------------------------------------------------------------------
# Logically air-gapped vaults


def create_air_gapped_vault(
    backend: Any,
    name: str,
    min_days: Any,
    max_days: Any,
    tags: dict[str, str] | None = None,
    creator_request_id: str | None = None,
    encryption_key_arn: str | None = None,
) -> Any:
    """CreateLogicallyAirGappedBackupVault (§15, §17). Both limits are required."""
    if min_days in (None, "") or max_days in (None, ""):
        raise InvalidParameterValueException(
            "MinRetentionDays and MaxRetentionDays are required for a logically air-gapped backup vault"
        )
    low, high = int(min_days), int(max_days)
    if not LAG_MINIMUM_RETENTION_DAYS <= low <= high <= MAXIMUM_RETENTION_DAYS:  # sandbox wording
        raise InvalidParameterValueException(
            f"Invalid retention: MinRetentionDays must be at least {LAG_MINIMUM_RETENTION_DAYS} and at most "
            f"MaxRetentionDays, MaxRetentionDays at most {MAXIMUM_RETENTION_DAYS} (got {low} and {high})"
        )
    vault = backend.create_backup_vault(
        backup_vault_name=name,
        backup_vault_tags=tags or {},
        encryption_key_arn=encryption_key_arn,
        creator_request_id=creator_request_id,
    )
    # §15: always locked by AWS in compliance mode; AWS owned key unless a customer managed key is given.
    vault.sandbox_vault_type = AIR_GAPPED
    vault.locked, vault.min_retention_days, vault.max_retention_days = True, low, high
    return vault


def describe_vault_extras(vault: Any) -> dict[str, Any]:
    """What DescribeBackupVault adds for the vault type (model: VaultType, EncryptionKeyType)."""
    extras: dict[str, Any] = {"VaultType": vault_type(vault), "VaultState": "AVAILABLE"}
    if vault_type(vault) == AIR_GAPPED:
        extras["EncryptionKeyType"] = "CUSTOMER_MANAGED_KMS_KEY" if vault.encryption_key_arn else "AWS_OWNED_KMS_KEY"
    return extras


# --------------------------------------------------------------------------------------------
# Copy rules into a destination vault


def copy_retention_days(job: Any, source: Any) -> int | None:
    """The copy's DeleteAfterDays: its Lifecycle's, else the source's (§3.1); None = never expires."""
    days = (job.lifecycle or {}).get("DeleteAfterDays")
    if days in (None, -1):
        days = source.lifecycle.get("DeleteAfterDays")
    return None if days in (None, -1) else int(days)


def destination_failure(
    job: Any,
    source: Any,
    source_vault: Any,
    dest_vault: Any,
    dest_region: str,
    fully_managed: bool,
    key_is_aws_managed: bool,
    key_not_accessible: str,
) -> str | None:
    """Why the destination vault fails this copy, or None (rules in the module docstring)."""
    air_gapped = vault_type(dest_vault) == AIR_GAPPED
    cross_region = dest_region != job.region
    if air_gapped and source.resource_type not in AIR_GAPPED_TYPES:
        return MSG_AIR_GAPPED_TYPE.format(type=source.resource_type)
    if (
        cross_region
        and (air_gapped or vault_type(source_vault) == AIR_GAPPED)
        and source.resource_type in AIR_GAPPED_ONE_REGION_TYPES
    ):
        return MSG_AIR_GAPPED_REGION.format(type=source.resource_type)
    if air_gapped and not fully_managed and key_is_aws_managed:
        return key_not_accessible  # §4.3 / §15, the cross-account wording
    if dest_vault.locked:
        low, high = dest_vault.min_retention_days, dest_vault.max_retention_days
        days = copy_retention_days(job, source)
        if (low is not None and days is not None and days < low) or (
            high is not None and (days is None or days > high)
        ):
            return MSG_RETENTION_OUT_OF_RANGE.format(
                days=f"{days} days" if days is not None else "never expires",
                vault=job.destination_vault_arn,
                low=low if low is not None else "none",
                high=high if high is not None else "none",
            )
    return None
