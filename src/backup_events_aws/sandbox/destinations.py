"""`AWS::Backup::LogicallyAirGappedBackupVault` for the sandbox's CloudFormation (moto lacks it).

The vault itself and the rules AWS Backup applies to copies into locked and air-gapped vaults
are in the backup package (backup/vaults.py, backup/copy_rules.py), and so is the KMS rule
that keys behind `alias/aws/...` aliases are AWS managed (backup/service.py installs it).
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel

from backup_events_aws.sandbox.backup import backend_for
from backup_events_aws.sandbox.backup.vaults import (  # noqa: F401  (their home before the backup package)
    AIR_GAPPED,
    AIR_GAPPED_TYPES,
    MSG_AIR_GAPPED_REGION,
    MSG_AIR_GAPPED_TYPE,
    MSG_RETENTION_OUT_OF_RANGE,
    create_air_gapped_vault,
)


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
            backend_for(account_id, region_name), name, properties.get("MinRetentionDays"),
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
        backend_for(account_id, region_name).delete_backup_vault(resource_name)
