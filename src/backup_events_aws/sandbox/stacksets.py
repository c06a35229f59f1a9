"""StackSet deployment targets as CloudFormation reads them: DeploymentTargets.AccountFilterType.

moto 5.2.5 ignores AccountFilterType, so "the backup account first, then the others" (two
CreateStackInstances operations, INTERSECTION then DIFFERENCE with the backup account) would deploy
every account in the first operation, in moto's order. This narrows the OU's accounts as
CloudFormation does (API_DeploymentTargets: NONE deploys to the OUs' accounts, INTERSECTION to the
listed accounts within them, DIFFERENCE to the OUs' accounts except the listed ones, UNION to both),
for as long as a `StackSetTargets` is installed.
"""

from __future__ import annotations

from typing import Any

from .patches import Patches


def filtered_accounts(ou_accounts: list[str], listed: list[str], filter_type: str | None) -> list[str]:
    """The accounts a service-managed DeploymentTargets selects, in the OUs' order."""
    kind = (filter_type or "NONE").upper()
    if kind == "INTERSECTION":
        return [a for a in ou_accounts if a in listed]
    if kind == "DIFFERENCE":
        return [a for a in ou_accounts if a not in listed]
    if kind == "UNION":
        return list(dict.fromkeys([*ou_accounts, *listed]))
    if kind == "NONE":
        return list(ou_accounts)
    raise ValueError(f"Unknown AccountFilterType {filter_type!r}")


class StackSetTargets:
    """Installs the AccountFilterType reading on moto's StackInstances, and removes it."""

    def __init__(self) -> None:
        self.patches = Patches()

    def install(self) -> StackSetTargets:
        from moto.cloudformation.models import StackInstances

        if not self.patches.active:
            self.patches.wrap(StackInstances, "create_instances", _create_instances_filtering_accounts)
        return self

    def uninstall(self) -> None:
        self.patches.undo()


def _create_instances_filtering_accounts(
    moto_create_instances: Any,
    instances: Any,
    accounts: list[str],
    regions: list[str],
    parameters: Any,
    deployment_targets: dict[str, Any],
    permission_model: str,
) -> list[dict[str, Any]]:
    targets = deployment_targets or {}
    if permission_model != "SERVICE_MANAGED" or not targets.get("AccountFilterType"):
        created: list[dict[str, Any]] = moto_create_instances(
            instances, accounts, regions, parameters, targets, permission_model
        )
        return created
    requested = targets.get("OrganizationalUnitIds", [])
    ous = requested + [ou.id for ou in instances.org_backend.ou if ou.parent_id in requested]
    ou_accounts = [a.id for ou in ous for a in instances.org_backend.accounts if a.parent_id == ou]
    chosen = filtered_accounts(ou_accounts, list(targets.get("Accounts", [])), targets["AccountFilterType"])
    # The chosen accounts go as explicit accounts: moto deploys those and skips existing instances.
    narrowed: list[dict[str, Any]] = moto_create_instances(instances, chosen, regions, parameters, {}, permission_model)
    return narrowed
