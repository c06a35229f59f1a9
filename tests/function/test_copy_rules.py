"""The function's destination rules (issue 13), pure: copy_lifecycle, air_gap_refusal, key_refusal;
then the route: what copy 1 sends, describes and refuses."""

import datetime

import pytest
from botocore.stub import ANY
from lambda_support import MAIN

UTC = datetime.UTC
VAULT = "BackupEvents-Sample"
EBS_POINT = "arn:aws:ec2:us-east-1::snapshot/snap-0123456789abcdef0"
EFS_POINT = f"arn:aws:backup:us-east-1:{MAIN}:recovery-point:1EB3B5E7-9EB0-435A-BAF5-7F3B5BC1A6B1"


@pytest.fixture
def module(load_function):
    return load_function().module


# (source lifecycle, type, retention setting, vault limits, age) -> expected Lifecycle, or words of the refusal
CASES = [
    # inherit: no Lifecycle at all, unless a limit rules it out
    ({"DeleteAfterDays": 35}, "EFS", (0, 0), (0, 0), 1, None),
    ({"DeleteAfterDays": 35}, "EFS", (0, 0), (7, 3650), 1, None),
    ({"DeleteAfterDays": 35}, "EFS", (0, 0), (60, 0), 1, "kept 35 days, outside the backup vault's 60..36500"),
    ({"DeleteAfterDays": 35}, "EFS", (0, 0), (0, 30), 1, "kept 35 days, outside the backup vault's 1..30"),
    ({}, "EFS", (0, 0), (7, 3650), 1, "kept forever days"),  # never expires: over any maximum
    ({"DeleteAfterDays": -1}, "EFS", (0, 0), (7, 3650), 1, "kept forever"),
    ({}, "EFS", (0, 0), (7, 0), 1, None),  # a minimum alone admits "forever"
    # a number of days, with a cold transition only where the type can go cold
    ({"DeleteAfterDays": 35}, "EFS", (400, 0), (0, 0), 1, {"DeleteAfterDays": 400}),
    ({"DeleteAfterDays": 35}, "EFS", (400, 30), (0, 0), 1, {"DeleteAfterDays": 400, "MoveToColdStorageAfterDays": 30}),
    ({"DeleteAfterDays": 35}, "EBS", (400, 30), (0, 0), 1, {"DeleteAfterDays": 400}),
    ({"DeleteAfterDays": 35}, "RDS", (100, 30), (0, 0), 1, {"DeleteAfterDays": 100}),
    ({"DeleteAfterDays": 35}, "EFS", (100, 30), (0, 0), 1, "make DAYS at least COLD + 90"),
    ({"DeleteAfterDays": 35}, "EFS", (120, 30), (0, 0), 1, {"DeleteAfterDays": 120, "MoveToColdStorageAfterDays": 30}),
    ({"DeleteAfterDays": 35}, "EFS", (10, 0), (60, 400), 1, "kept 10 days, outside the backup vault's 60..400"),
    ({"DeleteAfterDays": 35}, "EFS", (500, 0), (60, 400), 1, "kept 500 days"),
    ({"DeleteAfterDays": 35}, "EFS", (400, 0), (60, 400), 1, {"DeleteAfterDays": 400}),
    # the copy keeps the original's creation date: a setting under its age would expire at once
    ({"DeleteAfterDays": 35}, "EFS", (10, 0), (0, 0), 12, "would expire at once: created 12 days ago"),
]


@pytest.mark.parametrize("source, kind, retention, limits, age, expected", CASES)
def test_copy_lifecycle(module, source, kind, retention, limits, age, expected):
    lifecycle, refusal = module.copy_lifecycle(source, kind, 1, retention, limits, age)
    if isinstance(expected, str):
        assert lifecycle is None and expected in refusal and "Fix: " in refusal and "Copy1Retention" in refusal
    else:
        assert (lifecycle, refusal) == (expected, None)


def test_air_gap_refusal(module):
    assert module.air_gap_refusal("DynamoDB", 1, air_gapped=False) is None
    assert "don't take DynamoDB" in module.air_gap_refusal("DynamoDB", 1, air_gapped=True)
    assert module.air_gap_refusal("EBS", 2, air_gapped=True) is None
    assert module.air_gap_refusal("Aurora", 1, air_gapped=True) is None  # same region: fine
    assert "across regions" in module.air_gap_refusal("Aurora", 2, air_gapped=True)


def test_key_refusal_only_for_aws_managed_keys_of_types_not_fully_managed(module):
    ebs = {"RecoveryPointArn": EBS_POINT, "ResourceType": "EBS"}
    assert module.key_refusal(ebs, "AWS") == module.AWS_MANAGED_KEY.format("EBS")
    assert module.key_refusal(ebs, "CUSTOMER") is None
    assert module.key_refusal(ebs, None) is None  # unencrypted, or not readable: AWS decides
    assert module.key_refusal({"RecoveryPointArn": EFS_POINT, "ResourceType": "EFS"}, "AWS") is None


def test_retention_settings_are_read_from_the_environment(load_function):
    settings = load_function(
        COPY1_RETENTION="400/30",
        COPY2_RETENTION="inherit",
        BACKUP_VAULT_RETENTION="-3650",
        BACKUP_VAULT_TYPE="air-gapped",
    ).settings
    assert settings.retention[1:] == ((400, 30), (0, 0))
    assert settings.limits == (0, 3650) and settings.air_gapped
    settings = load_function().settings  # the template's defaults: inherit, no limits
    assert settings.retention[1:] == ((0, 0), (0, 0)) and settings.limits == (0, 0) and not settings.air_gapped


@pytest.mark.parametrize(
    "name, value",
    [
        ("COPY1_RETENTION", "forever"),
        ("COPY2_RETENTION", "365/"),
        ("BACKUP_VAULT_RETENTION", "7"),
        ("BACKUP_VAULT_TYPE", "lag"),
    ],
)
def test_a_bad_destination_setting_fails_the_cold_start_naming_it(load_function, log_lines, name, value):
    with pytest.raises(Exception) as raised:
        load_function(**{name: value})
    assert type(raised.value).__name__ == "SettingsError"
    [(level, line)] = log_lines()
    assert level == "ERROR" and line["variable"] == name and line["value"] == value.lower()


def test_copy_1_of_a_backup_under_an_aws_managed_key_is_refused_without_start_copy_job(load_function, event, log_lines):
    function = load_function()
    backup = event("backup_completed_ebs_main")
    key = f"arn:aws:kms:us-east-1:{MAIN}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    function.stubber.add_response(
        "describe_recovery_point",
        {
            "RecoveryPointArn": backup["resources"][0],
            "ResourceType": "EBS",
            "EncryptionKeyArn": key,
            "IsEncrypted": True,
        },
        {"BackupVaultName": VAULT, "RecoveryPointArn": backup["resources"][0]},
    )
    function.kms_stubber.add_response(
        "describe_key", {"KeyMetadata": {"KeyId": key, "KeyManager": "AWS"}}, {"KeyId": key}
    )
    with pytest.raises(function.module.CopyRefused):
        function(backup)  # the stubber would fail on an unexpected StartCopyJob
    [(level, line)] = log_lines()
    assert level == "ERROR" and line["error"] == "CopyRefused"
    assert line["message"] == (
        f"copy 1 of {backup['resources'][0]} not started: " + function.module.AWS_MANAGED_KEY.format("EBS")
    )


def test_copy_1_carries_its_lifecycle_and_reads_the_source_only_when_a_rule_needs_it(load_function, event):
    # EFS is fully managed and the setting doesn't depend on the source: no describe.
    function = load_function(COPY1_RETENTION="400")
    function.stubber.add_response(
        "start_copy_job",
        {"CopyJobId": "x"},
        {
            "RecoveryPointArn": ANY,
            "SourceBackupVaultName": VAULT,
            "DestinationBackupVaultArn": ANY,
            "IamRoleArn": ANY,
            "IdempotencyToken": ANY,
            "Lifecycle": {"DeleteAfterDays": 400},
        },
    )
    function(event("backup_completed_efs_main"))
    # Inheriting into a vault with limits: the source's retention is read first.
    function = load_function(BACKUP_VAULT_RETENTION="60-400")
    backup = event("backup_completed_efs_main")
    function.stubber.add_response(
        "describe_recovery_point",
        {"RecoveryPointArn": backup["resources"][0], "ResourceType": "EFS", "Lifecycle": {"DeleteAfterDays": 90}},
    )
    function.stubber.add_response("start_copy_job", {"CopyJobId": "y"})
    assert function(backup)["copy_job_id"] == "y"
