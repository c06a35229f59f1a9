"""The sandbox: a local AWS organisation on moto with the template deployed.

    from backup_events_aws.sandbox import Organization

    with Organization.minimum() as org:
        ...

`Sandbox` (sandbox.py) is moto in-process with every extension below, installed in order on
entry and removed in reverse on exit (patches.py records each change); `Organization`
(organization.py) deploys the template on one and observes it. No module holds state: each
extension is an object the Sandbox owns.

Reading order: one event, from a backup job to the function's log line, in the files' order.

1. sandbox.py: what is installed, in which order, and who is given what (the clock, the gate's
   `decide`, the bridge as AWS Backup's event sink).
2. backup/service.py: a job runs on the clock and completes (`_run_job`, `_complete_backup`); its
   state change (shaped by backup/events.py) is emitted (`_emit_job`) to the sink: the Sandbox's
   `Bridge.deliver`.
3. bridge.py: the event on the account's default bus (`deliver`, `_route`), matched by the
   template's rules (`dispatch_rule`), sent to a target (`_send_to_target`, `_to_lambda`); each
   permission is the gate's decision (authorization.py, `Gate.decide`).
4. lambda_runtime.py: the asynchronous invocation is queued and run (`invoke_async`, `_poll`,
   `_run`): the deployed `index.py` with the function's role's credentials.
5. backup/urls.py, backup/responses.py: the function's StartCopyJob reaches moto and passes the
   one gate (`_authenticate_and_authorize_normal_action`: the Gate's authorisation, then
   `BackupService.admit`, faults and request rates), then backup/models.py
   (`SandboxBackupBackend.start_copy_job`), whose copy job goes round 2-4 again.
6. lambda_runtime.py: the invocation's log records are written to its log group
   (`_write_to_log_group`), where cloudwatch.py reads metrics from them.

Other parts: `backup` (the rest of AWS Backup: copy_rules, vaults, account_settings), `clock`
(simulated time), `cloudformation` (resource types moto skips, refusals), `moto_fixes` (moto
differences fixed while installed), `lambda_api` (Invoke without Docker), `stacksets`, `sns`,
`destinations`, `policies` and `iam_validation` (policy evaluation and grammar), `serve` (the
sandbox as a local endpoint), `demo`, `scale`.

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

_EXPORTS = MappingProxyType(
    {
        "Bridge": "bridge",
        "Delivery": "bridge",
        "Faults": "bridge",
        "Clock": "clock",
        "Layout": "organization",
        "Organization": "organization",
        "StackInstance": "organization",
        "minimum_layout": "organization",
        "typical_layout": "organization",
        "Sandbox": "sandbox",
    }
)

__all__ = tuple(sorted(_EXPORTS))


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
