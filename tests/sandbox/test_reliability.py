"""Reliability: a burst across the typical organisation under throttling, lost and duplicated events.

2,000 backups in 3 resource accounts x 2 regions; 20% of all AWS Backup calls throttled, 1% of
events lost, 5% delivered twice. After two days (so the daily catch-up sweep runs), every original
must be fully processed (copy 1, copy 2, shortened) or accounted for in an error queue; none may
be shortened before its copy 1 completed, and no copy may be made twice.
"""

from __future__ import annotations

import pytest

from backup_events_aws.sandbox import Faults, Organization
from backup_events_aws.sandbox.scale import run_burst

BACKUPS = 1000  # across 6 instances: enough for the 1% lost and 5% duplicated to happen many times
DAY = 86400


@pytest.mark.slow
def test_burst_under_throttling_lost_and_duplicate_events_loses_nothing(progress):
    faults = Faults(lose_fraction=0.01, duplicate_fraction=0.05)
    with Organization.typical(faults=faults, seed=7) as org:
        result = run_burst(org, BACKUPS, throttle_fraction=0.2, run_seconds=2 * DAY + 6 * 3600, progress=progress)
        outcomes = [d.outcome for d in org.deliveries()]
    print("\nreliability:", ", ".join(result.lines()))
    assert result.originals == BACKUPS
    # The faults really happened (else this test proves nothing).
    assert outcomes.count("lost") > 0.005 * result.events and outcomes.count("duplicated") > 0.03 * result.events
    assert result.aws_calls > result.invocations  # throttled calls were retried
    assert result.sweep_copies + result.sweep_retention_checks > 0  # the sweep repaired lost events
    # The promises.
    assert result.shortened_early == 0
    assert result.duplicate_copies == 0
    assert result.lost == 0, result.unfinished[:5]
    assert result.fully_processed + result.in_error_queue == BACKUPS
    assert result.fully_processed == BACKUPS  # nothing here fails for good: retries absorb it all
    assert result.copies1 == result.copies2 == result.shortened == BACKUPS
