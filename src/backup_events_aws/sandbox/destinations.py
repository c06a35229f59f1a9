"""Where copies go, for the sandbox: logically air-gapped vaults, and the rules AWS Backup applies to
copies into locked and air-gapped vaults and across accounts, which stock moto lacks.

- `CreateLogicallyAirGappedBackupVault` (the API) and `AWS::Backup::LogicallyAirGappedBackupVault`
  (CloudFormation): a vault locked by AWS in compliance mode between MinRetentionDays (7 or more)
  and MaxRetentionDays, encrypted with an AWS owned key (docs/AWS-BEHAVIOUR.md §15.3, §17.2).
  DescribeBackupVault reports its VaultType.
- Copy rules, evaluated when a copy job starts running, as AWS fails such copies (a FAILED job
  with a status message, not an error from StartCopyJob):
  * a copy whose retention (its Lifecycle, else the source's) is under the destination vault's
    lock or air-gapped minimum, or over its maximum, or never expires while there is a maximum
    (§17.1, §17.2; asynchronous and "never" over any maximum: modelled strictly, §17.3, §19);
  * a type an air-gapped vault doesn't take, and Aurora, DocumentDB, Neptune across regions to
    or from one (§15.3);
  * a type not fully managed by AWS Backup, encrypted with an AWS managed key, into an
    air-gapped vault even in the same account: such types must come with a customer managed
    key (§15.3, §4.3).
  The cross-account rules (organisation, vault policies, AWS managed keys) stay in backup.py.
- KMS: the keys moto makes for `aws/ebs` (and other `alias/aws/...` aliases AWS services create)
  are AWS managed, so DescribeKey answers `KeyManager: AWS` for them, as AWS does (§4.3); moto
  says CUSTOMER.

Status message wording marked "sandbox wording" is not documented by AWS.
"""

from __future__ import annotations

from typing import Any

from moto.backup.models import backup_backends
from moto.core.common_models import CloudFormationModel

from backup_events_aws.sandbox.backup import models as sandbox_backup

AIR_GAPPED = "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"
# §15.3: the types a logically air-gapped vault is documented to take; others are refused
# (the feature table's column could not be read cell by cell: modelled strictly, §19 item 24).
AIR_GAPPED_TYPES = {"EBS", "EC2", "EFS", "S3", "RDS", "Aurora", "DocumentDB", "Neptune", "Storage Gateway",
                    "FSx"}
# §15: "Cross-Region copy to or from a logically air-gapped vault is not currently available for
# backups that contain Amazon Aurora, Amazon DocumentDB, and Amazon Neptune".
AIR_GAPPED_ONE_REGION_TYPES = {"Aurora", "DocumentDB", "Neptune"}
LAG_MINIMUM_RETENTION_DAYS = 7  # §15: CreateLogicallyAirGappedBackupVault's MinRetentionDays >= 7
MAXIMUM_RETENTION_DAYS = 36500

MSG_AIR_GAPPED_TYPE = ("Copy job failed. Resource type {type} is not supported by logically air-gapped "
                       "backup vaults.")  # sandbox wording
MSG_AIR_GAPPED_REGION = ("Copy job failed. Cross-Region copy to or from a logically air-gapped backup vault is "
                         "not available for resource type {type}.")  # sandbox wording
MSG_RETENTION_OUT_OF_RANGE = (
    "Copy job failed. The retention period of the copy ({days}) is outside the range allowed by the "
    "destination backup vault {vault}: MinRetentionDays {low}, MaxRetentionDays {high}.")  # sandbox wording


def vault_type(vault: Any) -> str:
    return getattr(vault, "sandbox_vault_type", "BACKUP_VAULT")


# --------------------------------------------------------------------------------------------
# Logically air-gapped vaults


def create_air_gapped_vault(backend: Any, name: str, min_days: Any, max_days: Any,
                            tags: dict[str, str] | None = None, creator_request_id: str | None = None,
                            encryption_key_arn: str | None = None) -> Any:
    """CreateLogicallyAirGappedBackupVault (§15, §17). Both limits are required."""
    if min_days in (None, "") or max_days in (None, ""):
        raise sandbox_backup.InvalidParameterValueException(
            "MinRetentionDays and MaxRetentionDays are required for a logically air-gapped backup vault")
    low, high = int(min_days), int(max_days)
    if not LAG_MINIMUM_RETENTION_DAYS <= low <= high <= MAXIMUM_RETENTION_DAYS:  # sandbox wording
        raise sandbox_backup.InvalidParameterValueException(
            f"Invalid retention: MinRetentionDays must be at least {LAG_MINIMUM_RETENTION_DAYS} and at most "
            f"MaxRetentionDays, MaxRetentionDays at most {MAXIMUM_RETENTION_DAYS} (got {low} and {high})")
    vault = backend.create_backup_vault(backup_vault_name=name, backup_vault_tags=tags or {},
                                        encryption_key_arn=encryption_key_arn,
                                        creator_request_id=creator_request_id)
    # §15: always locked by AWS in compliance mode; AWS owned key unless a customer managed key is given.
    vault.sandbox_vault_type = AIR_GAPPED
    vault.locked, vault.min_retention_days, vault.max_retention_days = True, low, high
    return vault


def describe_vault_extras(vault: Any) -> dict[str, Any]:
    """What DescribeBackupVault adds for the vault type (model: VaultType, EncryptionKeyType)."""
    extras: dict[str, Any] = {"VaultType": vault_type(vault), "VaultState": "AVAILABLE"}
    if vault_type(vault) == AIR_GAPPED:
        extras["EncryptionKeyType"] = ("CUSTOMER_MANAGED_KMS_KEY" if vault.encryption_key_arn
                                       else "AWS_OWNED_KMS_KEY")
    return extras


class AirGappedVaultResource(CloudFormationModel):
    """AWS::Backup::LogicallyAirGappedBackupVault. Ref = vault name; GetAtt BackupVaultArn, BackupVaultName."""

    def __init__(self, vault_name: str, vault_arn: str):
        self.vault_name, self.vault_arn = vault_name, vault_arn

    @property
    def physical_resource_id(self) -> str:
        return self.vault_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "BackupVaultName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Backup::LogicallyAirGappedBackupVault"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("BackupVaultArn", "BackupVaultName")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "BackupVaultArn":
            return self.vault_arn
        if attribute_name == "BackupVaultName":
            return self.vault_name
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
        region_name: str, **kwargs: Any,
    ) -> "AirGappedVaultResource":
        from backup_events_aws.sandbox.cloudformation import store_vault_access_policy

        properties = cloudformation_json.get("Properties", {})
        name = properties.get("BackupVaultName", resource_name)
        vault = create_air_gapped_vault(
            backup_backends[account_id][region_name], name, properties.get("MinRetentionDays"),
            properties.get("MaxRetentionDays"), properties.get("BackupVaultTags"),
            kwargs.get("LogicalId", resource_name), properties.get("EncryptionKeyArn"))
        if properties.get("AccessPolicy"):
            store_vault_access_policy(account_id, region_name, name, properties["AccessPolicy"])
        return cls(name, vault.backup_vault_arn)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
        region_name: str,
    ) -> None:
        backup_backends[account_id][region_name].delete_backup_vault(resource_name)


# --------------------------------------------------------------------------------------------
# Copy rules


def copy_retention_days(job: Any, source: Any) -> int | None:
    """The copy's DeleteAfterDays: its Lifecycle's, else the source's (§3.1); None = never expires."""
    days = (job.lifecycle or {}).get("DeleteAfterDays")
    if days in (None, -1):
        days = source.lifecycle.get("DeleteAfterDays")
    return None if days in (None, -1) else int(days)


def destination_failure(job: Any) -> str | None:
    """Why the destination vault fails this copy, or None (rules in the module docstring)."""
    source = sandbox_backup.state_of(sandbox_backup.backend_for(job.account, job.region)).recovery_points.get(
        job.source_recovery_point_arn)
    dest_account, dest_region, dest_name = sandbox_backup._vault_arn_parts(job.destination_vault_arn)
    dest = sandbox_backup.backend_for(dest_account, dest_region).vaults.get(dest_name)
    source_vault = sandbox_backup.backend_for(job.account, job.region).vaults.get(job.source_vault_name)
    if source is None or dest is None:
        return None  # backup.py words these
    air_gapped = vault_type(dest) == AIR_GAPPED
    cross_region = dest_region != job.region
    if air_gapped and source.resource_type not in AIR_GAPPED_TYPES:
        return MSG_AIR_GAPPED_TYPE.format(type=source.resource_type)
    if cross_region and (air_gapped or vault_type(source_vault) == AIR_GAPPED) and (
            source.resource_type in AIR_GAPPED_ONE_REGION_TYPES):
        return MSG_AIR_GAPPED_REGION.format(type=source.resource_type)
    if air_gapped and source.resource_type not in sandbox_backup.FULLY_MANAGED_TYPES and (
            sandbox_backup._is_aws_managed_key(source.encryption_key_arn)):
        return sandbox_backup.MSG_KEY_NOT_ACCESSIBLE  # §4.3 / §15, the cross-account wording
    if dest.locked:
        low, high = dest.min_retention_days, dest.max_retention_days
        days = copy_retention_days(job, source)
        if (low is not None and days is not None and days < low) or (
                high is not None and (days is None or days > high)):
            return MSG_RETENTION_OUT_OF_RANGE.format(
                days=f"{days} days" if days is not None else "never expires", vault=job.destination_vault_arn,
                low=low if low is not None else "none", high=high if high is not None else "none")
    return None


_installed: dict[str, Any] = {}


def _copy_failure_reason(job: Any, injected: bool = True) -> str | None:
    """backup.py's reasons first (faults, organisation, policies, keys), then the destination's."""
    return _installed["copy_failure_reason"](job, injected) or destination_failure(job)


def _create_alias_marking_aws_managed(backend: Any, target_key_id: str, alias_name: str) -> Any:
    alias = _installed["create_alias"](backend, target_key_id, alias_name)
    if alias_name.startswith("alias/aws/"):  # only AWS services make these (§4.3)
        backend.keys[backend.get_key_id(target_key_id)].key_manager = "AWS"
    return alias


def install() -> None:
    """Add the copy rules to backup.py's, make AWS managed keys say so, and make CloudFormation
    know the air-gapped vault (idempotent). Call before sandbox.cloudformation.install(), which
    rebuilds moto's model map."""
    from moto.kms.models import KmsBackend

    if "copy_failure_reason" not in _installed:
        _installed["copy_failure_reason"] = sandbox_backup.copy_failure_reason
        sandbox_backup.copy_failure_reason = _copy_failure_reason
        _installed["create_alias"] = KmsBackend.create_alias
        KmsBackend.create_alias = _create_alias_marking_aws_managed  # type: ignore[method-assign]


def uninstall() -> None:
    from moto.kms.models import KmsBackend

    if "copy_failure_reason" in _installed:
        sandbox_backup.copy_failure_reason = _installed.pop("copy_failure_reason")
        KmsBackend.create_alias = _installed.pop("create_alias")  # type: ignore[method-assign]
