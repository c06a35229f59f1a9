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
from backup_events_aws.sandbox.cloudformation import SandboxResource, store_vault_access_policy


class AirGappedVaultResource(SandboxResource, CloudFormationModel):
    """AWS::Backup::LogicallyAirGappedBackupVault. Ref = vault name; GetAtt BackupVaultArn, BackupVaultName."""

    resource_type = "AWS::Backup::LogicallyAirGappedBackupVault"
    name_property, physical_id_attribute = "BackupVaultName", "vault_name"
    get_att = {"BackupVaultArn": "vault_arn", "BackupVaultName": "vault_name"}

    def __init__(self, vault_name: str, vault_arn: str):
        self.vault_name, self.vault_arn = vault_name, vault_arn

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str, logical_id: str
    ) -> AirGappedVaultResource:
        vault_name = properties.get("BackupVaultName", name)
        vault = create_air_gapped_vault(
            backend_for(account_id, region),
            vault_name,
            properties.get("MinRetentionDays"),
            properties.get("MaxRetentionDays"),
            properties.get("BackupVaultTags"),
            logical_id,
            properties.get("EncryptionKeyArn"),
        )
        if properties.get("AccessPolicy"):
            store_vault_access_policy(account_id, region, vault_name, properties["AccessPolicy"])
        return cls(vault_name, vault.backup_vault_arn)

    @classmethod
    def update(
        cls, original: AirGappedVaultResource, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> AirGappedVaultResource:
        return original  # moto's default: no property of the vault changes in place

    @classmethod
    def delete(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> None:
        backend_for(account_id, region).delete_backup_vault(name)
