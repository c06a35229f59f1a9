"""Where copies go and how long they stay (issue 13), end to end in the typical layout.

Copy retention (Copy1Retention, Copy2Retention), locked and logically air-gapped backup vaults
(BackupVaultType, BackupVaultRetention), keys that can't leave their account, and copy-back.
What AWS would refuse, the function refuses before StartCopyJob with one ERROR line naming the
fix; what slips past it (a lock the parameters don't know of), the sandbox fails as AWS does.
"""

from __future__ import annotations

import json

import pytest

from backup_events_aws import lambda_function
from backup_events_aws.sandbox import Organization, destinations
from backup_events_aws.sandbox import backup as sandbox_backup

EAST, WEST1, WEST2 = "us-east-1", "us-west-1", "us-west-2"
MAIN, OTHER, BACKUP = "000022224444", "111133335555", "999977775555"
VAULT = "BackupEvents-Sample"


def vault_arn(account: str, region: str) -> str:
    return f"arn:aws:backup:{region}:{account}:backup-vault:{VAULT}"


def backup_of(
    org: Organization, resource: str, account: str = MAIN, region: str = WEST1, days: int = 35
) -> sandbox_backup.RecoveryPoint:
    """An on-demand backup in the watched vault, and everything it sets off."""
    job_id = org.start_backup(account, region, resource, delete_after_days=days)
    org.run_until_idle()
    [job] = [j for j in org.backup_service.backup_jobs() if j.job_id == job_id]
    return org.backup_service.find_recovery_point(job.recovery_point_arn)


def copies_of(org, arn: str) -> list[sandbox_backup.CopyJob]:
    return [j for j in org.backup_service.copy_jobs() if j.source_recovery_point_arn == arn]


def refusals(org: Organization, account: str | None = None) -> list[dict]:
    """The function's ERROR lines for copies it would not start."""
    return [
        log["message"]
        for log in org.function_logs(account=account)
        if isinstance(log["message"], dict) and log["message"].get("error") == "CopyRefused"
    ]


def assert_refused_once_per_attempt(org: Organization, account: str, region: str, words: str) -> None:
    """Lambda's three attempts each log the same one ERROR line, then the error queue keeps it."""
    lines = refusals(org, account)
    assert len(lines) == 3 and len({line["message"] for line in lines}) == 1, lines
    assert words in lines[0]["message"] and "Fix:" in lines[0]["message"]
    [record] = org.error_messages(account, region)
    assert record["body"]["responsePayload"]["errorType"] == "CopyRefused"


def cmk(org: Organization, account: str, region: str) -> str:
    """A customer managed key shared with the backup account (docs/AWS-BEHAVIOUR.md §4.3)."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in (account, BACKUP)]},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    return org.client("kms", account, region).create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]


def encrypted_volume(org: Organization, account: str, region: str) -> str:
    """An EBS volume created with --encrypted and no key: the account's aws/ebs key (§4.3)."""
    volume = org.client("ec2", account, region).create_volume(AvailabilityZone=f"{region}a", Size=8, Encrypted=True)
    return f"arn:aws:ec2:{region}:{account}:volume/{volume['VolumeId']}"


# ---------------------------------------------------------------------------- 1. copy retention


def test_each_copy_keeps_its_own_retention_and_cold_transition_where_the_type_can():
    parameters = {"Copy1Retention": "120", "Copy2Retention": "400/30"}
    with Organization.typical(parameters=parameters) as org:
        efs = backup_of(org, org.create_resource("EFS", MAIN, WEST1))
        volume = org.create_resource("EBS", OTHER, EAST)
        org.backup_service.set_resource_encryption(volume, cmk(org, OTHER, EAST))
        ebs = backup_of(org, volume, account=OTHER, region=EAST)
        for original, copy2_region, copy2_lifecycle in (
            (efs, WEST2, {"DeleteAfterDays": 400, "MoveToColdStorageAfterDays": 30}),
            # EBS copies can't go cold (no archive opt-in): the transition is left out.
            (ebs, WEST2, {"DeleteAfterDays": 400}),
        ):
            [copy1] = copies_of(org, original.arn)
            assert copy1.state == "COMPLETED" and copy1.destination_vault_arn == vault_arn(BACKUP, original.region)
            assert org.backup_service.find_recovery_point(copy1.destination_recovery_point_arn).lifecycle == {
                "DeleteAfterDays": 120
            }
            [copy2] = copies_of(org, copy1.destination_recovery_point_arn)
            assert copy2.destination_vault_arn == vault_arn(BACKUP, copy2_region)
            assert (
                org.backup_service.find_recovery_point(copy2.destination_recovery_point_arn).lifecycle
                == copy2_lifecycle
            )
            # The original is still shortened once copy 1 exists.
            assert original.lifecycle == {"DeleteAfterDays": 8}
        assert refusals(org) == []


def test_a_copy_setting_that_breaks_aws_cold_rule_is_refused_with_the_fix():
    with Organization.typical(parameters={"Copy2Retention": "100/30"}) as org:
        original = backup_of(org, org.create_resource("EFS", MAIN, WEST1))
        [copy1] = copies_of(org, original.arn)
        assert copies_of(org, copy1.destination_recovery_point_arn) == []  # no copy 2 job for AWS to fail
        assert_refused_once_per_attempt(
            org, BACKUP, WEST1, "Fix: in Copy2Retention DAYS/COLD, make DAYS at least COLD + 90"
        )


# ---------------------------------------------------------------------------- 2. locked and air-gapped


def lock_backup_vaults(org: Organization, low: int, high: int) -> None:
    for region in (EAST, WEST1, WEST2):
        org.client("backup", BACKUP, region).put_backup_vault_lock_configuration(
            BackupVaultName=VAULT, MinRetentionDays=low, MaxRetentionDays=high
        )


def test_vault_lock_limits_known_to_the_stack_refuse_an_inherited_retention_before_aws_does():
    with Organization.typical(parameters={"BackupVaultRetention": "60-400"}) as org:
        lock_backup_vaults(org, 60, 400)
        original = backup_of(org, org.create_resource("EFS", MAIN, WEST1), days=35)
        assert copies_of(org, original.arn) == []
        assert_refused_once_per_attempt(org, MAIN, WEST1, "kept 35 days, outside the backup vault's 60..400")
        assert original.lifecycle == {"DeleteAfterDays": 35}  # never shortened without copy 1
        # The fix the line names works: a retention within the lock.
        long_kept = backup_of(org, org.create_resource("EFS", MAIN, WEST1), days=90)
        [copy1] = copies_of(org, long_kept.arn)
        assert copy1.state == "COMPLETED"
        [copy2] = copies_of(org, copy1.destination_recovery_point_arn)
        assert copy2.state == "COMPLETED" and long_kept.lifecycle == {"DeleteAfterDays": 8}


def test_a_lock_the_stack_does_not_know_fails_the_copy_job_as_aws_does():
    with Organization.typical() as org:
        lock_backup_vaults(org, 60, 400)
        original = backup_of(org, org.create_resource("EFS", MAIN, WEST1), days=35)
        [job] = copies_of(org, original.arn)
        assert job.state == "FAILED" and job.status_message == destinations.MSG_RETENTION_OUT_OF_RANGE.format(
            days="35 days", vault=vault_arn(BACKUP, WEST1), low=60, high=400
        )
        [message] = org.error_messages(MAIN, WEST1)
        assert message["body"]["detail"]["state"] == "FAILED"
        assert original.lifecycle == {"DeleteAfterDays": 35}


AIR_GAPPED = {"BackupVaultType": "air-gapped", "BackupVaultRetention": "7-3650"}


def test_copies_1_and_2_go_into_sample_air_gapped_vaults():
    with Organization.typical(parameters=dict(AIR_GAPPED, Copy2Retention="365")) as org:
        for region in (EAST, WEST1, WEST2):
            vault = org.client("backup", BACKUP, region).describe_backup_vault(BackupVaultName=VAULT)
            assert vault["VaultType"] == destinations.AIR_GAPPED and vault["Locked"]
            assert (vault["MinRetentionDays"], vault["MaxRetentionDays"]) == (7, 3650)
        # Resource accounts keep standard sample vaults.
        assert (
            org.client("backup", MAIN, EAST).describe_backup_vault(BackupVaultName=VAULT)["VaultType"] == "BACKUP_VAULT"
        )
        original = backup_of(org, org.create_resource("EFS", OTHER, EAST), account=OTHER, region=EAST)
        [copy1] = copies_of(org, original.arn)
        [copy2] = copies_of(org, copy1.destination_recovery_point_arn)
        assert (copy1.state, copy2.state) == ("COMPLETED", "COMPLETED")
        assert copy2.destination_vault_arn == vault_arn(BACKUP, WEST2)
        assert org.backup_service.find_recovery_point(copy2.destination_recovery_point_arn).lifecycle == {
            "DeleteAfterDays": 365
        }
        assert original.lifecycle == {"DeleteAfterDays": 8}
        assert refusals(org) == []


def test_air_gapped_vaults_refuse_types_aws_cannot_copy_into_them_early():
    with Organization.typical(parameters=AIR_GAPPED) as org:
        table = org.client("dynamodb", MAIN, WEST1).create_table(
            TableName="orders",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )["TableDescription"]["TableArn"]
        original = backup_of(org, table)
        assert copies_of(org, original.arn) == []
        assert_refused_once_per_attempt(org, MAIN, WEST1, "air-gapped vaults don't take DynamoDB backups")
        assert original.lifecycle == {"DeleteAfterDays": 35}


def test_aurora_goes_into_the_air_gapped_vault_but_not_across_regions():
    with Organization.typical(parameters=AIR_GAPPED) as org:
        cluster = org.client("rds", MAIN, WEST1).create_db_cluster(
            DBClusterIdentifier="orders",
            Engine="aurora-postgresql",
            MasterUsername="admin",
            MasterUserPassword="password-1234",
        )["DBCluster"]["DBClusterArn"]
        org.backup_service.set_resource_encryption(cluster, cmk(org, MAIN, WEST1))
        original = backup_of(org, cluster)
        [copy1] = copies_of(org, original.arn)
        assert copy1.state == "COMPLETED"
        assert copies_of(org, copy1.destination_recovery_point_arn) == []
        assert_refused_once_per_attempt(org, BACKUP, WEST1, "Aurora can't be copied across regions")


def test_the_sandbox_fails_what_air_gapped_vaults_refuse_when_asked_directly():
    """Without the function's early refusal, AWS's own rules apply (docs/AWS-BEHAVIOUR.md §15)."""
    with Organization.typical(parameters=AIR_GAPPED) as org:
        backup = org.client("backup", BACKUP, WEST1)
        for resource, message in (
            (f"arn:aws:dynamodb:{WEST1}:{BACKUP}:table/t", destinations.MSG_AIR_GAPPED_TYPE.format(type="DynamoDB")),
            (f"arn:aws:ec2:{WEST1}:{BACKUP}:volume/vol-0123456789abcdef0", sandbox_backup.MSG_KEY_NOT_ACCESSIBLE),
        ):
            if ":volume/" in resource:
                org.backup_service.set_resource_encryption(resource, f"arn:aws:kms:{WEST1}:{BACKUP}:alias/aws/ebs")
            backup.create_backup_vault(BackupVaultName=f"Staging{len(resource)}")
            arn = org.backup_service.put_recovery_point(
                BACKUP, WEST1, f"Staging{len(resource)}", resource, lifecycle={"DeleteAfterDays": 30}
            )
            job = backup.start_copy_job(
                RecoveryPointArn=arn,
                SourceBackupVaultName=f"Staging{len(resource)}",
                DestinationBackupVaultArn=vault_arn(BACKUP, WEST1),
                IamRoleArn=org.copy_role_arn(BACKUP),
            )["CopyJobId"]
            org.run_until_idle()
            described = backup.describe_copy_job(CopyJobId=job)["CopyJob"]
            assert (described["State"], described["StatusMessage"]) == ("FAILED", message)


def test_air_gapped_vault_limits_are_checked_at_creation():
    with Organization.typical(parameters=AIR_GAPPED) as org:
        backup = org.client("backup", BACKUP, EAST)
        with pytest.raises(backup.exceptions.InvalidParameterValueException):
            backup.create_logically_air_gapped_backup_vault(
                BackupVaultName="TooShort", MinRetentionDays=3, MaxRetentionDays=30
            )
        created = backup.create_logically_air_gapped_backup_vault(
            BackupVaultName="Mine", MinRetentionDays=7, MaxRetentionDays=30
        )
        assert created["VaultState"] == "AVAILABLE"


# ---------------------------------------------------------------------------- 3. keys


def test_a_backup_under_an_aws_managed_key_is_refused_before_copy_1_in_the_new_words():
    with Organization.typical() as org:
        # The function reads the recovery point's key and asks KMS who manages it: AWS.
        original = backup_of(org, encrypted_volume(org, OTHER, WEST1), account=OTHER)
        assert (
            org.client("kms", OTHER, WEST1).describe_key(KeyId=original.encryption_key_arn)["KeyMetadata"]["KeyManager"]
            == "AWS"
        )
        assert copies_of(org, original.arn) == []  # no copy job that AWS would fail
        assert_refused_once_per_attempt(org, OTHER, WEST1, lambda_function.KEY_FIX)
        assert original.lifecycle == {"DeleteAfterDays": 35}


def test_the_sweep_refuses_the_same_backup_with_the_same_words():
    with Organization.typical() as org:
        volume = org.create_resource("EBS", MAIN, EAST)
        org.backup_service.set_resource_encryption(volume, f"arn:aws:kms:{EAST}:{MAIN}:alias/aws/ebs")
        arn = org.backup_service.put_recovery_point(MAIN, EAST, VAULT, volume, lifecycle={"DeleteAfterDays": 35})
        org.advance(86400 + 3600)  # the daily sweep runs
        assert copies_of(org, arn) == []
        assert any(lambda_function.KEY_FIX in line["message"] for line in refusals(org, MAIN))


def test_the_sweep_gives_a_missed_copy_the_same_retention_and_refuses_the_same_limits():
    parameters = {"Copy1Retention": "120", "BackupVaultRetention": "60-400"}
    with Organization.typical(parameters=parameters) as org:
        efs = org.create_resource("EFS", MAIN, EAST)
        missed = org.backup_service.put_recovery_point(MAIN, EAST, VAULT, efs, lifecycle={"DeleteAfterDays": 35})
        org.advance(86400 + 3600)  # the daily sweep runs: the event was never seen
        [copy1] = [j for j in copies_of(org, missed) if j.state == "COMPLETED"]
        assert org.backup_service.find_recovery_point(copy1.destination_recovery_point_arn).lifecycle == {
            "DeleteAfterDays": 120
        }
    with Organization.typical(parameters={"BackupVaultRetention": "60-400"}) as org:
        efs = org.create_resource("EFS", MAIN, EAST)
        missed = org.backup_service.put_recovery_point(MAIN, EAST, VAULT, efs, lifecycle={"DeleteAfterDays": 35})
        org.advance(86400 + 3600)
        assert copies_of(org, missed) == []
        assert any("outside the backup vault's 60..400" in line["message"] for line in refusals(org, MAIN))
