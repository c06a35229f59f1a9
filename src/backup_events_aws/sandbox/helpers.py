"""Small helpers the sandbox's modules share: ARN parts, event ids, envelope times."""

from __future__ import annotations

import datetime
import random
import uuid


def arn_parts(arn: str) -> tuple[str, str, str, str, str]:
    """(partition, service, region, account, resource) of an ARN; ValueError if it is none.
    The resource keeps its own colons and slashes (e.g. `backup-vault:Name`, `role/path/Name`)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"Not an ARN: {arn}")
    _, partition, service, region, account, resource = parts
    return partition, service, region, account, resource


def random_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from `rng`, so seeded runs repeat."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def envelope_time(moment: datetime.datetime) -> str:
    """An event envelope's `time`: UTC, to the second, no fraction (docs/AWS-BEHAVIOUR.md §1.2)."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
