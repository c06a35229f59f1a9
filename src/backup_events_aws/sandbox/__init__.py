"""The sandbox: a local AWS organisation on moto with the template deployed.

    from backup_events_aws.sandbox import Organization

    with Organization.minimum() as org:
        ...

Parts: `clock` (simulated time), `backup` (AWS Backup emulation), `cloudformation`
(resource types moto skips), `bridge` (EventBridge delivery), `lambda_runtime`
(asynchronous Lambda running the deployed code), `organization` (all of it together).

Its parts load on first use (PEP 562), so `backup-events` starts without importing moto for
commands that don't need it; without moto installed, importing the package says so at once.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import MappingProxyType
from typing import Any

if importlib.util.find_spec("moto") is None:  # the sandbox commands then explain (cli.add_unavailable)
    raise ModuleNotFoundError("No module named 'moto'", name="moto")

_EXPORTS = MappingProxyType({"Bridge": "bridge", "Delivery": "bridge", "Faults": "bridge", "Clock": "clock",
            "Layout": "organization", "Organization": "organization", "StackInstance": "organization",
            "minimum_layout": "organization", "typical_layout": "organization",
                             "Sandbox": "sandbox"})

__all__ = tuple(sorted(_EXPORTS))


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
