"""Each route of the function, with the exact AWS requests (botocore Stubber
validates them against the real service model)."""

import datetime
import json

import pytest
from botocore.stub import ANY
from lambda_support import BACKUP, MAIN

UTC = datetime.UTC
VAULT = "BackupEvents-Sample"
ROLE = "arn:aws:iam::{}:role/service-role/AWSBackupDefaultServiceRole"


def vault(account, region="us-east-1"):
    return f"arn:aws:backup:{region}:{account}:backup-vault:{VAULT}"


def copy_response():
    return {
        "CopyJobId": "B6EC38D2-CB3C-EF0A-F5A4-3CF324EF4945",
        "CreationDate": datetime.datetime(2026, 1, 5, tzinfo=UTC),
    }


def expect_key_check(function, arn, resource_type, manager="CUSTOMER"):
    """Not fully managed: the backup keeps the resource's key, so before copy 1
    the function reads it (DescribeRecoveryPoint) and who manages it (DescribeKey)."""
    key = f"arn:aws:kms:us-east-1:{MAIN}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    function.stubber.add_response(
        "describe_recovery_point",
        {"RecoveryPointArn": arn, "ResourceType": resource_type, "EncryptionKeyArn": key, "IsEncrypted": True},
        {"BackupVaultName": VAULT, "RecoveryPointArn": arn},
    )
    function.kms_stubber.add_response(
        "describe_key", {"KeyMetadata": {"KeyId": key, "KeyManager": manager}}, {"KeyId": key}
    )


@pytest.mark.parametrize("kind", ["efs", "ebs", "rds"])
def test_completed_backup_is_copied_to_the_backup_account(load_function, event, kind):
    function = load_function()
    backup = event(f"backup_completed_{kind}_main")
    expected = {
        "RecoveryPointArn": backup["resources"][0],
        "SourceBackupVaultName": VAULT,
        "DestinationBackupVaultArn": vault(BACKUP),
        "IamRoleArn": ROLE.format(MAIN),
        "IdempotencyToken": ANY,
    }
    if kind != "efs":
        expect_key_check(function, backup["resources"][0], kind.upper())
    function.stubber.add_response("start_copy_job", copy_response(), expected)
    result = function(backup)
    assert result == {"action": "copy_to_backup_account", "copy_job_id": "B6EC38D2-CB3C-EF0A-F5A4-3CF324EF4945"}


def test_duplicate_delivery_sends_the_same_short_token(load_function, event):
    function = load_function()
    tokens = []
    for _ in range(2):
        function.stubber.add_response("start_copy_job", copy_response())
        function.client.meta.events.register_first(
            "before-parameter-build.backup.StartCopyJob",
            lambda params, **_: tokens.append(params["IdempotencyToken"]),
            unique_id="record-token",
        )
        function(event("backup_completed_efs_main"))
    assert len(tokens) == 2 and tokens[0] == tokens[1]
    assert len(tokens[0]) == 32  # fixed length, whatever the ARN lengths
    other = function.module.idempotency_token(event("backup_completed_ebs_main")["resources"][0], vault(BACKUP))
    assert other != tokens[0] and len(other) == 32


def test_copy_1_in_the_backup_account_goes_to_the_backup_region(load_function, event):
    function = load_function(account=BACKUP, region="us-east-1")
    copy_1 = event("copy1_completed_efs_main")
    function.stubber.add_response(
        "start_copy_job",
        copy_response(),
        {
            "RecoveryPointArn": copy_1["detail"]["destinationRecoveryPointArn"],
            "SourceBackupVaultName": VAULT,
            "DestinationBackupVaultArn": vault(BACKUP, "us-west-2"),
            "IamRoleArn": ROLE.format(BACKUP),
            "IdempotencyToken": ANY,
        },
    )
    assert function(copy_1)["action"] == "copy_to_backup_region"


def test_copy_1_already_in_the_backup_region_goes_to_the_alternate(load_function, event):
    function = load_function(account=BACKUP, region="us-west-2")
    copy_1 = event("copy1_completed_efs_main_us_west_2")
    function.stubber.add_response(
        "start_copy_job",
        copy_response(),
        {
            "RecoveryPointArn": copy_1["detail"]["destinationRecoveryPointArn"],
            "SourceBackupVaultName": VAULT,
            "DestinationBackupVaultArn": vault(BACKUP, "us-east-1"),
            "IamRoleArn": ROLE.format(BACKUP),
            "IdempotencyToken": ANY,
        },
    )
    assert function(copy_1)["action"] == "copy_to_backup_region"


@pytest.mark.parametrize("kind", ["ebs", "rds"])
def test_backup_account_copies_ebs_and_rds_copies(load_function, event, kind):
    function = load_function(account=BACKUP)
    copy_1 = event(f"copy1_completed_{kind}_main")
    function.stubber.add_response(
        "start_copy_job",
        copy_response(),
        {
            "RecoveryPointArn": copy_1["detail"]["destinationRecoveryPointArn"],
            "SourceBackupVaultName": VAULT,
            "DestinationBackupVaultArn": vault(BACKUP, "us-west-2"),
            "IamRoleArn": ROLE.format(BACKUP),
            "IdempotencyToken": ANY,
        },
    )
    function(copy_1)


def describe_response(arn, created, lifecycle=None, **extra):
    response = {
        "RecoveryPointArn": arn,
        "BackupVaultName": VAULT,
        "BackupVaultArn": vault(MAIN),
        "CreationDate": created,
        "Status": "COMPLETED",
        "StorageClass": "WARM",
    }
    if lifecycle is not None:
        response["Lifecycle"] = lifecycle
    response.update(extra)
    return response


def test_completed_copy_1_shortens_the_original_to_8_days(load_function, event, log_lines):
    function = load_function()
    copy_1 = event("copy1_completed_efs_main")
    original = copy_1["resources"][0]
    today = datetime.datetime.now(UTC).replace(microsecond=0)
    key = {"BackupVaultName": VAULT, "RecoveryPointArn": original}
    function.stubber.add_response(
        "describe_recovery_point", describe_response(original, today, {"DeleteAfterDays": 35}), key
    )
    function.stubber.add_response("describe_backup_vault", {"BackupVaultName": VAULT}, {"BackupVaultName": VAULT})
    function.stubber.add_response(
        "update_recovery_point_lifecycle",
        {
            "RecoveryPointArn": original,
            "Lifecycle": {"DeleteAfterDays": 8},
            "CalculatedLifecycle": {"DeleteAt": today + datetime.timedelta(days=8)},
        },
        dict(key, Lifecycle={"DeleteAfterDays": 8}),
    )
    result = function(copy_1)
    assert result == {"action": "shorten_retention", "lifecycle": {"DeleteAfterDays": 8}}
    # The log line is one JSON object with the request and the response.
    ((level, line),) = [entry for entry in log_lines() if entry[1]["type"] == "aws_call"]
    parsed = json.loads(str(line))
    assert parsed["call"] == "UpdateRecoveryPointLifecycle"
    assert parsed["event_id"] == copy_1["id"]
    assert parsed["previous"] == {"DeleteAfterDays": 35}
    assert parsed["response"]["CalculatedLifecycle"]["DeleteAt"].startswith(
        str((today + datetime.timedelta(days=8)).date())
    )


def test_a_locked_vault_keeps_its_retention_and_the_lock_is_read_once_per_5_minutes(load_function, event, log_lines):
    """Vault Lock prevents lifecycle updates (docs/AWS-BEHAVIOUR.md §17.1): no update is tried."""
    function = load_function()
    copy_1 = event("copy1_completed_efs_main")
    original = copy_1["resources"][0]
    today = datetime.datetime.now(UTC)
    function.stubber.add_response(
        "describe_recovery_point", describe_response(original, today, {"DeleteAfterDays": 35})
    )
    function.stubber.add_response(
        "describe_backup_vault", {"BackupVaultName": VAULT, "Locked": True, "MinRetentionDays": 14}
    )
    assert function(copy_1)["lifecycle"] is None
    # Second event, same process: 1 describe, no vault read, no update (the stubber refuses any other call).
    function.stubber.add_response(
        "describe_recovery_point", describe_response(original, today, {"DeleteAfterDays": 35})
    )
    assert function(copy_1)["lifecycle"] is None
    function.stubber.assert_no_pending_responses()
    reasons = [line["reason"] for _, line in log_lines() if line["type"] == "no_change"]
    assert reasons == ["the watched vault has Vault Lock: its retention can't be changed"] * 2


def test_retention_already_short_makes_no_update(load_function, event, log_lines):
    function = load_function()
    copy_1 = event("copy1_completed_efs_main")
    function.stubber.add_response(
        "describe_recovery_point",
        describe_response(copy_1["resources"][0], datetime.datetime.now(UTC), {"DeleteAfterDays": 5}),
    )
    function.stubber.add_response("describe_backup_vault", {"BackupVaultName": VAULT})
    assert function(copy_1)["lifecycle"] is None
    reasons = [line["reason"] for _, line in log_lines() if line["type"] == "no_change"]
    assert reasons == ["retention already at most the new value (never lengthen)"]


IGNORED = [
    # (fixture, where the function runs, settings, expected reason fragment)
    ("backup_job_running_documented", MAIN, {}, "backup job state RUNNING"),
    ("backup_job_failed_documented", MAIN, {}, "backup job state FAILED"),
    ("backup_job_completed_documented", MAIN, {}, "another vault"),
    ("copy1_running_main", MAIN, {}, "copy job state RUNNING"),
    ("copy1_failed_main", MAIN, {}, "copy job state FAILED"),
    ("copy_job_completed_documented", MAIN, {}, "not to the backup account"),
    ("copy_job_created_documented", BACKUP, {}, "copy job state CREATED"),
    ("backup_completed_efs_main", BACKUP, {}, "copying from this account is off"),
    ("backup_completed_efs_main", MAIN, {"ENABLE_COPY": "false"}, "copying from this account is off"),
    ("copy1_completed_efs_main", MAIN, {"ENABLE_SHORTEN_RETENTION": "false"}, "shortening retention is off"),
    ("copy1_completed_efs_main", BACKUP, {"ENABLE_COPY": "false"}, "copying is off"),
    ("backup_completed_ebs_main", MAIN, {"BACKUPS_TO_COVER": "on-demand"}, "not covered"),
    ("backup_completed_efs_main", MAIN, {"BACKUPS_TO_COVER": "scheduled"}, "not covered"),
]


@pytest.mark.parametrize("fixture,account,settings,reason", IGNORED)
def test_events_needing_no_action_make_no_call(load_function, event, log_lines, fixture, account, settings, reason):
    function = load_function(account=account, **settings)
    # The stubber has no responses queued: any AWS call would fail the test.
    result = function(event(fixture))
    assert result["action"] == "ignore" and reason in result["reason"]
    [(level, line)] = log_lines()
    assert level == "INFO" and line["type"] == "ignored"


def test_copy_from_another_resource_vault_is_ignored(load_function, event):
    function = load_function()
    copy_1 = event("copy1_completed_efs_main")
    copy_1["detail"]["sourceBackupVaultArn"] = vault(MAIN).replace(VAULT, "Other")
    assert function(copy_1)["reason"] == "copy from another vault"


@pytest.mark.parametrize(
    "settings,fixture,covered",
    [
        ({"BACKUPS_TO_COVER": "on-demand"}, "backup_completed_efs_main", True),
        ({"BACKUPS_TO_COVER": "scheduled"}, "backup_completed_ebs_main", True),
    ],
)
def test_coverage_switch_copies_what_it_covers(load_function, event, settings, fixture, covered):
    function = load_function(**settings)
    if "ebs" in fixture:
        expect_key_check(function, event(fixture)["resources"][0], "EBS")
    function.stubber.add_response("start_copy_job", copy_response())
    assert function(event(fixture))["action"] == "copy_to_backup_account"


def test_other_event_kinds_are_ignored(load_function):
    function = load_function()
    result = function({"id": "x", "source": "aws.backup", "detail-type": "Restore Job State Change", "detail": {}})
    assert result["action"] == "ignore"


MALFORMED = [
    ("backup_completed_efs_main", MAIN, lambda e: e.update(resources=[])),
    ("backup_completed_efs_main", MAIN, lambda e: e.pop("resources")),
    ("copy1_completed_efs_main", MAIN, lambda e: e["detail"].update(destinationRecoveryPointArn={})),
    ("copy1_completed_efs_main", MAIN, lambda e: e.update(resources=[{}])),
    ("copy1_completed_efs_main", BACKUP, lambda e: e["detail"].update(destinationRecoveryPointArn={})),
    # A forged copy 1 in another region must not make B copy anything.
    (
        "copy1_completed_efs_main",
        BACKUP,
        lambda e: e["detail"].update(
            destinationRecoveryPointArn="arn:aws:backup:eu-west-1:999977775555:recovery-point:x"
        ),
    ),
    ("backup_completed_efs_main", MAIN, lambda e: e.pop("detail")),
]


@pytest.mark.parametrize("fixture,account,damage", MALFORMED)
def test_malformed_events_raise_after_one_error_line(load_function, event, log_lines, fixture, account, damage):
    function = load_function(account=account)
    broken = event(fixture)
    damage(broken)
    with pytest.raises(function.module.BadEvent):
        function(broken)
    [(level, line)] = log_lines()
    assert level == "ERROR" and line["type"] == "error" and line["error"] == "BadEvent"
    assert line["event_id"] == broken["id"]


def test_non_dict_event_raises(load_function, log_lines):
    function = load_function()
    with pytest.raises(function.module.BadEvent):
        function(["not", "an", "event"])
    assert [level for level, _ in log_lines()] == ["ERROR"]


@pytest.mark.parametrize("code", ["AccessDeniedException", "ResourceNotFoundException"])
def test_aws_errors_raise_after_one_error_line(load_function, event, log_lines, code):
    function = load_function()
    function.stubber.add_client_error("start_copy_job", service_error_code=code, http_status_code=400)
    with pytest.raises(function.client.exceptions.ClientError) as raised:
        function(event("backup_completed_efs_main"))
    assert raised.value.response["Error"]["Code"] == code
    [(level, line)] = log_lines()
    assert level == "ERROR" and line["aws_error_code"] == code and code in line["message"]
