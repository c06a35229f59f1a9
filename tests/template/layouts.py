"""Layouts of README: Accounts, regions and stack instances and the template rendered once per stack instance.

Each (account, region, parameters) is rendered by cloud-radar once per test run
(functools.lru_cache) and handed out as a deep copy, so tests may not alter
one another's view.
"""

from __future__ import annotations

import copy
import functools
import json

from backup_events_aws import template

MAIN = "000022224444"
BACKUP = "999977775555"
ORG = "o-a1b2c3d4e5"
VAULT = "BackupEvents-Sample"

# The same parameter values go to every stack instance.
PARAMETERS = {
    "OrgId": ORG,
    "BackupAccountId": BACKUP,
    "BackupRegion": "us-west-2",
    "BackupRegionAlternate": "us-east-1",
}

MINIMUM_LAYOUT = [(MAIN, "us-east-1"), (BACKUP, "us-east-1"), (BACKUP, "us-west-2")]
RESOURCE_ACCOUNTS = [MAIN, "000033336666", "000044448888"]
TYPICAL_LAYOUT = [(account, region) for account in RESOURCE_ACCOUNTS for region in ("us-east-1", "us-west-1")] + [
    (BACKUP, region) for region in ("us-east-1", "us-west-1", "us-west-2")
]
ALL_INSTANCES = sorted(set(MINIMUM_LAYOUT + TYPICAL_LAYOUT))


def kind(account: str) -> str:
    """'R' (resource account) or 'B' (backup account)."""
    return "B" if account == BACKUP else "R"


def instance_id(instance) -> str:
    account, region = instance
    return f"{kind(account)}-{account}-{region}"


@functools.cache
def _rendered(account: str, region: str, frozen_parameters: str) -> dict:
    return template.render_template(account, region, json.loads(frozen_parameters))


def rendered(account: str, region: str, **overrides) -> dict:
    """The rendered template (Resources, Outputs) for one instance; overrides change parameters."""
    parameters = dict(PARAMETERS, **overrides)
    return copy.deepcopy(_rendered(account, region, json.dumps(parameters, sort_keys=True)))


def vault_arn(account: str, region: str, name: str = VAULT) -> str:
    return f"arn:aws:backup:{region}:{account}:backup-vault:{name}"


def present(items):
    """A rendered list without the "" that cloud-radar leaves for AWS::NoValue."""
    return [item for item in items if item != ""]
