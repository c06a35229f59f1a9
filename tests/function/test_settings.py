"""Issue 10, points 5 and 6: one validated Settings object, the factory, the
action table, the vault-lock expiry, a StartCopyJob answer without CopyJobId,
and the version in every log line."""

import datetime

import pytest
from lambda_support import BACKUP, DEFAULT_SETTINGS, MAIN, Context, fresh_module

UTC = datetime.UTC
VAULT = "BackupEvents-Sample"


def environ(**changes):
    values = dict(DEFAULT_SETTINGS, COPY_ROLE_ARN=f"arn:aws:iam::{MAIN}:role/r")
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


@pytest.mark.parametrize(
    "variable,value",
    [
        ("NEW_DELETE_AFTER_DAYS", "seven"),
        ("NEW_DELETE_AFTER_DAYS", "0"),
        ("CATCH_UP_DAYS", "400"),
        ("ENABLE_COPY", "yes"),
        ("ENABLE_SHORTEN_RETENTION", ""),
        ("BACKUPS_TO_COVER", "some"),
        ("BACKUP_ACCOUNT_ID", "1234"),
        ("BACKUP_REGION", "west"),
        ("VAULT_NAME", None),
        ("COPY_ROLE_ARN", "role/r"),
    ],
)
def test_a_bad_setting_is_one_error_line_then_the_cold_start_fails(monkeypatch, log_lines, event, variable, value):
    for name, setting in environ(**{variable: value}).items():
        monkeypatch.setenv(name, setting)
    if value is None:
        monkeypatch.delenv(variable, raising=False)
    module = fresh_module()  # importing does not fail: the first event builds the function
    with pytest.raises(module.SettingsError):
        module.lambda_handler(event("backup_completed_efs_main"), Context(MAIN, "us-east-1"))
    [(level, line)] = log_lines()
    assert level == "ERROR" and line["type"] == "bad_setting" and line["variable"] == variable
    assert line["fix"].startswith("set ")
    assert module._function is None  # the next event tries the cold start again


@pytest.mark.parametrize("value,expected", [("True", True), ("FALSE", False), (" false ", False)])
def test_booleans_are_case_insensitive(value, expected):
    settings = fresh_module().Settings.from_environment(environ(ENABLE_COPY=value))
    assert settings.enable_copy is expected


def test_defaults_for_optional_settings():
    settings = fresh_module().Settings.from_environment(
        environ(NEW_DELETE_AFTER_DAYS=None, CATCH_UP_DAYS=None, ENABLE_COPY=None, BACKUPS_TO_COVER=None)
    )
    assert (
        settings.new_delete_after_days,
        settings.catch_up_days,
        settings.enable_copy,
        settings.backups_to_cover,
    ) == (7, 7, True, "all")


def test_lambda_handler_builds_the_function_once(monkeypatch, event):
    for name, setting in environ().items():
        monkeypatch.setenv(name, setting)
    module = fresh_module()
    context = Context(MAIN, "us-east-1")
    module.lambda_handler(event("backup_job_running_documented"), context)
    built = module._function
    module.lambda_handler(event("backup_job_running_documented"), context)
    assert built is module._function and built.settings.vault_name == VAULT


def test_an_action_without_a_handler_is_an_error_not_a_copy(load_function, event, log_lines):
    function = load_function()
    assert set(function.handler.handlers) == {
        "copy_to_backup_account",
        "copy_to_backup_region",
        "shorten_retention",
        "sweep",
        "alert",
    }
    del function.handler.handlers["shorten_retention"]
    with pytest.raises(ValueError, match="no handler for action 'shorten_retention'"):
        function(event("copy1_completed_efs_main"))  # no stubbed call: nothing is started
    assert [level for level, _ in log_lines() if level == "ERROR"] == ["ERROR"]


def test_the_vault_lock_minimum_is_read_again_after_5_minutes(load_function, event):
    start = datetime.datetime.now(UTC)
    function = load_function(clock=start)
    copy_1 = event("copy1_completed_efs_main")
    original = copy_1["resources"][0]

    def shorten(lock_read, minimum, expected):
        function.stubber.add_response(
            "describe_recovery_point",
            {
                "RecoveryPointArn": original,
                "CreationDate": start,
                "Status": "COMPLETED",
                "StorageClass": "WARM",
                "Lifecycle": {"DeleteAfterDays": 35},
            },
        )
        if lock_read:
            function.stubber.add_response(
                "describe_backup_vault",
                {"BackupVaultName": VAULT, "MinRetentionDays": minimum} if minimum else {"BackupVaultName": VAULT},
            )
        function.stubber.add_response(
            "update_recovery_point_lifecycle",
            {},
            {"BackupVaultName": VAULT, "RecoveryPointArn": original, "Lifecycle": {"DeleteAfterDays": expected}},
        )
        function(copy_1)

    shorten(True, None, 8)
    function.now = start + datetime.timedelta(minutes=4)
    shorten(False, None, 8)  # within 5 minutes: the cached answer
    function.now = start + datetime.timedelta(minutes=5, seconds=1)
    shorten(True, 20, 21)  # a minimum set meanwhile is seen (a LAG vault's, or a lock's before it locks)


@pytest.mark.parametrize("account,fixture", [(MAIN, "backup_completed_efs_main"), (BACKUP, "copy1_completed_efs_main")])
def test_a_copy_answer_without_copy_job_id_is_survived(load_function, event, log_lines, account, fixture):
    function = load_function(account=account)
    function.stubber.add_response("start_copy_job", {})
    result = function(event(fixture))
    assert result["copy_job_id"] is None
    [line] = [line for _, line in log_lines() if line["type"] == "aws_call"]
    assert line["response"] == {}


def test_every_log_line_carries_the_version(load_function, event, log_lines):
    function = load_function()
    function.stubber.add_response("start_copy_job", {"CopyJobId": "C1"})
    function(event("backup_completed_efs_main"))
    function(event("backup_job_running_documented"))
    with pytest.raises(function.module.BadEvent):
        function({"id": "x"})
    lines = [line for _, line in log_lines()]
    assert len(lines) == 3 and {line["version"] for line in lines} == {function.module.VERSION}
    assert function.module.VERSION == "0.2.0"
