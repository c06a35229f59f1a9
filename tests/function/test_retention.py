"""The retention rules (README: The function, retention) as pure functions: worked examples and
properties that hold for any recovery point."""

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

UTC = datetime.UTC
NOW = datetime.datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
ARN = "arn:aws:backup:us-east-1:000022224444:recovery-point:abc"


@pytest.fixture(scope="module")
def function(request):
    import importlib.util

    from lambda_support import SOURCE

    spec = importlib.util.spec_from_file_location("index_retention", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def point(created, lifecycle=None, storage="WARM", status="COMPLETED", arn=ARN):
    value = {"RecoveryPointArn": arn, "CreationDate": created, "StorageClass": storage, "Status": status}
    if lifecycle is not None:
        value["Lifecycle"] = lifecycle
    return value


def days_ago(days, hour=1):
    return (NOW - datetime.timedelta(days=days)).replace(hour=hour)


def test_created_today_with_35_days_ends_at_8(function):
    lifecycle, _ = function.new_lifecycle(point(days_ago(0), {"DeleteAfterDays": 35}), NOW, 7, None)
    assert lifecycle == {"DeleteAfterDays": 8}


def test_created_20_days_ago_ends_at_22(function):
    lifecycle, _ = function.new_lifecycle(point(days_ago(20), {"DeleteAfterDays": 35}), NOW, 7, None)
    assert lifecycle == {"DeleteAfterDays": 22}


def test_already_past_makes_no_update(function):
    lifecycle, reason = function.new_lifecycle(point(days_ago(0), {"DeleteAfterDays": 5}), NOW, 7, None)
    assert lifecycle is None and "never lengthen" in reason


def test_equal_result_makes_no_update(function):
    assert function.new_lifecycle(point(days_ago(0), {"DeleteAfterDays": 8}), NOW, 7, None)[0] is None


def test_no_retention_set_is_shortened(function):
    for lifecycle in (None, {}, {"DeleteAfterDays": -1}):
        assert function.new_lifecycle(point(days_ago(1), lifecycle), NOW, 7, None)[0] == {"DeleteAfterDays": 8}


def test_utc_whole_days_count_the_creation_day_as_day_1(function):
    # Created 23:59 UTC yesterday: it is on its second day, so age 2.
    created = (NOW - datetime.timedelta(days=1)).replace(hour=23, minute=59)
    assert function.whole_days_old(created, NOW) == 2
    # A non-UTC creation time is converted first.
    tokyo = datetime.timezone(datetime.timedelta(hours=9))
    assert function.whole_days_old(NOW.astimezone(tokyo), NOW) == 1


def test_future_cold_transition_is_cancelled(function):
    lifecycle, _ = function.new_lifecycle(
        point(
            days_ago(0),
            {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 365, "OptInToArchiveForSupportedResources": True},
        ),
        NOW,
        7,
        None,
    )
    assert lifecycle == {"DeleteAfterDays": 8}


def test_cold_backup_keeps_90_days_and_its_cold_setting(function):
    lifecycle, _ = function.new_lifecycle(
        point(
            days_ago(40),
            {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 365, "OptInToArchiveForSupportedResources": True},
            storage="COLD",
        ),
        NOW,
        7,
        None,
    )
    assert lifecycle == {
        "MoveToColdStorageAfterDays": 30,
        "DeleteAfterDays": 121,
        "OptInToArchiveForSupportedResources": True,
    }


def test_warm_backup_going_cold_in_5_days_is_cancelled_not_kept_96_days(function):
    # Issue 10: a plan's 5-day transition on a WARM backup is cancelled (8, not 96).
    lifecycle, _ = function.new_lifecycle(
        point(days_ago(0), {"MoveToColdStorageAfterDays": 5, "DeleteAfterDays": 200}), NOW, 7, None
    )
    assert lifecycle == {"DeleteAfterDays": 8}


def test_transition_due_within_the_margin_is_kept_with_its_90_days(function):
    # Created 4 days ago at 01:00, cold after 5 days: due in under a day -> may be under way.
    lifecycle, _ = function.new_lifecycle(
        point(days_ago(4), {"MoveToColdStorageAfterDays": 5, "DeleteAfterDays": 200}), NOW, 7, None
    )
    assert lifecycle == {"MoveToColdStorageAfterDays": 5, "DeleteAfterDays": 96}


@pytest.mark.parametrize("seconds_after_margin,kept", [(0, True), (1, False)])
def test_the_margin_is_two_days_to_the_second(function, seconds_after_margin, kept):
    due = NOW + datetime.timedelta(days=2, seconds=seconds_after_margin)
    created = due - datetime.timedelta(days=30)
    lifecycle, _ = function.new_lifecycle(
        point(created, {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 365}), NOW, 7, None
    )
    assert ("MoveToColdStorageAfterDays" in lifecycle) is kept


@pytest.mark.parametrize("days_past_due,kept", [(1, True), (3, False)])
def test_past_due_and_still_warm_keeps_the_transition_only_within_the_margin(function, days_past_due, kept):
    """Just past due, AWS's run may not have moved it yet; long past due and still WARM, it never
    will (a type without cold storage: RDS with cold=5 aged 10 days would otherwise get 96 days)."""
    lifecycle, _ = function.new_lifecycle(
        point(days_ago(5 + days_past_due, 0), {"MoveToColdStorageAfterDays": 5, "DeleteAfterDays": 200}), NOW, 7, None
    )
    if kept:
        assert lifecycle == {"MoveToColdStorageAfterDays": 5, "DeleteAfterDays": 96}
    else:  # cancelled: its age (9 whole days) + 1
        assert lifecycle == {"DeleteAfterDays": 10}


def test_a_point_aws_deletes_after_its_copy_is_left_alone(function):
    lifecycle, reason = function.new_lifecycle(
        point(days_ago(0), {"DeleteAfterDays": 35, "DeleteAfterEvent": "DELETE_AFTER_COPY"}), NOW, 7, None
    )
    assert lifecycle is None and "DELETE_AFTER_COPY" in reason


def test_vault_lock_minimum_is_respected(function):
    lifecycle, _ = function.new_lifecycle(point(days_ago(0), {"DeleteAfterDays": 35}), NOW, 7, 21)
    assert lifecycle == {"DeleteAfterDays": 22}


@pytest.mark.parametrize("storage,status", [("DELETED", "COMPLETED"), ("WARM", "DELETING"), ("WARM", "EXPIRED")])
def test_deleted_points_are_never_touched(function, storage, status):
    lifecycle, reason = function.new_lifecycle(
        point(days_ago(0), {"DeleteAfterDays": 35}, storage, status), NOW, 7, None
    )
    assert lifecycle is None and "deleted" in reason


def test_continuous_points_are_skipped(function):
    arn = "arn:aws:backup:us-east-1:000022224444:recovery-point:continuous:db-abc-1234"
    lifecycle, reason = function.new_lifecycle(point(days_ago(0), {"DeleteAfterDays": 35}, arn=arn), NOW, 7, None)
    assert lifecycle is None and reason == "continuous backup"


lifecycles = st.fixed_dictionaries(
    {},
    optional={
        "DeleteAfterDays": st.one_of(st.just(-1), st.integers(1, 36500)),
        "MoveToColdStorageAfterDays": st.one_of(st.just(-1), st.integers(0, 400)),
        "OptInToArchiveForSupportedResources": st.booleans(),
        "DeleteAfterEvent": st.sampled_from(["DELETE_AFTER_COPY"]),
    },
)


@settings(max_examples=600, deadline=None)
@given(
    age=st.integers(0, 3000),
    lifecycle=st.one_of(st.none(), lifecycles),
    storage=st.sampled_from(["WARM", "COLD", "DELETED"]),
    status=st.sampled_from(["COMPLETED", "AVAILABLE", "PARTIAL", "DELETING", "EXPIRED"]),
    new_days=st.integers(1, 400),
    lock=st.one_of(st.none(), st.integers(1, 400)),
    hour=st.integers(0, 23),
)
def test_properties_for_any_recovery_point(function, age, lifecycle, storage, status, new_days, lock, hour):
    current = lifecycle or {}
    created = days_ago(age, hour)
    result, reason = function.new_lifecycle(point(created, lifecycle, storage, status), NOW, new_days, lock)
    if storage == "DELETED" or status in ("DELETING", "EXPIRED") or current.get("DeleteAfterEvent"):
        assert result is None
        return
    cold = current.get("MoveToColdStorageAfterDays", -1)
    # The rule (README, retention): keep the transition only if cold, or due within 2 days either side.
    keep = cold >= 0 and (
        storage == "COLD" or abs(created + datetime.timedelta(days=cold) - NOW) <= datetime.timedelta(days=2)
    )
    whole_days = (NOW.date() - created.date()).days + 1
    needed = max(whole_days, new_days, 1, lock or 0, cold + 90 if keep else 0) + 1
    if 0 <= current.get("DeleteAfterDays", -1) <= needed or needed > 36500:
        assert result is None  # never lengthened, never above AWS's maximum
        return
    expected = {"DeleteAfterDays": needed}
    if keep:
        expected["MoveToColdStorageAfterDays"] = cold
        if "OptInToArchiveForSupportedResources" in current:
            expected["OptInToArchiveForSupportedResources"] = current["OptInToArchiveForSupportedResources"]
    # Never longer than needed: exactly the rule's value.
    assert result == expected
    delete = result["DeleteAfterDays"]
    # Never shorter than any AWS minimum or than NewDeleteAfterDays + 1.
    assert delete > whole_days and delete > new_days and delete > (lock or 0)
    assert 1 <= delete <= 36500
    if "MoveToColdStorageAfterDays" in result:
        assert delete >= result["MoveToColdStorageAfterDays"] + 90
    # Never lengthened.
    if current.get("DeleteAfterDays", -1) >= 0:
        assert delete < current["DeleteAfterDays"]
    # A cold backup keeps its cold setting (AWS: it cannot change once cold).
    if storage == "COLD" and cold >= 0:
        assert result["MoveToColdStorageAfterDays"] == cold
