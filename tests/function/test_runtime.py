"""How the function behaves as a Lambda process: clients, retries, settings,
partitions, the catch-up sweep."""

import datetime
import importlib.util
import logging

import pytest
from botocore.awsrequest import AWSResponse
from lambda_support import BACKUP, MAIN, SOURCE

UTC = datetime.UTC
VAULT = "BackupEvents-Sample"


def test_import_does_no_work(monkeypatch):
    # Changed with issue 10: settings are read by build_function, not at import.
    monkeypatch.setenv("NEW_DELETE_AFTER_DAYS", "not a number")
    spec = importlib.util.spec_from_file_location("index_import", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module._function is None and module.backup_client.cache_info().currsize == 0


@pytest.mark.parametrize(
    "level,expected",
    [
        ("TRACE", logging.DEBUG),
        ("DEBUG", logging.DEBUG),
        ("INFO", logging.INFO),
        ("WARN", logging.WARNING),
        ("ERROR", logging.ERROR),
        ("FATAL", logging.CRITICAL),
    ],
)
def test_every_log_level_lambda_accepts_works(monkeypatch, level, expected):
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", level)
    spec = importlib.util.spec_from_file_location("index_level", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.logger.level == expected


def test_one_client_per_process_with_standard_retries(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    spec = importlib.util.spec_from_file_location("index_client", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    first = module.backup_client("us-east-1")
    assert module.backup_client("us-east-1") is first
    assert first.meta.config.retries["mode"] == "standard"


def test_throttling_is_retried_then_raised_with_one_error_line(load_function, event, log_lines, monkeypatch):
    """The function's own client (standard mode, 10 retries: bursts must get
    through AWS Backup's 5 calls/s), then the error reaches Lambda."""
    function = load_function()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # Not the test's client: the function's own (the factory's default clients).
    handler = function.module.build_function(function.environ, clock=lambda: function.now)
    client = function.module.backup_client(function.region)
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda seconds: None)
    attempts = []

    def throttled(request, **_):
        attempts.append(request)
        response = AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ThrottlingException"}, None)
        response._content = b'{"__type": "ThrottlingException", "Message": "Rate exceeded"}'
        return response

    client.meta.events.register("before-send.backup.StartCopyJob", throttled)
    # No stubber here: the request goes through botocore's retry handler.
    with pytest.raises(function.client.exceptions.ClientError) as raised:
        handler(event("backup_completed_efs_main"), function.context)
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert len(attempts) == 11  # the first attempt and 10 retries
    assert [level for level, _ in log_lines()] == ["ERROR"]


def test_partition_comes_from_the_function_arn(load_function, event):
    function = load_function(region="us-gov-west-1", partition="aws-us-gov")
    backup = event("backup_completed_efs_main")
    backup = __import__("json").loads(
        __import__("json").dumps(backup).replace("arn:aws:", "arn:aws-us-gov:").replace("us-east-1", "us-gov-west-1")
    )
    function.stubber.add_response(
        "start_copy_job",
        {"CopyJobId": "x"},
        {
            "RecoveryPointArn": backup["resources"][0],
            "SourceBackupVaultName": VAULT,
            "DestinationBackupVaultArn": f"arn:aws-us-gov:backup:us-gov-west-1:{BACKUP}:backup-vault:{VAULT}",
            "IamRoleArn": f"arn:aws:iam::{MAIN}:role/service-role/AWSBackupDefaultServiceRole",
            "IdempotencyToken": function.module.idempotency_token(
                backup["resources"][0], f"arn:aws-us-gov:backup:us-gov-west-1:{BACKUP}:backup-vault:{VAULT}"
            ),
        },
    )
    function(backup)


def test_backup_region_for(load_function):
    function = load_function()
    module, settings = function.module, function.settings
    assert module.backup_region_for("us-east-1", settings) == "us-west-2"
    assert module.backup_region_for("us-west-1", settings) == "us-west-2"
    assert module.backup_region_for("us-west-2", settings) == "us-east-1"


def test_log_line_is_json_even_when_logging_is_off(load_function, event, caplog):
    function = load_function()
    function.module.logger.setLevel("ERROR")
    assert function(event("backup_job_running_documented"))["action"] == "ignore"
    assert [r for r in caplog.records if r.name == "backup_events"] == []


# --- The catch-up sweep -----------------------------------------------------

NOW = datetime.datetime(2026, 1, 10, 3, 0, tzinfo=UTC)


def original(n, days_old=1, lifecycle=None, **extra):
    value = {
        "RecoveryPointArn": f"arn:aws:backup:us-east-1:{MAIN}:recovery-point:rp-{n}",
        "BackupVaultName": VAULT,
        "Status": "COMPLETED",
        "CreationDate": NOW - datetime.timedelta(days=days_old),
        "Lifecycle": lifecycle or {"DeleteAfterDays": 35},
    }
    value.update(extra)
    return value


def test_sweep_actions_in_a_resource_account(load_function):
    function = load_function()
    module, place = function.module, module_place(function)
    points = [
        original(1),
        original(2),
        original(3),
        original(4),
        original(5, lifecycle={"DeleteAfterDays": 3}),
        original(6, Status="PARTIAL"),
        original(7, SourceBackupVaultArn="arn:aws:backup:us-east-1:1:backup-vault:x"),
        original(8, CreatedBy={"BackupPlanArn": "arn:aws:backup:plan"}),
    ]
    arn = lambda n: points[n - 1]["RecoveryPointArn"]  # noqa: E731
    states = {arn(1): ["COMPLETED"], arn(2): ["RUNNING"], arn(3): ["FAILED"], arn(5): ["COMPLETED"]}
    actions = module.sweep_actions(points, states, place, NOW)
    summary = [(a.name, a.arguments["RecoveryPointArn"]) for a in actions]
    # 1: copied, retention still 35 -> shorten. 2: copy running -> wait.
    # 3: copy failed -> retry with a new token. 4: never copied -> copy.
    # 5: copied and already short -> nothing. 6: not complete. 7: a copy.
    # 8: scheduled backup, covered by "all".
    assert summary == [("shorten_retention", arn(1)), ("copy", arn(3)), ("copy", arn(4)), ("copy", arn(8))]
    retry, first = actions[1].arguments["IdempotencyToken"], actions[2].arguments
    assert retry != module.idempotency_token(arn(3), first["DestinationBackupVaultArn"])
    assert first["IdempotencyToken"] == module.idempotency_token(arn(4), first["DestinationBackupVaultArn"])


def test_sweep_respects_the_coverage_switch(load_function):
    function = load_function(BACKUPS_TO_COVER="on-demand")
    points = [original(1), original(2, CreatedBy={"BackupPlanArn": "arn:aws:backup:plan"})]
    actions = function.module.sweep_actions(points, {}, module_place(function), NOW)
    assert [a.arguments["RecoveryPointArn"] for a in actions] == [points[0]["RecoveryPointArn"]]


def test_sweep_in_the_backup_account_copies_only_copies_1(load_function):
    function = load_function(account=BACKUP, region="us-west-2")
    here = f"arn:aws:backup:us-west-2:{BACKUP}:recovery-point:"
    copy_1 = {
        "RecoveryPointArn": here + "c1",
        "Status": "COMPLETED",
        "CreationDate": NOW,
        "SourceBackupVaultArn": f"arn:aws:backup:us-west-2:{MAIN}:backup-vault:{VAULT}",
    }
    copy_2 = {
        "RecoveryPointArn": here + "c2",
        "Status": "COMPLETED",
        "CreationDate": NOW,
        "SourceBackupVaultArn": f"arn:aws:backup:us-east-1:{BACKUP}:backup-vault:{VAULT}",
    }
    copy_2_of_original = dict(
        copy_2, RecoveryPointArn=here + "c3", SourceBackupVaultArn=f"arn:aws:backup:us-east-1:{MAIN}:backup-vault:v"
    )
    done = dict(copy_1, RecoveryPointArn=here + "c4")
    actions = function.module.sweep_actions(
        [copy_1, copy_2, copy_2_of_original, done], {here + "c4": ["COMPLETED"]}, module_place(function), NOW
    )
    assert [(a.name, a.arguments["RecoveryPointArn"], a.arguments["DestinationBackupVaultArn"]) for a in actions] == [
        ("copy", here + "c1", f"arn:aws:backup:us-east-1:{BACKUP}:backup-vault:{VAULT}")
    ]


def module_place(function):
    return function.place


def test_scheduled_event_runs_the_sweep_with_list_calls(load_function, event):
    function = load_function(clock=NOW)
    points = [original(1), original(2)]
    destination = f"arn:aws:backup:us-east-1:{BACKUP}:backup-vault:{VAULT}"
    since = NOW - datetime.timedelta(days=7)
    function.stubber.add_response(
        "list_copy_jobs",
        {"CopyJobs": [{"SourceRecoveryPointArn": points[0]["RecoveryPointArn"], "State": "COMPLETED"}]},
        {"ByDestinationVaultArn": destination, "ByCreatedAfter": since},
    )
    function.stubber.add_response(
        "list_recovery_points_by_backup_vault",
        {"RecoveryPoints": points},
        {"BackupVaultName": VAULT, "ByCreatedAfter": since},
    )
    # Point 1 was copied: describe it and shorten it.
    function.stubber.add_response("describe_recovery_point", dict(points[0], StorageClass="WARM"))
    function.stubber.add_response("describe_backup_vault", {"BackupVaultName": VAULT})
    function.stubber.add_response(
        "update_recovery_point_lifecycle",
        {},
        {
            "BackupVaultName": VAULT,
            "RecoveryPointArn": points[0]["RecoveryPointArn"],
            "Lifecycle": {"DeleteAfterDays": 8},
        },
    )
    # Point 2 was never copied: copy it.
    function.stubber.add_response("start_copy_job", {"CopyJobId": "new"})
    result = function(event("scheduled_event"))
    assert result == {"action": "sweep", "recovery_points": 2, "copies_started": 1, "retention_checked": 1, "failed": 0}
