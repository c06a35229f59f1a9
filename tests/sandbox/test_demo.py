"""`backup-events demo`: the quick start as a new user sees it."""

import json

import pytest

from backup_events_aws import cli, lambda_function
from backup_events_aws.sandbox import demo

# The quick start runs once for the tests that read it: on pytest-xdist workers (make test), they
# run on the same one (--dist loadgroup).
QUICKSTART = pytest.mark.xdist_group("test_demo quickstart")


@pytest.fixture(scope="module")
def quickstart():
    return demo.quick_start()


@QUICKSTART
def test_quickstart_ends_with_copies_in_both_regions_and_the_original_at_8_days(quickstart):
    rows = {(r["account"], r["region"], r["source"] == "original"): r for r in quickstart["recovery_points"]}
    assert rows[("000022224444", "us-east-1", True)]["delete_after_days"] == 8
    assert rows[("999977775555", "us-east-1", False)]["delete_after_days"] == 35
    assert rows[("999977775555", "us-west-2", False)]["delete_after_days"] == 35
    assert len(quickstart["recovery_points"]) == 3
    assert quickstart["error_queues"] == {}


@QUICKSTART
def test_quickstart_tells_each_step_where_it_happened(quickstart):
    steps = [(s["account"], s["region"], s["text"]) for s in quickstart["steps"]]
    texts = [text for _, _, text in steps]
    # In order: backup completes, copy 1 starts, copy 1 completes, then the event
    # is forwarded and copy 2 starts in the backup account; the original is
    # shortened only after copy 1 completed.
    order = [
        "AWS Backup: backup job COMPLETED",
        "function: StartCopyJob",
        "AWS Backup: copy job COMPLETED",
        "EventBridge: event forwarded",
        "function: StartCopyJob",
    ]
    position = 0
    for wanted in order:
        position = next(i for i in range(position, len(texts)) if texts[i].startswith(wanted)) + 1
    first_completed_copy = next(i for i, t in enumerate(texts) if t.startswith("AWS Backup: copy job COMPLETED"))
    assert texts.index(next(t for t in texts if "UpdateRecoveryPointLifecycle" in t)) > first_completed_copy
    shorten = next(s for s in steps if "UpdateRecoveryPointLifecycle" in s[2])
    assert shorten[:2] == ("000022224444", "us-east-1") and shorten[2].endswith("35 -> 8")
    copy_2 = [s for s in steps if s[2].startswith("function: StartCopyJob")][1]
    assert copy_2[:2] == ("999977775555", "us-east-1") and "us-west-2" in copy_2[2]


def test_failures_scenario_records_each_failure_and_shortens_nothing():
    summary = demo.quick_start(scenario="failures")
    [messages] = summary["error_queues"].values()
    assert any("Access Denied trying to call AWS Backup service" in m for m in messages)
    # The AWS managed key: refused before any copy job, in the function's words, with the fix.
    assert any(lambda_function.AWS_MANAGED_KEY.format("EBS") in m for m in messages)
    texts = [step["text"] for step in summary["steps"]]
    assert "function: ERROR CopyRefused, copy 1 not started: " + lambda_function.AWS_MANAGED_KEY.format("EBS") in texts
    # Lambda's record says how many times it ran the function: 1 + 2 retries.
    assert any(m.startswith("function failed 3 times (RetriesExhausted)") for m in messages)
    assert {r["delete_after_days"] for r in summary["recovery_points"]} == {35}
    texts = [step["text"] for step in summary["steps"]]
    assert "Lambda: retries exhausted, the event recorded in the error queue" in texts


def test_cli_demo_prints_the_story_and_json(capsys):
    assert cli.main(["demo"]) == 0
    text = capsys.readouterr().out
    assert "The original: DeleteAfterDays 35 -> 8, now that the copies exist." in text
    assert "Error queues: empty" in text
    assert cli.main(["demo", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["layout"] == "minimum" and len(summary["recovery_points"]) == 3


def test_explain_error_reads_the_invoke_count_from_the_record():
    record = {
        "requestContext": {"condition": "EventAgeExceeded", "approximateInvokeCount": 1},
        "responsePayload": {"errorMessage": "throttled"},
    }
    assert demo.explain_error({"body": record, "attributes": {}}) == (
        "function failed 1 times (EventAgeExceeded): throttled"
    )


def test_typical_layout_summary_counts_every_original(capsys):
    assert cli.main(["demo", "--layout", "typical"]) == 0
    assert "All 6 originals: DeleteAfterDays 35 -> 8" in capsys.readouterr().out
