"""The sandbox's AWS Backup, driven through real boto3 clients under moto.

Section numbers (§X.Y) refer to docs/AWS-BEHAVIOUR.md.
"""

import datetime
import json
import socket
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

try:
    from backup_events_aws.sandbox import backup as sb
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    from backup_events_aws.sandbox import backup as sb
from backup_events_aws.sandbox.clock import Clock

MAIN, BACKUP, OUTSIDER = "000022224444", "999977775555", "111111111111"
ORG = "o-a1b2c3d4e5"
EAST, WEST = "us-east-1", "us-west-2"
VAULT = "BackupEvents-Sample"
EFS = f"arn:aws:elasticfilesystem:{EAST}:{MAIN}:file-system/fs-0123456789abcdef0"
EBS = f"arn:aws:ec2:{EAST}:{MAIN}:volume/vol-0b5ae24f2ee72d926"
RDS = f"arn:aws:rds:{EAST}:{MAIN}:db:orders"
ROLE = f"arn:aws:iam::{MAIN}:role/service-role/AWSBackupDefaultServiceRole"
NO_RETRIES = Config(retries={"total_max_attempts": 1})

# Key sets of the documented samples (docs/AWS-BEHAVIOUR.md §1.3/§1.4). retryCount appears in some samples
# only; the sandbox never retries, so it never sends it.
BACKUP_DETAIL_KEYS = {
    "CREATED": {"backupJobId", "state", "creationDate"},
    "RUNNING": {
        "backupJobId",
        "backupSizeInBytes",
        "backupVaultArn",
        "backupVaultName",
        "bytesTransferred",
        "creationDate",
        "iamRoleArn",
        "resourceArn",
        "resourceType",
        "state",
        "startBy",
        "expectedCompletionDate",
        "percentDone",
    },
    "COMPLETED": {
        "backupJobId",
        "backupSizeInBytes",
        "backupVaultArn",
        "backupVaultName",
        "bytesTransferred",
        "creationDate",
        "iamRoleArn",
        "resourceArn",
        "resourceType",
        "state",
        "completionDate",
        "startBy",
        "percentDone",
    },
    "FAILED": {
        "backupJobId",
        "backupVaultArn",
        "backupVaultName",
        "bytesTransferred",
        "creationDate",
        "iamRoleArn",
        "resourceArn",
        "resourceType",
        "state",
        "statusMessage",
        "startBy",
        "percentDone",
    },
}
COPY_DETAIL_KEYS = {
    "CREATED": {"creationDate", "state", "sourceBackupVaultArn", "destinationBackupVaultArn"},
    "RUNNING": {
        "copyJobId",
        "backupSizeInBytes",
        "creationDate",
        "iamRoleArn",
        "resourceArn",
        "resourceType",
        "sourceBackupVaultArn",
        "state",
        "destinationBackupVaultArn",
        "destinationRecoveryPointArn",
    },
    "COMPLETED": {
        "copyJobId",
        "backupSizeInBytes",
        "creationDate",
        "iamRoleArn",
        "resourceArn",
        "resourceType",
        "sourceBackupVaultArn",
        "state",
        "completionDate",
        "destinationBackupVaultArn",
        "destinationRecoveryPointArn",
    },
    "FAILED": {
        "copyJobId",
        "backupSizeInBytes",
        "creationDate",
        "iamRoleArn",
        "resourceArn",
        "resourceType",
        "sourceBackupVaultArn",
        "state",
        "statusMessage",
        "completionDate",
        "destinationBackupVaultArn",
        "destinationRecoveryPointArn",
    },
}
ENVELOPE_KEYS = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}


def org_policy(org_id=ORG):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "backup:CopyIntoBackupVault",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": [org_id]}},
                }
            ],
        }
    )


def vault_arn(account, region, name=VAULT):
    return f"arn:aws:backup:{region}:{account}:backup-vault:{name}"


@pytest.fixture
def service():
    """A BackupService of its own, installed for the test and uninstalled after it."""
    # Job mechanics on made-up resource ARNs: test_local_aws.py checks that a missing resource fails.
    service = sb.BackupService(clock=Clock(), throttling=False, require_existing_resources=False).install()
    service.set_organization(ORG, [MAIN, BACKUP])
    try:
        with mock_aws():
            for account in (MAIN, BACKUP):  # the copy role AWS Backup must be able to assume
                make_copy_role(account)
            yield service
    finally:
        service.uninstall()


@pytest.fixture
def clock(service):
    return service.clock


def make_copy_role(account, trusted="backup.amazonaws.com", endpoint_url=None):
    """ROLE's name in `account`, trusting `trusted` (docs/AWS-BEHAVIOUR.md §19 item 62)."""
    creds = boto3.client(
        "sts", region_name=EAST, endpoint_url=endpoint_url, aws_access_key_id="testing", aws_secret_access_key="testing"
    ).assume_role(RoleArn=f"arn:aws:iam::{account}:role/tests", RoleSessionName="tests")["Credentials"]
    iam = boto3.client(
        "iam",
        region_name=EAST,
        endpoint_url=endpoint_url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    iam.create_role(
        RoleName="AWSBackupDefaultServiceRole",
        Path="/service-role/",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": trusted}, "Action": "sts:AssumeRole"}],
            }
        ),
    )
    iam.put_role_policy(
        RoleName="AWSBackupDefaultServiceRole",
        PolicyName="copies",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "backup:CopyIntoBackupVault",
                        "Resource": "arn:aws:backup:*:*:backup-vault:*",
                    }
                ],
            }
        ),
    )


@pytest.fixture
def client(clock):
    cache = {}

    def make(account=MAIN, region=EAST):
        if (account, region) not in cache:
            creds = boto3.client("sts", region_name=EAST).assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/tests", RoleSessionName="tests"
            )["Credentials"]
            cache[account, region] = boto3.client(
                "backup",
                region_name=region,
                config=NO_RETRIES,
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )
        return cache[account, region]

    return make


@pytest.fixture
def org(client):
    """Main account's vault in us-east-1; backup account's vaults in both regions, admitting the org."""
    client(MAIN, EAST).create_backup_vault(BackupVaultName=VAULT)
    for region in (EAST, WEST):
        client(BACKUP, region).create_backup_vault(BackupVaultName=VAULT)
        client(BACKUP, region).put_backup_vault_access_policy(BackupVaultName=VAULT, Policy=org_policy())
    return client


def backed_up(client, clock, resource=EFS, lifecycle=None, account=MAIN, region=EAST):
    kwargs = {"Lifecycle": lifecycle} if lifecycle else {}
    arn = client(account, region).start_backup_job(
        BackupVaultName=VAULT, ResourceArn=resource, IamRoleArn=ROLE, **kwargs
    )["RecoveryPointArn"]
    clock.advance(3600)
    return arn


def start_copy(client, rp_arn, destination=None, **extra):
    return client(MAIN, EAST).start_copy_job(
        RecoveryPointArn=rp_arn,
        SourceBackupVaultName=VAULT,
        IamRoleArn=ROLE,
        DestinationBackupVaultArn=destination or vault_arn(BACKUP, EAST),
        **extra,
    )["CopyJobId"]


def copy_job(client, job_id):
    return client(MAIN, EAST).describe_copy_job(CopyJobId=job_id)["CopyJob"]


def events(service, detail_type, state=None):
    return [
        e
        for e in service.recorded_events
        if e["detail-type"] == detail_type and (state is None or e["detail"]["state"] == state)
    ]


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


# ---------------------------------------------------------------------------------------------
# Backup jobs


def test_backup_job_progresses_with_the_clock_and_emits_documented_events(org, clock, service):
    c = org(MAIN, EAST)
    started = c.start_backup_job(
        BackupVaultName=VAULT, ResourceArn=EFS, IamRoleArn=ROLE, Lifecycle={"DeleteAfterDays": 35}
    )
    job_id, rp_arn = started["BackupJobId"], started["RecoveryPointArn"]
    assert rp_arn.startswith(f"arn:aws:backup:{EAST}:{MAIN}:recovery-point:")
    assert c.describe_backup_job(BackupJobId=job_id)["State"] == "CREATED"
    clock.advance(service.settings.job_start_seconds)
    assert c.describe_backup_job(BackupJobId=job_id)["State"] == "RUNNING"
    with pytest.raises(ClientError) as excinfo:
        c.describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=rp_arn)
    assert error_code(excinfo) == "ResourceNotFoundException"
    clock.advance(service.settings.backup_run_seconds)
    job = c.describe_backup_job(BackupJobId=job_id)
    assert job["State"] == "COMPLETED" and job["RecoveryPointArn"] == rp_arn
    assert "CreatedBy" not in job  # on demand
    rp = c.describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=rp_arn)
    assert rp["Status"] == "COMPLETED" and rp["StorageClass"] == "WARM" and rp["ResourceType"] == "EFS"
    assert rp["CreationDate"] == job["CreationDate"]
    assert rp["CalculatedLifecycle"]["DeleteAt"] == rp["CreationDate"] + datetime.timedelta(days=35)
    assert "SourceBackupVaultArn" not in rp  # not a copy (docs/AWS-BEHAVIOUR.md §3.3)

    emitted = events(service, "Backup Job State Change")
    assert [e["detail"]["state"] for e in emitted] == ["CREATED", "RUNNING", "COMPLETED"]
    for event in emitted:
        state = event["detail"]["state"]
        assert set(event) == ENVELOPE_KEYS
        assert set(event["detail"]) == BACKUP_DETAIL_KEYS[state], state
        assert (event["version"], event["source"], event["account"], event["region"]) == ("0", "aws.backup", MAIN, EAST)
        assert len(event["time"]) == 20 and event["time"].endswith("Z")  # to the second
        # docs/AWS-BEHAVIOUR.md §1.3: resources only when COMPLETED, and no recoveryPointArn in detail
        assert event["resources"] == ([rp_arn] if state == "COMPLETED" else [])
        assert "recoveryPointArn" not in event["detail"]
    running, completed = emitted[1]["detail"], emitted[2]["detail"]
    assert isinstance(completed["backupSizeInBytes"], str) and isinstance(completed["bytesTransferred"], str)
    assert isinstance(completed["percentDone"], int) and completed["percentDone"] == 100
    assert completed["creationDate"].endswith("Z") and len(completed["creationDate"]) == 24  # milliseconds
    assert running["expectedCompletionDate"].endswith(("AM", "PM"))


def test_scheduled_backup_carries_created_by_plan(org, clock, service):
    plan = org(MAIN, EAST).create_backup_plan(
        BackupPlan={"BackupPlanName": "daily", "Rules": [{"RuleName": "r1", "TargetBackupVaultName": VAULT}]}
    )
    job_id = service.start_scheduled_backup(
        MAIN, EAST, VAULT, EFS, ROLE, {"DeleteAfterDays": 35}, backup_plan_id=plan["BackupPlanId"]
    )
    clock.advance(3600)
    job = org(MAIN, EAST).describe_backup_job(BackupJobId=job_id)
    assert job["CreatedBy"]["BackupPlanArn"] == plan["BackupPlanArn"]
    for event in events(service, "Backup Job State Change")[1:]:
        assert event["detail"]["createdBy"]["backupPlanArn"] == plan["BackupPlanArn"]
        assert set(event["detail"]["createdBy"]) == {
            "backupPlanId",
            "backupPlanArn",
            "backupPlanVersion",
            "backupPlanRuleId",
        }
    assert "createdBy" not in events(service, "Backup Job State Change", "CREATED")[0]["detail"]


def test_backup_into_a_missing_vault_fails_asynchronously(client, clock, service):
    job_id = client().start_backup_job(BackupVaultName="nope", ResourceArn=EFS, IamRoleArn=ROLE)["BackupJobId"]
    clock.advance(3600)
    job = client().describe_backup_job(BackupJobId=job_id)
    assert job["State"] == "FAILED" and "does not exist" in job["StatusMessage"]
    failed = events(service, "Backup Job State Change", "FAILED")[0]
    assert set(failed["detail"]) == BACKUP_DETAIL_KEYS["FAILED"] and failed["resources"] == []
    assert failed["detail"]["statusMessage"].startswith('"')  # embedded quotes, as documented


def test_recovery_point_arns_per_resource_type_and_partition(client, clock):
    gov = "us-gov-west-1"
    client(MAIN, gov).create_backup_vault(BackupVaultName=VAULT)
    client(MAIN, EAST).create_backup_vault(BackupVaultName=VAULT)
    efs = backed_up(client, clock, f"arn:aws-us-gov:elasticfilesystem:{gov}:{MAIN}:file-system/fs-1", region=gov)
    assert efs.startswith(f"arn:aws-us-gov:backup:{gov}:{MAIN}:recovery-point:")
    ebs = backed_up(client, clock, EBS)
    assert ebs.startswith(f"arn:aws:ec2:{EAST}::snapshot/snap-")  # empty account field
    rds = backed_up(client, clock, RDS)
    assert rds.startswith(f"arn:aws:rds:{EAST}:{MAIN}:snapshot:awsbackup:job-")
    assert client().describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=ebs)["ResourceType"] == "EBS"


def test_one_job_per_resource_at_a_time(org, clock, service):
    c = org(MAIN, EAST)
    first = c.start_backup_job(BackupVaultName=VAULT, ResourceArn=EFS, IamRoleArn=ROLE)["BackupJobId"]
    second = c.start_backup_job(BackupVaultName=VAULT, ResourceArn=EFS, IamRoleArn=ROLE)["BackupJobId"]
    other = c.start_backup_job(BackupVaultName=VAULT, ResourceArn=EBS, IamRoleArn=ROLE)["BackupJobId"]
    clock.advance(service.settings.job_start_seconds + 1)
    states = {j: c.describe_backup_job(BackupJobId=j)["State"] for j in (first, second, other)}
    assert states == {first: "RUNNING", second: "CREATED", other: "RUNNING"}
    clock.advance(service.settings.backup_run_seconds)
    assert c.describe_backup_job(BackupJobId=first)["State"] == "COMPLETED"
    assert c.describe_backup_job(BackupJobId=second)["State"] == "RUNNING"
    # a copy of the same resource waits while a backup of it runs (docs/AWS-BEHAVIOUR.md §3.1)
    rp_arn = c.describe_backup_job(BackupJobId=first)["RecoveryPointArn"]
    copy_id = start_copy(org, rp_arn)
    clock.advance(service.settings.job_start_seconds + 1)
    assert copy_job(org, copy_id)["State"] == "CREATED"
    clock.advance(3600)
    assert c.describe_backup_job(BackupJobId=second)["State"] == "COMPLETED"
    assert copy_job(org, copy_id)["State"] == "COMPLETED"


def test_copy_concurrency_quota_keeps_extra_jobs_created(org, clock, service):
    service.configure(copy_concurrency_per_region=1, copy_concurrency_extra_per_vault=1)
    efs_rp = backed_up(org, clock, EFS)
    ebs_rp = backed_up(org, clock, EBS)
    service.set_resource_encryption(EBS, f"arn:aws:kms:{EAST}:{MAIN}:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    first = start_copy(org, efs_rp)
    second = start_copy(org, ebs_rp)
    clock.advance(service.settings.job_start_seconds + 1)
    assert [copy_job(org, j)["State"] for j in (first, second)] == ["RUNNING", "CREATED"]
    clock.advance(service.settings.copy_run_seconds)
    assert copy_job(org, first)["State"] == "COMPLETED"
    assert copy_job(org, second)["State"] == "RUNNING"


def test_copy_concurrency_quota_counts_an_accounts_copies_from_every_source_region(org, clock, service):
    """docs/AWS-BEHAVIOUR.md §5.1: the quota is per account in the destination region, whatever the source region."""
    service.configure(copy_concurrency_per_region=1, copy_concurrency_extra_per_vault=1)
    org(MAIN, WEST).create_backup_vault(BackupVaultName=VAULT)
    east_rp = backed_up(org, clock, EFS)
    west_rp = backed_up(
        org, clock, f"arn:aws:elasticfilesystem:{WEST}:{MAIN}:file-system/fs-0fedcba987654321", region=WEST
    )
    first = start_copy(org, east_rp, vault_arn(BACKUP, WEST))
    second = org(MAIN, WEST).start_copy_job(
        RecoveryPointArn=west_rp,
        SourceBackupVaultName=VAULT,
        IamRoleArn=ROLE,
        DestinationBackupVaultArn=vault_arn(BACKUP, WEST),
    )["CopyJobId"]
    clock.advance(service.settings.job_start_seconds + 1)
    assert copy_job(org, first)["State"] == "RUNNING"
    assert org(MAIN, WEST).describe_copy_job(CopyJobId=second)["CopyJob"]["State"] == "CREATED"


# ---------------------------------------------------------------------------------------------
# Copy jobs


def test_cross_account_copy_keeps_source_dates_and_lifecycle_and_emits_in_source(org, clock, service):
    rp_arn = backed_up(org, clock, EFS, {"DeleteAfterDays": 35})
    source = org(MAIN, EAST).describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=rp_arn)
    service.recorded_events.clear()
    job_id = start_copy(org, rp_arn)
    clock.advance(3600)
    job = copy_job(org, job_id)
    assert job["State"] == "COMPLETED" and job["AccountId"] == MAIN
    dest_arn = job["DestinationRecoveryPointArn"]
    assert dest_arn.startswith(f"arn:aws:backup:{EAST}:{BACKUP}:recovery-point:")
    copy = org(BACKUP, EAST).describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=dest_arn)
    assert copy["CreationDate"] == source["CreationDate"]  # docs/AWS-BEHAVIOUR.md §3.1
    assert copy["Lifecycle"] == {"DeleteAfterDays": 35}
    assert copy["CalculatedLifecycle"]["DeleteAt"] == source["CalculatedLifecycle"]["DeleteAt"]
    assert copy["SourceBackupVaultArn"] == vault_arn(MAIN, EAST)

    emitted = events(service, "Copy Job State Change")
    assert [e["detail"]["state"] for e in emitted] == ["CREATED", "RUNNING", "COMPLETED"]
    for event in emitted:  # docs/AWS-BEHAVIOUR.md §1.4/§1.6
        state = event["detail"]["state"]
        assert set(event["detail"]) == COPY_DETAIL_KEYS[state], state
        assert (event["account"], event["region"]) == (MAIN, EAST)
        assert event["resources"] == [rp_arn]
    assert "copyJobId" not in emitted[0]["detail"]
    assert emitted[1]["detail"]["destinationRecoveryPointArn"] == {}
    assert emitted[2]["detail"]["destinationRecoveryPointArn"] == dest_arn
    assert isinstance(emitted[2]["detail"]["backupSizeInBytes"], int)
    assert not [e for e in service.recorded_events if e["account"] == BACKUP]


def test_copy_lifecycle_override_and_minus_one_keeps_source_expiry(org, clock):
    rp_arn = backed_up(org, clock, EFS, {"DeleteAfterDays": 35})
    override = start_copy(org, rp_arn, Lifecycle={"DeleteAfterDays": 100})
    clock.advance(3600)
    keep = start_copy(org, rp_arn, destination=vault_arn(BACKUP, WEST), Lifecycle={"DeleteAfterDays": -1})
    clock.advance(3600)
    first = org(BACKUP, EAST).describe_recovery_point(
        BackupVaultName=VAULT, RecoveryPointArn=copy_job(org, override)["DestinationRecoveryPointArn"]
    )
    assert first["Lifecycle"]["DeleteAfterDays"] == 100
    second = org(BACKUP, WEST).describe_recovery_point(
        BackupVaultName=VAULT, RecoveryPointArn=copy_job(org, keep)["DestinationRecoveryPointArn"]
    )
    assert second["Lifecycle"]["DeleteAfterDays"] == 35
    # an override that leaves DeleteAfterDays out keeps the source's (docs/AWS-BEHAVIOUR.md §3.1, UNCONFIRMED detail)
    org(BACKUP, WEST).create_backup_vault(BackupVaultName="Partial")
    org(BACKUP, WEST).put_backup_vault_access_policy(BackupVaultName="Partial", Policy=org_policy())
    partial = start_copy(
        org,
        rp_arn,
        destination=vault_arn(BACKUP, WEST, "Partial"),
        Lifecycle={"OptInToArchiveForSupportedResources": True},
    )
    clock.advance(3600)
    third = org(BACKUP, WEST).describe_recovery_point(
        BackupVaultName="Partial", RecoveryPointArn=copy_job(org, partial)["DestinationRecoveryPointArn"]
    )
    assert third["Lifecycle"] == {"DeleteAfterDays": 35, "OptInToArchiveForSupportedResources": True}
    assert third["CalculatedLifecycle"]["DeleteAt"] == first["CreationDate"] + datetime.timedelta(days=35)


def test_start_copy_job_idempotency_token(org, clock, service):
    rp_arn = backed_up(org, clock)
    first = start_copy(org, rp_arn, IdempotencyToken="token-1")
    # A replay succeeds without acting, and (strictly: the output has no required member) its
    # answer carries no CopyJobId (docs/AWS-BEHAVIOUR.md §3.1, §19).
    replay = org(MAIN, EAST).start_copy_job(
        SourceBackupVaultName=VAULT,
        RecoveryPointArn=rp_arn,
        DestinationBackupVaultArn=vault_arn(BACKUP, EAST),
        IamRoleArn=ROLE,
        IdempotencyToken="token-1",
    )
    assert "CopyJobId" not in replay and "CreationDate" in replay
    other = start_copy(org, rp_arn, IdempotencyToken="token-2")
    assert first != other
    listed = org(MAIN, EAST).list_copy_jobs()["CopyJobs"]
    assert sorted(j["CopyJobId"] for j in listed) == sorted({first, other})
    assert len(events(service, "Copy Job State Change", "CREATED")) == 2
    with pytest.raises(ClientError) as excinfo:
        start_copy(org, rp_arn, destination=vault_arn(BACKUP, WEST), IdempotencyToken="token-1")
    assert error_code(excinfo) == "InvalidRequestException"


def test_start_copy_job_validation(org, clock, service):
    rp_arn = backed_up(org, clock)
    c = org(MAIN, EAST)
    with pytest.raises(ClientError) as excinfo:
        c.start_copy_job(
            RecoveryPointArn=rp_arn,
            SourceBackupVaultName="missing",
            IamRoleArn=ROLE,
            DestinationBackupVaultArn=vault_arn(BACKUP, EAST),
        )
    assert error_code(excinfo) == "ResourceNotFoundException"
    c.create_backup_vault(BackupVaultName="other")
    with pytest.raises(ClientError) as excinfo:
        c.start_copy_job(
            RecoveryPointArn=rp_arn,
            SourceBackupVaultName="other",
            IamRoleArn=ROLE,
            DestinationBackupVaultArn=vault_arn(BACKUP, EAST),
        )
    assert error_code(excinfo) == "ResourceNotFoundException"
    # the source vault is resolved in the caller's account: the backup account has no such point
    with pytest.raises(ClientError) as excinfo:
        org(BACKUP, EAST).start_copy_job(
            RecoveryPointArn=rp_arn,
            SourceBackupVaultName=VAULT,
            IamRoleArn=ROLE,
            DestinationBackupVaultArn=vault_arn(BACKUP, WEST),
        )
    assert error_code(excinfo) == "ResourceNotFoundException"
    continuous = service.put_recovery_point(MAIN, EAST, VAULT, "arn:aws:s3:::bucket", continuous=True)
    with pytest.raises(ClientError) as excinfo:
        start_copy(org, continuous)
    assert error_code(excinfo) == "InvalidParameterValueException"
    assert not org(MAIN, EAST).list_copy_jobs()["CopyJobs"]


DENY_OTHER_TARGETS = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "backup:CopyFromBackupVault",
                "Resource": "*",
                "Condition": {"ForAllValues:ArnNotLike": {"backup:CopyTargets": [vault_arn(BACKUP, WEST)]}},
            }
        ],
    }
)


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing destination vault", "does not exist"),
        ("no destination policy", sb.MSG_ACCESS_DENIED),
        ("policy admits another organisation", sb.MSG_ACCESS_DENIED),
        ("accounts not in the same organisation", sb.MSG_NOT_SAME_ORG),
        ("source in cold storage", "cold storage"),
        ("EBS with an AWS managed key across accounts", sb.MSG_KEY_NOT_ACCESSIBLE),
        ("RDS with an AWS managed key across accounts", sb.MSG_RDS_KEY_NOT_ACCESSIBLE),
        ("Default vault across accounts", "Default backup vault"),
        ("source vault denies this destination", sb.MSG_ACCESS_DENIED),
        ("injected failure", "Given key ID is not accessible"),
    ],
)
def test_copy_failures_are_asynchronous_failed_jobs(org, clock, case, expected, service):
    resource, destination = EFS, vault_arn(BACKUP, EAST)
    if case == "missing destination vault":
        destination = vault_arn(BACKUP, EAST, "nope")
    elif case == "no destination policy":
        org(BACKUP, EAST).delete_backup_vault_access_policy(BackupVaultName=VAULT)
    elif case == "policy admits another organisation":
        org(BACKUP, EAST).put_backup_vault_access_policy(BackupVaultName=VAULT, Policy=org_policy("o-other0000"))
    elif case == "accounts not in the same organisation":
        service.set_organization("o-other0000", [BACKUP])
    elif case.startswith(("EBS", "RDS")):
        resource = EBS if case.startswith("EBS") else RDS
        service.set_resource_encryption(resource, f"arn:aws:kms:{EAST}:{MAIN}:alias/aws/{resource.split(':')[2]}")
    elif case == "Default vault across accounts":
        org(BACKUP, EAST).create_backup_vault(BackupVaultName="Default")
        org(BACKUP, EAST).put_backup_vault_access_policy(BackupVaultName="Default", Policy=org_policy())
        destination = vault_arn(BACKUP, EAST, "Default")
    elif case == "source vault denies this destination":
        org(MAIN, EAST).put_backup_vault_access_policy(BackupVaultName=VAULT, Policy=DENY_OTHER_TARGETS)
    elif case == "injected failure":
        service.fail_next_copies(1, "Given key ID is not accessible")
    if case == "source in cold storage":
        rp_arn = service.put_recovery_point(
            MAIN,
            EAST,
            VAULT,
            EFS,
            storage_class="COLD",
            lifecycle={"MoveToColdStorageAfterDays": 1, "DeleteAfterDays": 91},
        )
    else:
        rp_arn = backed_up(org, clock, resource)
    job_id = start_copy(org, rp_arn, destination=destination)  # accepted: failures are asynchronous
    clock.advance(3600)
    job = copy_job(org, job_id)
    assert job["State"] == "FAILED"
    assert expected in job["StatusMessage"]
    assert "DestinationRecoveryPointArn" not in job
    failed = events(service, "Copy Job State Change", "FAILED")[-1]
    assert set(failed["detail"]) == COPY_DETAIL_KEYS["FAILED"]
    assert failed["detail"]["destinationRecoveryPointArn"] == {} and failed["account"] == MAIN
    assert not service.recovery_points(BACKUP)


@pytest.mark.parametrize("trusted", [None, "lambda.amazonaws.com"])
def test_a_role_aws_backup_cannot_assume_is_refused_when_the_job_is_asked_for(org, clock, trusted):
    """docs/AWS-BEHAVIOUR.md §19 item 62: a missing role, or one not trusting backup.amazonaws.com."""
    from botocore.exceptions import ClientError

    rp_arn = backed_up(org, clock)
    role = f"arn:aws:iam::{MAIN}:role/Other"
    if trusted:
        creds = boto3.client("sts", region_name=EAST).assume_role(
            RoleArn=f"arn:aws:iam::{MAIN}:role/tests", RoleSessionName="tests"
        )["Credentials"]
        boto3.client(
            "iam",
            region_name=EAST,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        ).create_role(
            RoleName="Other",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": trusted}, "Action": "sts:AssumeRole"}],
                }
            ),
        )
    for call in (
        lambda: org(MAIN, EAST).start_copy_job(
            RecoveryPointArn=rp_arn,
            SourceBackupVaultName=VAULT,
            IamRoleArn=role,
            DestinationBackupVaultArn=vault_arn(BACKUP, EAST),
        ),
        lambda: org(MAIN, EAST).start_backup_job(BackupVaultName=VAULT, ResourceArn=EFS, IamRoleArn=role),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert excinfo.value.response["Error"]["Code"] == "InvalidParameterValueException"
        assert excinfo.value.response["Error"]["Message"] == f"IAM Role {role} cannot be assumed by AWS Backup"
    assert org(MAIN, EAST).list_copy_jobs()["CopyJobs"] == []


def test_copies_that_policies_admit(org, clock, service):
    rp_arn = backed_up(org, clock)
    # the source policy's allowed target is fine; a destination policy naming the copy role admits
    # nothing (the vault sees the source account: docs/AWS-BEHAVIOUR.md §19 item 61), one naming
    # the source account admits the copy
    org(MAIN, EAST).put_backup_vault_access_policy(BackupVaultName=VAULT, Policy=DENY_OTHER_TARGETS)

    def admit(principal):
        org(BACKUP, WEST).put_backup_vault_access_policy(
            BackupVaultName=VAULT,
            Policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": [principal]},
                            "Action": "backup:CopyIntoBackupVault",
                            "Resource": "*",
                        }
                    ],
                }
            ),
        )

    admit(ROLE)
    refused = start_copy(org, rp_arn, destination=vault_arn(BACKUP, WEST))
    clock.advance(3600)
    assert (copy_job(org, refused)["State"], copy_job(org, refused)["StatusMessage"]) == (
        "FAILED",
        sb.MSG_ACCESS_DENIED,
    )
    admit(f"arn:aws:iam::{MAIN}:root")
    allowed = start_copy(org, rp_arn, destination=vault_arn(BACKUP, WEST))
    clock.advance(3600)
    assert copy_job(org, allowed)["State"] == "COMPLETED"
    # same account, other region: no destination policy needed; a CMK-encrypted EBS crosses accounts
    org(MAIN, WEST).create_backup_vault(BackupVaultName=VAULT)
    org(MAIN, EAST).delete_backup_vault_access_policy(BackupVaultName=VAULT)
    same_account = start_copy(org, rp_arn, destination=vault_arn(MAIN, WEST))
    service.set_resource_encryption(EBS, f"arn:aws:kms:{EAST}:{MAIN}:key/mrk-1234")
    ebs_rp = backed_up(org, clock, EBS)
    ebs_copy = start_copy(org, ebs_rp)
    clock.advance(3600)
    assert copy_job(org, same_account)["State"] == "COMPLETED"
    ebs_job = copy_job(org, ebs_copy)
    assert ebs_job["State"] == "COMPLETED"
    assert ebs_job["DestinationRecoveryPointArn"].startswith(f"arn:aws:ec2:{EAST}::snapshot/snap-")


def test_list_copy_jobs_filters_and_pagination(org, clock, service):
    rp_arn = backed_up(org, clock)
    service.set_resource_encryption(EBS, f"arn:aws:kms:{EAST}:{MAIN}:alias/aws/ebs")
    ebs_rp = backed_up(org, clock, EBS)
    t0 = clock.now()
    east = start_copy(org, rp_arn)
    clock.advance(3600)
    west = start_copy(org, rp_arn, destination=vault_arn(BACKUP, WEST))
    failing = start_copy(org, ebs_rp)
    clock.advance(3600)
    c = org(MAIN, EAST)

    def ids(**filters):
        return sorted(j["CopyJobId"] for j in c.list_copy_jobs(**filters)["CopyJobs"])

    assert ids(ByState="FAILED") == [failing]
    assert ids(ByState="COMPLETED") == sorted([east, west])
    assert ids(ByDestinationVaultArn=vault_arn(BACKUP, WEST)) == [west]
    assert ids(BySourceRecoveryPointArn=ebs_rp) == [failing]
    assert ids(ByCreatedAfter=t0 + datetime.timedelta(minutes=30)) == sorted([west, failing])
    assert ids(ByCreatedBefore=t0 + datetime.timedelta(minutes=30)) == [east]
    assert ids(ByAccountId=MAIN) == sorted([east, west, failing])
    assert ids(ByAccountId=BACKUP) == []
    first = c.list_copy_jobs(MaxResults=2)
    assert len(first["CopyJobs"]) == 2 and first["NextToken"]
    rest = c.list_copy_jobs(MaxResults=2, NextToken=first["NextToken"])
    assert len(rest["CopyJobs"]) == 1 and "NextToken" not in rest
    paged = [j["CopyJobId"] for j in first["CopyJobs"] + rest["CopyJobs"]]
    assert sorted(paged) == sorted([east, west, failing])
    paginator = c.get_paginator("list_copy_jobs")
    assert sum(len(p["CopyJobs"]) for p in paginator.paginate(PaginationConfig={"PageSize": 1})) == 3


def test_list_recovery_points_by_backup_vault_paginates(org, clock):
    arns = {backed_up(org, clock, f"{EFS}{i}") for i in range(5)}
    c = org(MAIN, EAST)
    pages = list(
        c.get_paginator("list_recovery_points_by_backup_vault").paginate(
            BackupVaultName=VAULT, PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(p["RecoveryPoints"]) for p in pages] == [2, 2, 1]
    assert {rp["RecoveryPointArn"] for p in pages for rp in p["RecoveryPoints"]} == arns
    only = c.list_recovery_points_by_backup_vault(BackupVaultName=VAULT, ByResourceArn=f"{EFS}3")
    assert len(only["RecoveryPoints"]) == 1
    assert c.describe_backup_vault(BackupVaultName=VAULT)["NumberOfRecoveryPoints"] == 5
    with pytest.raises(ClientError) as excinfo:
        c.list_recovery_points_by_backup_vault(BackupVaultName="missing")
    assert error_code(excinfo) == "ResourceNotFoundException"


# ---------------------------------------------------------------------------------------------
# Lifecycles


def test_update_lifecycle_returns_calculated_lifecycle(org, clock):
    rp_arn = backed_up(org, clock, EFS, {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 365})
    c = org(MAIN, EAST)
    created = c.describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=rp_arn)["CreationDate"]
    result = c.update_recovery_point_lifecycle(
        BackupVaultName=VAULT, RecoveryPointArn=rp_arn, Lifecycle={"DeleteAfterDays": 8}
    )
    assert result["Lifecycle"] == {"DeleteAfterDays": 8}  # missing MoveToColdStorageAfterDays clears it
    assert result["CalculatedLifecycle"] == {"DeleteAt": created + datetime.timedelta(days=8)}
    assert result["BackupVaultArn"] == vault_arn(MAIN, EAST) and result["RecoveryPointArn"] == rp_arn
    described = c.describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=rp_arn)
    assert described["Lifecycle"] == {"DeleteAfterDays": 8}


@pytest.mark.parametrize(
    "lifecycle",
    [
        {"DeleteAfterDays": 0},
        {"DeleteAfterDays": 36501},
        {"DeleteAfterDays": -5},
        {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 119},
    ],
)
def test_update_lifecycle_rejects_invalid_values(org, clock, lifecycle):
    rp_arn = backed_up(org, clock)
    with pytest.raises(ClientError) as excinfo:
        org(MAIN, EAST).update_recovery_point_lifecycle(
            BackupVaultName=VAULT, RecoveryPointArn=rp_arn, Lifecycle=lifecycle
        )
    assert error_code(excinfo) == "InvalidParameterValueException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    "lifecycle",
    [
        {"DeleteAfterDays": 1},
        {"DeleteAfterDays": 36500},
        {"DeleteAfterDays": -1},
        {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 120},
    ],
)
def test_update_lifecycle_accepts_boundaries(org, clock, lifecycle):
    rp_arn = backed_up(org, clock)
    c = org(MAIN, EAST)
    answer = c.update_recovery_point_lifecycle(BackupVaultName=VAULT, RecoveryPointArn=rp_arn, Lifecycle=lifecycle)
    described = c.describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=rp_arn)
    created = described["CreationDate"]
    kept = {k: v for k, v in lifecycle.items() if v != -1}  # -1 removes the setting (docs/AWS-BEHAVIOUR.md §3.1)
    expected_at = {"MoveToColdStorageAt": "MoveToColdStorageAfterDays", "DeleteAt": "DeleteAfterDays"}
    calculated = {
        name: created + datetime.timedelta(days=kept[days]) for name, days in expected_at.items() if days in kept
    }
    for reply in (answer, described):
        assert reply["Lifecycle"] == kept
        assert reply.get("CalculatedLifecycle", {}) == calculated
    if lifecycle == {"DeleteAfterDays": -1}:
        assert "DeleteAt" not in described.get("CalculatedLifecycle", {})
        clock.advance(200 * 86400)  # kept indefinitely
        c.describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=rp_arn)


def test_update_lifecycle_rules_for_cold_continuous_lock_and_missing(org, clock, service):
    c = org(MAIN, EAST)
    cold = service.put_recovery_point(
        MAIN,
        EAST,
        VAULT,
        EFS,
        storage_class="COLD",
        lifecycle={"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 365},
    )
    with pytest.raises(ClientError) as excinfo:  # cold setting fixed once cold (docs/AWS-BEHAVIOUR.md §3.2)
        c.update_recovery_point_lifecycle(
            BackupVaultName=VAULT, RecoveryPointArn=cold, Lifecycle={"DeleteAfterDays": 200}
        )
    assert error_code(excinfo) == "InvalidParameterValueException"
    c.update_recovery_point_lifecycle(
        BackupVaultName=VAULT,
        RecoveryPointArn=cold,
        Lifecycle={"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 120},
    )
    continuous = service.put_recovery_point(
        MAIN, EAST, VAULT, "arn:aws:s3:::bucket", continuous=True, lifecycle={"DeleteAfterDays": 35}
    )
    with pytest.raises(ClientError) as excinfo:
        c.update_recovery_point_lifecycle(
            BackupVaultName=VAULT, RecoveryPointArn=continuous, Lifecycle={"DeleteAfterDays": 8}
        )
    assert error_code(excinfo) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as excinfo:
        c.update_recovery_point_lifecycle(
            BackupVaultName=VAULT, RecoveryPointArn=cold + "x", Lifecycle={"DeleteAfterDays": 8}
        )
    assert error_code(excinfo) == "ResourceNotFoundException"
    c.put_backup_vault_lock_configuration(BackupVaultName=VAULT, MinRetentionDays=14)
    vault = c.describe_backup_vault(BackupVaultName=VAULT)
    assert vault["Locked"] is True and vault["MinRetentionDays"] == 14
    warm = backed_up(org, clock, EBS, {"DeleteAfterDays": 35})
    for days in (8, 14, 20):  # docs/AWS-BEHAVIOUR.md §17.1, §19 item 12: no update in a locked vault
        with pytest.raises(ClientError) as excinfo:
            c.update_recovery_point_lifecycle(
                BackupVaultName=VAULT, RecoveryPointArn=warm, Lifecycle={"DeleteAfterDays": days}
            )
        assert error_code(excinfo) == "InvalidRequestException" and "Vault Lock" in str(excinfo.value)


def test_expired_recovery_points_are_deleted_within_eight_hours(org, clock, service):
    rp_arn = backed_up(org, clock, EFS, {"DeleteAfterDays": 35})
    c = org(MAIN, EAST)
    c.update_recovery_point_lifecycle(BackupVaultName=VAULT, RecoveryPointArn=rp_arn, Lifecycle={"DeleteAfterDays": 8})
    delete_at = c.describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=rp_arn)["CalculatedLifecycle"][
        "DeleteAt"
    ]
    clock.run_until(delete_at - datetime.timedelta(seconds=1))
    c.describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=rp_arn)  # still there
    clock.run_until(delete_at + datetime.timedelta(hours=8))
    with pytest.raises(ClientError) as excinfo:
        c.describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=rp_arn)
    assert error_code(excinfo) == "ResourceNotFoundException"
    deleted = service.find_recovery_point(rp_arn)
    assert deleted.status == "DELETED" and delete_at <= deleted.deleted_at <= delete_at + datetime.timedelta(hours=8)
    # the old 35-day expiry was replanned, not left to fire twice
    assert service.recovery_points(MAIN, EAST, VAULT) == []


def test_lengthening_after_shortening_replans_the_expiry(org, clock, service):
    rp_arn = backed_up(org, clock, EFS, {"DeleteAfterDays": 35})
    c = org(MAIN, EAST)
    created = c.describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=rp_arn)["CreationDate"]
    c.update_recovery_point_lifecycle(BackupVaultName=VAULT, RecoveryPointArn=rp_arn, Lifecycle={"DeleteAfterDays": 8})
    c.update_recovery_point_lifecycle(BackupVaultName=VAULT, RecoveryPointArn=rp_arn, Lifecycle={"DeleteAfterDays": 40})
    # past the 8-day expiry and past the original 35-day one, each with its 8-hour window
    for days in (8, 35):
        clock.run_until(created + datetime.timedelta(days=days, hours=9))
        assert c.describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=rp_arn)["Status"] != "DELETED"
        assert service.find_recovery_point(rp_arn).deleted_at is None
    clock.run_until(created + datetime.timedelta(days=40, hours=8))
    assert service.find_recovery_point(rp_arn).status == "DELETED"


def test_expiry_delay_is_random_but_repeatable():
    def deletion_delays(seed):
        clock = Clock()
        service = sb.BackupService(clock=clock, seed=seed).install()
        try:
            with mock_aws():
                boto3.client("backup", region_name=EAST).create_backup_vault(BackupVaultName=VAULT)
                old = clock.now() - datetime.timedelta(days=40)
                arns = [
                    service.put_recovery_point(
                        "123456789012", EAST, VAULT, f"{EFS}{i}", creation_date=old, lifecycle={"DeleteAfterDays": 35}
                    )
                    for i in range(4)
                ]
                clock.advance(9 * 3600)
                return [(service.find_recovery_point(a).deleted_at - old - datetime.timedelta(days=40)) for a in arns]
        finally:
            service.uninstall()

    first, again = deletion_delays(7), deletion_delays(7)
    assert first == again and len(set(first)) == 4
    assert all(datetime.timedelta(0) <= d <= datetime.timedelta(hours=8) for d in first)


def test_cold_transition_only_for_cold_capable_types(org, clock):
    lifecycle = {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 200}
    efs = backed_up(org, clock, EFS, lifecycle)
    ebs = backed_up(org, clock, EBS, lifecycle)
    ebs_archive = backed_up(org, clock, EBS + "2", {**lifecycle, "OptInToArchiveForSupportedResources": True})
    c = org(MAIN, EAST)

    def storage(arn):
        return c.describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=arn)["StorageClass"]

    cold_at = c.describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=efs)["CalculatedLifecycle"][
        "MoveToColdStorageAt"
    ]
    clock.run_until(cold_at - datetime.timedelta(seconds=1))
    assert storage(efs) == "WARM"
    clock.advance(86400)
    assert (storage(efs), storage(ebs), storage(ebs_archive)) == ("COLD", "WARM", "COLD")


# ---------------------------------------------------------------------------------------------
# Vault policies, throttling, faults, reset, server


def test_vault_access_policy_roundtrip(org):
    c = org(BACKUP, EAST)
    got = c.get_backup_vault_access_policy(BackupVaultName=VAULT)
    assert json.loads(got["Policy"]) == json.loads(org_policy()) and got["BackupVaultArn"] == vault_arn(BACKUP, EAST)
    c.delete_backup_vault_access_policy(BackupVaultName=VAULT)
    with pytest.raises(ClientError) as excinfo:
        c.get_backup_vault_access_policy(BackupVaultName=VAULT)
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        c.put_backup_vault_access_policy(BackupVaultName="missing", Policy=org_policy())
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_a_vault_policy_deny_refuses_describe_and_update_of_its_recovery_points(org, clock, service):
    rp_arn = backed_up(org, clock, lifecycle={"DeleteAfterDays": 35})
    c = org(MAIN, EAST)

    def refused(call) -> bool:
        try:
            call()
        except ClientError as error:
            assert error.response["Error"]["Code"] == "AccessDeniedException"
            return True
        return False

    describe = lambda: c.describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=rp_arn)  # noqa: E731
    update = lambda: c.update_recovery_point_lifecycle(  # noqa: E731
        BackupVaultName=VAULT, RecoveryPointArn=rp_arn, Lifecycle={"DeleteAfterDays": 8}
    )

    def deny(actions, principal="*"):
        c.put_backup_vault_access_policy(
            BackupVaultName=VAULT,
            Policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Deny", "Principal": principal, "Action": actions, "Resource": "*"}],
                }
            ),
        )

    # docs/AWS-BEHAVIOUR.md §7: the AWS Config rule's Deny (manual deletion disabled) blocks the shortening
    deny(["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle", "backup:PutBackupVaultAccessPolicy"])
    assert refused(update) and not refused(describe)
    assert service.find_recovery_point(rp_arn).lifecycle == {"DeleteAfterDays": 35}
    c.delete_backup_vault_access_policy(BackupVaultName=VAULT)
    deny("backup:DescribeRecoveryPoint")
    assert refused(describe) and not refused(update)
    # a Deny for another principal does not apply to this caller (role arn:aws:iam::MAIN:role/tests)
    c.update_recovery_point_lifecycle(BackupVaultName=VAULT, RecoveryPointArn=rp_arn, Lifecycle={"DeleteAfterDays": 35})
    deny(
        ["backup:DescribeRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"],
        {"AWS": f"arn:aws:iam::{MAIN}:role/someone-else"},
    )
    assert not refused(describe) and not refused(update)
    deny(
        ["backup:DescribeRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"],
        {"AWS": f"arn:aws:iam::{MAIN}:role/tests"},
    )
    assert refused(describe) and refused(update)
    assert service.find_recovery_point(rp_arn).lifecycle == {"DeleteAfterDays": 8}


@pytest.mark.parametrize(
    "operation, limit",
    [
        ("UpdateRecoveryPointLifecycle", 5),
        ("DescribeRecoveryPoint", 15),
        ("DescribeBackupJob", 15),
        ("ListRecoveryPointsByBackupVault", 20),
        ("ListCopyJobs", 20),
    ],
)
def test_request_rates_per_simulated_second(org, clock, operation, limit, service):
    started = org(MAIN, EAST).start_backup_job(BackupVaultName=VAULT, ResourceArn=EFS, IamRoleArn=ROLE)
    clock.advance(3600)
    calls = {
        "UpdateRecoveryPointLifecycle": lambda c: c.update_recovery_point_lifecycle(
            BackupVaultName=VAULT, RecoveryPointArn=started["RecoveryPointArn"], Lifecycle={"DeleteAfterDays": 9}
        ),
        "DescribeRecoveryPoint": lambda c: c.describe_recovery_point(
            BackupVaultName=VAULT, RecoveryPointArn=started["RecoveryPointArn"]
        ),
        "DescribeBackupJob": lambda c: c.describe_backup_job(BackupJobId=started["BackupJobId"]),
        "ListRecoveryPointsByBackupVault": lambda c: c.list_recovery_points_by_backup_vault(BackupVaultName=VAULT),
        "ListCopyJobs": lambda c: c.list_copy_jobs(),
    }
    service.configure(throttling=True)
    c = org(MAIN, EAST)
    for _ in range(limit):
        calls[operation](c)
    with pytest.raises(ClientError) as excinfo:
        calls[operation](c)
    assert error_code(excinfo) == "ThrottlingException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    org(BACKUP, EAST).list_copy_jobs()  # other accounts have their own budget
    clock.advance(1)
    calls[operation](c)  # a new simulated second


def test_total_request_rate_counts_start_copy_job(org, clock, service):
    rp_arn = backed_up(org, clock)
    service.configure(throttling=True)
    c = org(MAIN, EAST)
    for i in range(10):  # replays included: they count too
        c.start_copy_job(
            RecoveryPointArn=rp_arn,
            SourceBackupVaultName=VAULT,
            IamRoleArn=ROLE,
            DestinationBackupVaultArn=vault_arn(BACKUP, EAST),
            IdempotencyToken=f"t{i % 2}",
        )
    for _ in range(3):
        for _ in range(13):
            c.describe_copy_job(CopyJobId=service.copy_jobs(MAIN)[0].job_id)
        clock.advance(0)
    c.list_copy_jobs()
    with pytest.raises(ClientError) as excinfo:  # 10 + 39 + 1 = 50 in this second
        c.list_copy_jobs()
    assert error_code(excinfo) == "ThrottlingException"
    org(MAIN, WEST).list_backup_vaults()  # other regions have their own budget
    service.configure(throttling=False)
    for _ in range(60):
        c.list_copy_jobs()


def test_fault_injection_access_denied_and_random_throttling(org, clock, service):
    rp_arn = backed_up(org, clock)
    service.deny_access("StartCopyJob", account_id=MAIN)
    with pytest.raises(ClientError) as excinfo:
        start_copy(org, rp_arn)
    assert error_code(excinfo) == "AccessDeniedException"
    org(BACKUP, EAST).list_copy_jobs()  # other accounts unaffected
    service.allow_access("StartCopyJob", account_id=MAIN)
    start_copy(org, rp_arn)
    service.inject_throttling(1.0, operations=["DescribeRecoveryPoint"])
    with pytest.raises(ClientError) as excinfo:
        org(MAIN, EAST).describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=rp_arn)
    assert error_code(excinfo) == "ThrottlingException"
    org(MAIN, EAST).list_copy_jobs()
    service.inject_throttling(0.5)
    outcomes = []
    for _ in range(40):
        try:
            org(MAIN, EAST).list_backup_vaults()
            outcomes.append(True)
        except ClientError:
            outcomes.append(False)
    assert 5 < outcomes.count(False) < 35
    service.clear_faults()
    org(MAIN, EAST).describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=rp_arn)


def test_moto_reset_clears_the_added_state(org, clock, service):
    from moto.backup.models import backup_backends

    backed_up(org, clock)
    assert service.recovery_points(MAIN) and service.backup_jobs(MAIN)
    backup_backends.reset()
    assert service.recovery_points() == [] and service.backup_jobs() == [] and service.copy_jobs() == []
    clock.advance(100 * 86400)  # stale lifecycle callbacks are harmless


def test_inspection_helpers(org, clock, service):
    rp_arn = backed_up(org, clock, lifecycle={"DeleteAfterDays": 35})
    start_copy(org, rp_arn)
    clock.advance(3600)
    assert [rp.arn for rp in service.recovery_points(MAIN, EAST, VAULT)] == [rp_arn]
    assert len(service.recovery_points(BACKUP)) == 1
    assert [j.state for j in service.copy_jobs(MAIN)] == ["COMPLETED"]
    view = service.snapshot()
    assert set(view) == {f"{MAIN}/{EAST}/{VAULT}", f"{BACKUP}/{EAST}/{VAULT}"}
    json.dumps(view)


def test_custom_event_sink_receives_events(org, clock, service):
    received = []
    service.set_event_sink(received.append)
    backed_up(org, clock)
    assert [e["detail"]["state"] for e in received] == ["CREATED", "RUNNING", "COMPLETED"]
    assert service.recorded_events == []


def test_works_under_threaded_moto_server():
    from moto.server import ThreadedMotoServer

    clock = Clock()
    # a made-up EFS ARN, as in the fixture above
    service = sb.BackupService(clock=clock, require_existing_resources=False).install()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        c = boto3.client(
            "backup",
            region_name=EAST,
            endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=NO_RETRIES,
        )
        make_copy_role(MAIN, endpoint_url=f"http://127.0.0.1:{port}")
        c.create_backup_vault(BackupVaultName=VAULT)
        started = c.start_backup_job(BackupVaultName=VAULT, ResourceArn=EFS, IamRoleArn=ROLE)
        clock.advance(3600)
        rp = c.describe_recovery_point(BackupVaultName=VAULT, RecoveryPointArn=started["RecoveryPointArn"])
        assert rp["Status"] == "COMPLETED"
        updated = c.update_recovery_point_lifecycle(
            BackupVaultName=VAULT, RecoveryPointArn=rp["RecoveryPointArn"], Lifecycle={"DeleteAfterDays": 8}
        )
        assert updated["Lifecycle"] == {"DeleteAfterDays": 8}
        c.put_backup_vault_access_policy(BackupVaultName=VAULT, Policy=org_policy())
        assert c.list_copy_jobs()["CopyJobs"] == []
        with pytest.raises(ClientError) as excinfo:
            c.describe_copy_job(CopyJobId="missing")
        assert error_code(excinfo) == "ResourceNotFoundException"
    finally:
        server.stop()
        service.uninstall()


def test_one_gate_authorises_before_faults_and_request_rates(service, client):
    """Every AWS Backup request: IAM's decision first, then injected faults, then the rates: calls IAM
    refuses meet neither the injected denial nor spend the account's ListCopyJobs budget (§5.2)."""
    from backup_events_aws.sandbox.authorization import Gate

    service.configure(throttling=True)
    operator = client(MAIN, EAST)  # a role IAM does not know: the sandbox's operator, not governed
    keys = boto3.client("sts", region_name=EAST).assume_role(
        RoleArn=f"arn:aws:iam::{MAIN}:role/tests", RoleSessionName="admin"
    )["Credentials"]
    boto3.client(
        "iam",
        region_name=EAST,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    ).create_role(
        RoleName="NoBackup",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{MAIN}:root"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )
    keys = boto3.client("sts", region_name=EAST).assume_role(
        RoleArn=f"arn:aws:iam::{MAIN}:role/NoBackup", RoleSessionName="governed"
    )["Credentials"]
    governed = boto3.client(
        "backup",
        region_name=EAST,
        config=NO_RETRIES,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )
    gate = Gate().install()
    try:
        service.deny_access("DescribeBackupJob", MAIN)
        for call in (lambda c: c.list_copy_jobs(), lambda c: c.describe_backup_job(BackupJobId="any")):
            with pytest.raises(ClientError) as refused:
                call(governed)
            assert "assumed-role/NoBackup/governed" in refused.value.response["Error"]["Message"]  # IAM's words
        with pytest.raises(ClientError) as injected:
            operator.describe_backup_job(BackupJobId="any")
        assert "assumed-role/sandbox" in injected.value.response["Error"]["Message"]  # the injected denial
        for _ in range(25):  # more than ListCopyJobs' 20 per second, all refused by IAM
            with pytest.raises(ClientError):
                governed.list_copy_jobs()
        for _ in range(20):  # the account's budget for this second is whole
            operator.list_copy_jobs()
        with pytest.raises(ClientError) as throttled:
            operator.list_copy_jobs()
        assert error_code(throttled) == "ThrottlingException"
    finally:
        gate.uninstall()
