"""Issue 10, points 1 and 4: one coverage rule on every path, decided on the
original's own CreatedBy; plan copies are not ours; continuous, composite and
logically air-gapped backups, on events shaped like AWS's samples."""

import datetime

import pytest
from botocore.stub import ANY
from lambda_support import BACKUP, MAIN

UTC = datetime.UTC
VAULT = "BackupEvents-Sample"
PLAN = {"BackupPlanArn": f"arn:aws:backup:us-east-1:{MAIN}:backup-plan:p1", "BackupPlanId": "p1"}
NOW = datetime.datetime(2026, 1, 6, 3, 0, tzinfo=UTC)


def described(arn, created_by=None, **extra):
    """DescribeRecoveryPoint's answer (a listing has no StorageClass: pass None)."""
    value = {
        "RecoveryPointArn": arn,
        "BackupVaultName": VAULT,
        "Status": "COMPLETED",
        "StorageClass": "WARM",
        "CreationDate": NOW - datetime.timedelta(hours=5),
        "Lifecycle": {"DeleteAfterDays": 35},
    }
    if created_by:
        value["CreatedBy"] = created_by
    value.update(extra)
    return {key: item for key, item in value.items() if item is not None}


# --- Point 1: coverage -------------------------------------------------------


@pytest.mark.parametrize(
    "cover,created_by,shortened",
    [
        ("on-demand", PLAN, False),
        ("on-demand", None, True),
        ("scheduled", PLAN, True),
        ("scheduled", None, False),
        ("all", PLAN, True),
    ],
)
def test_shortening_decides_on_the_originals_created_by(load_function, event, log_lines, cover, created_by, shortened):
    """The copy-job event carries no createdBy for a copy we started: the rule
    reads the original's CreatedBy from DescribeRecoveryPoint."""
    function = load_function(BACKUPS_TO_COVER=cover, clock=NOW)
    copy_1 = event("copy1_completed_efs_main")
    original = copy_1["resources"][0]
    function.stubber.add_response("describe_recovery_point", described(original, created_by))
    if shortened:
        function.stubber.add_response("describe_backup_vault", {"BackupVaultName": VAULT})
        function.stubber.add_response(
            "update_recovery_point_lifecycle",
            {},
            {"BackupVaultName": VAULT, "RecoveryPointArn": original, "Lifecycle": {"DeleteAfterDays": 8}},
        )
    result = function(copy_1)
    assert (result["lifecycle"] is not None) is shortened
    if not shortened:
        [reason] = [line["reason"] for _, line in log_lines() if line["type"] == "no_change"]
        assert "not covered" in reason


@pytest.mark.parametrize("account", [MAIN, BACKUP])
def test_a_plans_copy_action_into_the_backup_vault_is_not_ours(load_function, event, account):
    # No stubbed response: neither a shortening in R nor a copy 2 in B.
    function = load_function(account=account)
    result = function(event("copy_plan_action_completed_main"))
    assert result == {"action": "ignore", "reason": "copy made by a backup plan, not by this function"}


@pytest.mark.parametrize("cover,created_by", [("all", None), ("on-demand", None), ("scheduled", PLAN)])
def test_copy_2_follows_every_copy_1_the_function_made(load_function, event, cover, created_by):
    """R starts copy 1 only for a covered original, so B copies each copy 1 it is
    told of without a read (its role has no DescribeRecoveryPoint); B's sweep,
    which sees copy 1's CreatedBy (the original's), agrees for each of them."""
    function = load_function(account=BACKUP, BACKUPS_TO_COVER=cover, clock=NOW)
    copy_1 = event("copy1_completed_efs_main")
    function.stubber.add_response("start_copy_job", {"CopyJobId": "C2"})
    assert function(copy_1)["copy_job_id"] == "C2"
    listed = described(
        copy_1["detail"]["destinationRecoveryPointArn"],
        created_by,
        StorageClass=None,
        SourceBackupVaultArn=copy_1["detail"]["sourceBackupVaultArn"],
    )
    in_lag = dict(
        listed, RecoveryPointArn=listed["RecoveryPointArn"] + "-lag", VaultType="LOGICALLY_AIR_GAPPED_BACKUP_VAULT"
    )  # B's vault may be a LAG vault
    actions = function.module.sweep_actions([listed, in_lag], {}, function.place, NOW)
    assert [a.arguments["DestinationBackupVaultArn"] for a in actions] == [
        f"arn:aws:backup:us-west-2:{BACKUP}:backup-vault:{VAULT}"
    ] * 2


@pytest.mark.parametrize("cover", ["all", "on-demand", "scheduled"])
@pytest.mark.parametrize("created_by", [None, PLAN])
def test_every_path_decides_the_same_for_the_same_original(load_function, event, cover, created_by):
    """Copy 1 (event), the sweep's copy and the sweep's shortening all agree."""
    function = load_function(BACKUPS_TO_COVER=cover, clock=NOW)
    backup = event("backup_completed_efs_main")
    if created_by:
        backup["detail"]["createdBy"] = {"backupPlanArn": created_by["BackupPlanArn"]}
    module, place = function.module, function.place
    by_event = module.decide(backup, place).name == "copy_to_backup_account"
    point = described(backup["resources"][0], created_by)
    by_sweep_copy = [a.name for a in module.sweep_actions([point], {}, place, NOW)] == ["copy"]
    by_sweep_shorten = [
        a.name for a in module.sweep_actions([point], {point["RecoveryPointArn"]: ["COMPLETED"]}, place, NOW)
    ] == ["shorten_retention"]
    expected = {"all": True, "on-demand": not created_by, "scheduled": bool(created_by)}[cover]
    assert by_event is by_sweep_copy is by_sweep_shorten is expected


def test_the_sweep_ignores_a_plans_copy_jobs(load_function):
    """A plan's copy job into B's vault does not count as our copy 1."""
    function = load_function(clock=NOW)
    arn = f"arn:aws:backup:us-east-1:{MAIN}:recovery-point:rp-1"
    function.stubber.add_response(
        "list_copy_jobs", {"CopyJobs": [{"SourceRecoveryPointArn": arn, "State": "COMPLETED", "CreatedBy": PLAN}]}
    )
    function.stubber.add_response(
        "list_recovery_points_by_backup_vault", {"RecoveryPoints": [described(arn, PLAN, StorageClass=None)]}
    )
    with function.stubber:
        points, states = function.module.sweep_inputs(function.place, function.client, NOW)
    actions = function.module.sweep_actions(points, states, function.place, NOW)
    assert [a.name for a in actions] == ["copy"]  # ours is missing; no shortening yet


# --- Point 4: continuous, composite, logically air-gapped ----------------------


@pytest.mark.parametrize(
    "fixture,reason",
    [
        ("backup_completed_rds_continuous_main", "continuous backup"),
        ("backup_completed_s3_continuous_main", "continuous backup"),
        ("backup_completed_composite_child_main", "part of a composite backup"),
        ("backup_completed_lag_main", "logically air-gapped"),
        ("backup_completed_lag_temporary_main", "logically air-gapped"),
    ],
)
def test_backups_that_must_not_be_copied_make_no_call(load_function, event, fixture, reason):
    result = load_function()(event(fixture))
    assert result["action"] == "ignore" and reason in result["reason"]


@pytest.mark.parametrize("fixture", ["backup_completed_s3_periodic_main", "backup_completed_composite_parent_main"])
def test_s3_periodic_and_composite_parents_are_copied(load_function, event, fixture):
    function = load_function()
    backup = event(fixture)
    function.stubber.add_response(
        "start_copy_job",
        {"CopyJobId": "C1", "IsParent": True},
        {
            "RecoveryPointArn": backup["resources"][0],
            "SourceBackupVaultName": VAULT,
            "DestinationBackupVaultArn": f"arn:aws:backup:us-east-1:{BACKUP}:backup-vault:{VAULT}",
            "IamRoleArn": ANY,
            "IdempotencyToken": ANY,
        },
    )
    assert function(backup)["copy_job_id"] == "C1"


def test_awss_own_copy_into_a_lag_vault_is_ignored(load_function, event):
    result = load_function()(event("copy_lag_temporary_main"))
    assert result["action"] == "ignore"


def test_a_nested_copy_1_is_shortened_in_r_but_not_copied_again_in_b(load_function, event):
    child = event("copy1_completed_composite_child_main")
    assert load_function(account=BACKUP)(child)["reason"] == "part of a composite copy: copied with its parent"
    function = load_function(clock=NOW)
    function.stubber.add_response("describe_recovery_point", described(child["resources"][0]))
    function.stubber.add_response("describe_backup_vault", {"BackupVaultName": VAULT})
    function.stubber.add_response("update_recovery_point_lifecycle", {})
    assert function(child)["lifecycle"] == {"DeleteAfterDays": 8}


def test_the_sweep_skips_continuous_nested_and_lag_points(load_function):
    function = load_function(clock=NOW)
    rp = f"arn:aws:backup:us-east-1:{MAIN}:recovery-point:"
    points = [
        described(rp + "continuous:db-abc-1234", ResourceType="RDS"),
        described(rp + "amzn-s3-demo-bucket-5ec207d0", ResourceType="S3"),
        described(rp + "nested", ParentRecoveryPointArn=rp + "parent"),
        described(rp + "in-lag", VaultType="LOGICALLY_AIR_GAPPED_BACKUP_VAULT"),
        described(rp + "temporary", Lifecycle={"DeleteAfterDays": 35, "DeleteAfterEvent": "DELETE_AFTER_COPY"}),
        described(rp + "parent", IsParent=True),
        described(rp + "amzn-s3-demo-bucket-20260105214000-5ec207d0", ResourceType="S3"),
    ]
    actions = function.module.sweep_actions(points, {}, function.place, NOW)
    assert [a.arguments["RecoveryPointArn"] for a in actions] == [
        rp + "parent",
        rp + "amzn-s3-demo-bucket-20260105214000-5ec207d0",
    ]
    # A nested point whose own copy completed is shortened like any other.
    shorten = function.module.sweep_actions(points[2:3], {rp + "nested": ["COMPLETED"]}, function.place, NOW)
    assert [a.name for a in shorten] == ["shorten_retention"]


def test_an_s3_continuous_point_is_never_shortened(load_function):
    module = load_function().module
    point = described("arn:aws:backup:us-east-1:1:recovery-point:amzn-s3-demo-bucket-5ec207d0", ResourceType="S3")
    assert module.new_lifecycle(point, NOW, 7, None) == (None, "continuous backup")
