"""A resource created encrypted through the EC2 / EFS / RDS APIs carries its KMS key into its
backups; an AWS managed key (aws/ebs, aws/rds) cannot be shared, so the cross-account copy of a
resource type that AWS Backup does not fully manage fails with AWS's message
(docs/AWS-BEHAVIOUR.md §4.3, §4.4); the function refuses it first, in its own words."""

from __future__ import annotations

import json

import pytest

from backup_events_aws.sandbox import Organization, minimum_layout
from backup_events_aws.sandbox import backup as sandbox_backup

# The module's organisation is built once: on pytest-xdist workers (make test), all its tests
# run on the same one (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_kms_from_api")

MAIN, BACKUP = "000022224444", "999977775555"
EAST = "us-east-1"


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    # A template whose function role lists the recovery-point ARNs (independent of how the
    # repository's template spells them).
    from test_authorization import EXPLICIT_RECOVERY_POINTS, template_variant

    path = template_variant(tmp_path_factory.mktemp("template"), EXPLICIT_RECOVERY_POINTS)
    with Organization(minimum_layout(), template_path=path) as organization:
        yield organization


def refused_then_failed_by_aws(org: Organization, original: sandbox_backup.RecoveryPoint) -> sandbox_backup.CopyJob:
    """The function refuses copy 1 (no copy job; docs/AWS-BEHAVIOUR.md §4.3); started anyway, as
    StartCopyJob by hand, AWS fails it: the copy job the function spared."""
    assert [j for j in org.backup_service.copy_jobs(MAIN) if j.source_recovery_point_arn == original.arn] == []
    assert any(
        isinstance(r["message"], dict)
        and r["message"].get("error") == "CopyRefused"
        and original.arn in r["message"]["message"]
        for r in org.function_logs(MAIN)
    )
    org.client("backup", MAIN, EAST).start_copy_job(
        RecoveryPointArn=original.arn,
        SourceBackupVaultName=original.vault_name,
        DestinationBackupVaultArn=f"arn:aws:backup:{EAST}:{BACKUP}:backup-vault:{original.vault_name}",
        IamRoleArn=org.copy_role_arn(MAIN),
    )
    org.run_until_idle()
    return copy1_of(org, original.resource_arn)


def copy1_of(org, resource_arn: str) -> sandbox_backup.CopyJob:
    [job] = [j for j in org.backup_service.copy_jobs(MAIN) if j.resource_arn == resource_arn]
    return job


def test_an_ebs_volume_created_encrypted_carries_aws_ebs_and_its_cross_account_copy_fails(org):
    volume = org.client("ec2", MAIN, EAST).create_volume(AvailabilityZone=f"{EAST}a", Size=8, Encrypted=True)
    arn = f"arn:aws:ec2:{EAST}:{MAIN}:volume/{volume['VolumeId']}"
    aws_ebs = org.client("kms", MAIN, EAST).describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["Arn"]
    assert org.backup_service.resource_encryption_key(arn) == aws_ebs
    org.start_backup(MAIN, EAST, arn)
    org.run_until_idle()
    [original] = [p for p in org.backup_service.recovery_points(MAIN) if p.resource_arn == arn]
    assert original.encryption_key_arn == aws_ebs
    assert original.to_api()["EncryptionKeyType"] == "AWS_OWNED_KMS_KEY"
    job = refused_then_failed_by_aws(org, original)
    assert (job.state, job.status_message) == ("FAILED", "Given key ID is not accessible")
    assert original.lifecycle == {"DeleteAfterDays": 35}  # never shortened without a copy


def key_policy(*accounts: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )


@pytest.mark.parametrize("shared, state", [(False, "FAILED"), (True, "COMPLETED")])
def test_an_ebs_volume_with_a_customer_managed_key_is_copied_once_the_key_is_shared(org, shared, state):
    policy = key_policy(MAIN, BACKUP) if shared else key_policy(MAIN)
    key = org.client("kms", MAIN, EAST).create_key(Policy=policy)["KeyMetadata"]["Arn"]
    volume = org.client("ec2", MAIN, EAST).create_volume(
        AvailabilityZone=f"{EAST}a", Size=8, Encrypted=True, KmsKeyId=key
    )
    arn = f"arn:aws:ec2:{EAST}:{MAIN}:volume/{volume['VolumeId']}"
    assert org.backup_service.resource_encryption_key(arn) == key
    org.start_backup(MAIN, EAST, arn)
    org.run_until_idle()
    job = copy1_of(org, arn)
    assert job.state == state
    if not shared:
        assert job.status_message == "Given key ID is not accessible"


def test_an_rds_instance_encrypted_with_the_default_key_fails_with_the_rds_message(org):
    instance = org.client("rds", MAIN, EAST).create_db_instance(
        DBInstanceIdentifier="encrypted-db",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin",
        MasterUserPassword="sandbox-password",
        AllocatedStorage=20,
        StorageEncrypted=True,
    )["DBInstance"]
    arn = instance["DBInstanceArn"]
    assert org.backup_service.resource_encryption_key(arn).endswith(":alias/aws/rds")
    org.start_backup(MAIN, EAST, arn)
    org.run_until_idle()
    [original] = [p for p in org.backup_service.recovery_points(MAIN) if p.resource_arn == arn]
    assert refused_then_failed_by_aws(org, original).status_message == sandbox_backup.MSG_RDS_KEY_NOT_ACCESSIBLE


def test_an_efs_file_system_created_encrypted_carries_its_key_but_its_backup_uses_the_vaults(org):
    file_system = org.client("efs", MAIN, EAST).create_file_system(CreationToken="encrypted", Encrypted=True)
    arn = file_system["FileSystemArn"]
    assert org.backup_service.resource_encryption_key(arn).endswith(":alias/aws/elasticfilesystem")
    org.start_backup(MAIN, EAST, arn)
    org.run_until_idle()
    # EFS is fully managed by AWS Backup: its backups use the vault's key, so the copy works.
    assert copy1_of(org, arn).state == "COMPLETED"
