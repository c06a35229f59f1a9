"""The whole flow on the deployed template: backup -> copy 1 -> copy 2, original shortened."""

from __future__ import annotations

import pytest

from backup_events_aws.sandbox import Faults, Organization

EAST, WEST1, WEST2 = "us-east-1", "us-west-1", "us-west-2"


def by_location(points: list[dict]) -> dict[tuple[str, str], list[dict]]:
    grouped: dict[tuple[str, str], list[dict]] = {}
    for point in points:
        grouped.setdefault((point["Account"], point["Region"]), []).append(point)
    return grouped


@pytest.fixture
def minimum():
    with Organization.minimum() as org:
        yield org


def test_minimum_layout_deploys_the_expected_instances(minimum):
    instances = [(i.account, i.region) for i in minimum.layout.instances()]
    assert instances == [("999977775555", EAST), ("999977775555", WEST2), ("000022224444", EAST)]
    backup_resources = minimum.stack_resources("999977775555", EAST)
    main_resources = minimum.stack_resources("000022224444", EAST)
    for resources in (backup_resources, main_resources):
        types = {r["type"] for r in resources.values()}
        assert {"AWS::Backup::BackupVault", "AWS::SQS::QueuePolicy", "AWS::Lambda::EventInvokeConfig"} <= types
    assert "EventBusArn" in minimum.stack_outputs("999977775555", EAST)
    assert "EventBusArn" not in minimum.stack_outputs("000022224444", EAST)


@pytest.mark.parametrize("resource_type", ["EFS", "RDS"])
def test_backup_ends_in_backup_account_and_region_and_original_is_shortened(minimum, resource_type):
    main, backup = minimum.main_account, minimum.backup_account
    resource = minimum.create_resource(resource_type, main, EAST)
    minimum.start_backup(main, EAST, resource, delete_after_days=35)
    minimum.run_until_idle()

    points = by_location(minimum.recovery_points())
    [original] = points[(main, EAST)]
    [copy1] = points[(backup, EAST)]
    [copy2] = points[(backup, WEST2)]
    assert original["Lifecycle"]["DeleteAfterDays"] == 8  # created today: max(1, 7) + 1
    assert copy1["Lifecycle"]["DeleteAfterDays"] == 35
    assert copy2["Lifecycle"]["DeleteAfterDays"] == 35
    for instance in minimum.layout.instances():
        assert minimum.error_messages(instance.account, instance.region) == []
    # The backup account never shortens retention (README: The function).
    calls = [
        log["message"].get("call") for log in minimum.function_logs(account=backup) if isinstance(log["message"], dict)
    ]
    assert "UpdateRecoveryPointLifecycle" not in calls and "StartCopyJob" in calls


def test_scheduled_backup_is_covered_too(minimum):
    main = minimum.main_account
    resource = minimum.create_resource("EFS", main, EAST)
    minimum.start_backup(main, EAST, resource, scheduled=True)
    minimum.run_until_idle()
    assert len(minimum.recovery_points(account=minimum.backup_account)) == 2


def test_a_lost_event_leaves_the_copy_undone_and_the_trace_says_so():
    with Organization.minimum(faults=Faults(lose_fraction=1.0)) as org:
        resource = org.create_resource("EFS", org.main_account, EAST)
        org.start_backup(org.main_account, EAST, resource)
        org.run_until_idle()
        assert org.recovery_points(account=org.backup_account) == []
        assert {d.outcome for d in org.deliveries()} == {"lost"}


def test_typical_layout_copies_from_every_account_and_region():
    with Organization.typical() as org:
        instances = {(i.account, i.region) for i in org.layout.instances()}
        assert (org.backup_account, WEST2) in instances and (org.backup_account, WEST1) in instances
        for account in org.layout.resource_accounts:
            for region in (EAST, WEST1):
                org.start_backup(account, region, org.create_resource("EFS", account, region))
        org.run_until_idle()
        points = by_location(org.recovery_points())
        # copy 1 of each of the 6 backups in the backup account, same region
        assert len(points[(org.backup_account, EAST)]) == 3
        assert len(points[(org.backup_account, WEST1)]) == 3
        # copy 2 of all of them in the backup region
        assert len(points[(org.backup_account, WEST2)]) == 6
        for account in org.layout.resource_accounts:
            for region in (EAST, WEST1):
                [original] = points[(account, region)]
                assert original["Lifecycle"]["DeleteAfterDays"] == 8


def test_the_daily_sweep_fires_and_catches_up_a_lost_backup_event():
    with Organization.minimum() as org:
        resource = org.create_resource("EFS", org.main_account, EAST)
        org.bridge.faults = Faults(lose_fraction=1.0)  # every Backup event of this backup is lost
        org.start_backup(org.main_account, EAST, resource)
        org.run_until_idle()
        assert org.recovery_points(account=org.backup_account) == []
        org.bridge.faults = Faults()
        org.advance(86400 + 3600)  # the sweep runs once a day
        swept = [d for d in org.deliveries() if d.outcome == "delivered" and d.rule_arn and "Sweep" in d.rule_arn]
        assert swept, "the scheduled rule never fired"
        org.run_until_idle()
        assert len(org.recovery_points(account=org.backup_account, region=EAST)) == 1


def test_observing_spends_no_request_rate_and_the_layout_is_the_one_organisation_registry(minimum):
    main, backup = minimum.main_account, minimum.backup_account
    minimum.start_backup(main, EAST, minimum.create_resource("EFS", main, EAST))
    minimum.run_until_idle()
    minimum.backup_service.inject_throttling(1.0)  # every AWS Backup API call would be throttled
    try:
        points = by_location(minimum.recovery_points())
        assert {location: len(found) for location, found in points.items()} == {
            (main, EAST): 1,
            (backup, EAST): 1,
            (backup, WEST2): 1,
        }
        assert minimum.recovery_points(account=main)[0]["Lifecycle"] == {"DeleteAfterDays": 8}
    finally:
        minimum.backup_service.inject_throttling(0.0)
    # AWS Backup asks the Organization which organisation an account belongs to
    assert minimum.backup_service.organization_of(backup) == minimum.layout.org_id
    assert minimum.backup_service.organization_of("123456789012") is None
