"""Every rule's EventPattern against documented event shapes and their near misses.

Events come from tests/fixtures/events (AWS samples, and samples moved to the
minimum layout); near misses change one thing. Matching is moto's pure-Python
EventBridge matcher (docs/TESTING.md).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from layouts import BACKUP, MAIN, rendered, vault_arn
from moto.events.models import EventPattern

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"
OTHER = "000033336666"


def fixture(name):
    return copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text())["event"])


def patterns(account, region, **overrides):
    """{rule: (bus, pattern)} for the instance; the schedule rule has no pattern."""
    rules = {}
    for name, resource in rendered(account, region, **overrides)["Resources"].items():
        properties = resource["Properties"]
        if resource["Type"] == "AWS::Events::Rule" and "EventPattern" in properties:
            rules[name] = (properties.get("EventBusName", "default"), properties["EventPattern"])
    return rules


def matches(pattern, event):
    return EventPattern.load(json.dumps(pattern)).matches_event(event)


def matching(account, region, event, bus="default", **overrides):
    """The rules of this instance, on this bus, that the event matches."""
    return {
        name
        for name, (on, pattern) in patterns(account, region, **overrides).items()
        if on == bus and matches(pattern, event)
    }


def moved(event, account=MAIN, region="us-east-1", vault=None):
    """A documented sample moved to our layout: its account, region and (optionally) vault."""
    text = json.dumps(event).replace(event["account"], account).replace(event["region"], region)
    moved_event = json.loads(text)
    if vault:
        for key in ("backupVaultArn", "sourceBackupVaultArn"):
            if key in moved_event["detail"]:
                moved_event["detail"][key] = vault
    return moved_event


BUS = "CopyEventBus"  # B's custom bus (Ref renders as the logical ID)


# --- Resource account R: on its default bus ------------------------------------


@pytest.mark.parametrize(
    "name", ["backup_completed_efs_main", "backup_completed_ebs_main", "backup_completed_rds_main"]
)
def test_backup_completed_in_the_watched_vault_starts_copy_1(name):
    assert matching(MAIN, "us-east-1", fixture(name)) == {"BackupCompletedRule"}


@pytest.mark.parametrize("name", ["copy1_completed_efs_main", "copy1_completed_ebs_main", "copy1_completed_rds_main"])
def test_copy_1_completed_shortens_and_is_forwarded(name):
    assert matching(MAIN, "us-east-1", fixture(name)) == {"CopyCompletedRule"}


def test_copy_1_failed_goes_to_the_error_queue():
    assert matching(MAIN, "us-east-1", fixture("copy1_failed_main")) == {"JobFailedRule"}


@pytest.mark.parametrize(
    "name",
    [
        "backup_job_failed_documented",
        "backup_job_aborted_documented",
        "backup_job_expired_documented",
        "copy_job_failed_documented",
    ],
)
def test_documented_failures_of_the_watched_vault_go_to_the_error_queue(name):
    event = moved(fixture(name), vault=vault_arn(MAIN, "us-east-1"))
    assert matching(MAIN, "us-east-1", event) == {"JobFailedRule"}
    partial = copy.deepcopy(event)
    partial["detail"]["state"] = "PARTIAL"
    assert matching(MAIN, "us-east-1", partial) == {"JobFailedRule"}


@pytest.mark.parametrize(
    "name",
    [
        "backup_job_running_documented",
        "backup_job_pending_documented",
        "backup_job_created_documented",
        "copy_job_running_documented",
        "copy_job_created_documented",
    ],
)
def test_jobs_in_progress_match_nothing(name):
    event = moved(fixture(name), vault=vault_arn(MAIN, "us-east-1"))
    assert matching(MAIN, "us-east-1", event) == set()
    assert matching(MAIN, "us-east-1", fixture("copy1_running_main")) == set()


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*_documented.json")), ids=lambda p: p.stem)
def test_documented_samples_as_published_match_no_rule_anywhere(path):
    event = fixture(path.stem)  # other account, other vaults
    for account, region in [(MAIN, "us-west-2"), (BACKUP, "us-west-2")]:
        for bus in ("default", BUS):
            assert matching(account, region, event, bus) == set()


def test_near_misses_of_backup_completed():
    event = fixture("backup_completed_efs_main")
    other_vault = copy.deepcopy(event)
    other_vault["detail"]["backupVaultArn"] = vault_arn(MAIN, "us-east-1", "Default")
    other_account = moved(event, account=OTHER)
    other_region = moved(event, region="us-west-1")
    running = copy.deepcopy(event)
    running["detail"]["state"] = "RUNNING"
    for miss in (other_vault, other_account, other_region, running):
        assert matching(MAIN, "us-east-1", miss) == set()
    # The same events where they belong do match.
    assert matching(OTHER, "us-east-1", other_account) == {"BackupCompletedRule"}
    assert matching(MAIN, "us-west-1", other_region) == {"BackupCompletedRule"}


def test_near_misses_of_copy_1_completed():
    event = fixture("copy1_completed_efs_main")
    to_other_account = copy.deepcopy(event)
    to_other_account["detail"]["destinationBackupVaultArn"] = vault_arn(OTHER, "us-east-1")
    to_other_vault = copy.deepcopy(event)
    to_other_vault["detail"]["destinationBackupVaultArn"] = vault_arn(BACKUP, "us-east-1", "Elsewhere")
    to_other_region = copy.deepcopy(event)  # a cross-region copy is not copy 1
    to_other_region["detail"]["destinationBackupVaultArn"] = vault_arn(BACKUP, "us-west-2")
    from_other_vault = copy.deepcopy(event)
    from_other_vault["detail"]["sourceBackupVaultArn"] = vault_arn(MAIN, "us-east-1", "Other")
    running = copy.deepcopy(event)
    running["detail"]["state"] = "RUNNING"
    for miss in (to_other_account, to_other_vault, to_other_region, from_other_vault, running):
        assert matching(MAIN, "us-east-1", miss) == set()
    assert matching(MAIN, "us-east-1", fixture("copy1_completed_efs_main_us_west_2")) == set()
    assert matching(MAIN, "us-west-2", fixture("copy1_completed_efs_main_us_west_2")) == {"CopyCompletedRule"}


def test_failures_of_other_vaults_match_nothing():
    event = fixture("copy1_failed_main")
    event["detail"]["sourceBackupVaultArn"] = vault_arn(MAIN, "us-east-1", "Other")
    assert matching(MAIN, "us-east-1", event) == set()
    completed = fixture("copy1_completed_efs_main")
    assert "JobFailedRule" not in matching(MAIN, "us-east-1", completed)


# --- Which backups are covered -----------------------------------------------------


def created_by_without_plan():
    """createdBy present but without backupPlanArn (docs/AWS-BEHAVIOUR.md §1.7: counts as on-demand)."""
    event = fixture("backup_completed_efs_main")
    event["detail"]["createdBy"] = {"backupPlanId": "x"}
    return event


@pytest.mark.parametrize(
    "cover, on_demand, on_demand_partial, scheduled",
    [
        ("all", True, True, True),
        ("on-demand", True, True, False),
        ("scheduled", False, False, True),
    ],
)
def test_backups_to_cover(cover, on_demand, on_demand_partial, scheduled):
    def covered(event):
        return "BackupCompletedRule" in matching(MAIN, "us-east-1", event, BackupsToCover=cover)

    assert covered(fixture("backup_completed_efs_main")) is on_demand  # no createdBy
    assert covered(created_by_without_plan()) is on_demand_partial
    assert covered(fixture("backup_completed_ebs_main")) is scheduled  # createdBy.backupPlanArn


def test_coverage_does_not_filter_copy_events():
    # Copies that the function starts are on-demand jobs, whatever the original was.
    for cover in ("on-demand", "scheduled"):
        assert matching(MAIN, "us-east-1", fixture("copy1_completed_ebs_main"), BackupsToCover=cover) == {
            "CopyCompletedRule"
        }


# --- Backup account B: its custom bus and its default bus -----------------------------


def test_forwarded_copy_1_starts_copy_2_in_the_backup_account():
    assert matching(BACKUP, "us-east-1", fixture("copy1_completed_efs_main"), BUS) == {"Copy2Rule"}
    assert matching(BACKUP, "us-west-2", fixture("copy1_completed_efs_main_us_west_2"), BUS) == {"Copy2Rule"}
    # Copy 1 made in another region concerns that region's stack only.
    assert matching(BACKUP, "us-west-2", fixture("copy1_completed_efs_main"), BUS) == set()
    # From any resource account of the organisation.
    from_other = moved(fixture("copy1_completed_rds_main"), account=OTHER)
    assert from_other["detail"]["sourceBackupVaultArn"] == vault_arn(OTHER, "us-east-1")
    assert matching(BACKUP, "us-east-1", from_other, BUS) == {"Copy2Rule"}


def test_near_misses_of_copy_2():
    event = fixture("copy1_completed_efs_main")
    not_completed = copy.deepcopy(event)
    not_completed["detail"]["state"] = "RUNNING"
    other_vault = copy.deepcopy(event)
    other_vault["detail"]["destinationBackupVaultArn"] = vault_arn(BACKUP, "us-east-1", "Elsewhere")
    not_backup = copy.deepcopy(event)
    not_backup["detail-type"] = "Backup Job State Change"
    forged = copy.deepcopy(event)
    forged["source"] = "com.example"  # what a customer's PutEvents would carry (aws.* is reserved)
    for miss in (not_completed, other_vault, not_backup, forged):
        assert matching(BACKUP, "us-east-1", miss, BUS) == set()
    # On B's default bus, copy 1 events trigger nothing.
    assert matching(BACKUP, "us-east-1", event) == set()


def test_backup_account_reports_failures_of_its_copy_2_jobs():
    copy2_failed = fixture("copy1_failed_main")
    copy2_failed["account"] = BACKUP
    copy2_failed["detail"]["sourceBackupVaultArn"] = vault_arn(BACKUP, "us-east-1")
    copy2_failed["detail"]["destinationBackupVaultArn"] = vault_arn(BACKUP, "us-west-2")
    assert matching(BACKUP, "us-east-1", copy2_failed) == {"JobFailedRule"}
    assert matching(BACKUP, "us-west-2", copy2_failed) == set()


def test_the_schedule_rule_has_no_pattern():
    for account in (MAIN, BACKUP):
        rule = rendered(account, "us-east-1")["Resources"]["SweepRule"]["Properties"]
        assert "EventPattern" not in rule and rule["ScheduleExpression"] == "rate(1 day)"
        assert rule.get("EventBusName", "default") == "default"
