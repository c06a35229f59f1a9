"""The sandbox's AWS Backup package keeps no module-level state, and a BackupService leaves nothing
of moto patched once uninstalled (docs/SANDBOX-SHAPE-PLAN.md §1)."""

from __future__ import annotations

import ast
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.base_backend import BackendDict

from backup_events_aws.sandbox import backup as sandbox_backup
from backup_events_aws.sandbox.backup import BackupService
from backup_events_aws.sandbox.clock import Clock

PACKAGE = Path(sandbox_backup.__file__).parent
# Calls that build immutable values (what they wrap is reachable only through them), and
# dataclasses' `field` (its default is made per instance); any other call at module or class
# level builds an object that could be changed, i.e. state.
IMMUTABLE_BUILDERS = {"frozenset", "tuple", "MappingProxyType", "timedelta", "TypeVar", "field"}
MUTABLE_LITERALS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)


def _called_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _builds_mutable(value: ast.AST) -> bool:
    if isinstance(value, ast.Lambda):
        return False  # a function: its body runs later, per call
    if isinstance(value, ast.Call):
        return _called_name(value) not in IMMUTABLE_BUILDERS
    if isinstance(value, MUTABLE_LITERALS):
        return True
    return any(_builds_mutable(child) for child in ast.iter_child_nodes(value))


def mutable_state(source: str) -> list[str]:
    """Module- and class-level assignments of mutable values, and `global` statements."""
    found: list[str] = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            found.append(f"line {node.lineno}: {type(node).__name__.lower()} {', '.join(node.names)}")
    bodies = [tree.body] + [node.body for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    for body in bodies:
        for statement in body:
            value = statement.value if isinstance(statement, (ast.Assign, ast.AnnAssign)) else None
            if value is not None and _builds_mutable(value):
                found.append(f"line {statement.lineno}: {ast.unparse(statement)[:80]}")
    return sorted(found, key=lambda line: int(line.split()[1].rstrip(":")))


def test_the_scan_finds_module_state():
    assert mutable_state("x = {}\ny: list[int] = []\nz = object()\nclass A:\n    seen = set()\n") == [
        "line 1: x = {}",
        "line 2: y: list[int] = []",
        "line 3: z = object()",
        "line 5: seen = set()",
    ]
    assert mutable_state("def f():\n    global n\n    n = 1\n") == ["line 2: global n"]
    assert mutable_state("A = frozenset({1})\nB = MappingProxyType({'a': 1})\nC = (1, 2)\nD = 'x'\n") == []
    assert mutable_state("E = (1, [])\nF = MappingProxyType({}) if x else {}\n") == [
        "line 1: E = (1, [])",
        "line 2: F = MappingProxyType({}) if x else {}",
    ]


@pytest.mark.parametrize("module", sorted(PACKAGE.glob("*.py")), ids=lambda path: path.name)
def test_the_backup_package_has_no_module_level_mutable_state(module):
    assert mutable_state(module.read_text()) == []


def moto_patch_points():
    """Everything of moto that a BackupService replaces while installed."""
    import moto.backup
    import moto.backup.models
    import moto.backup.responses
    import moto.backup.urls
    from moto.backends import get_backend
    from moto.kms.models import KmsBackend

    return {
        "moto.backup.backup_backends": moto.backup.backup_backends,
        "moto.backup.models.backup_backends": moto.backup.models.backup_backends,
        "moto.backup.responses.backup_backends": moto.backup.responses.backup_backends,
        "moto.backends.get_backend('backup')": get_backend("backup"),
        "KmsBackend.create_alias": KmsBackend.create_alias,
        "moto.backup.urls.url_paths": dict(moto.backup.urls.url_paths),
    }


def test_uninstall_leaves_nothing_of_moto_patched():
    untouched = moto_patch_points()
    service = BackupService(Clock()).install()
    assert service.install() is service  # idempotent
    installed = moto_patch_points()
    changed = {name for name in untouched if installed[name] is not untouched[name]}
    assert changed >= {
        "moto.backup.backup_backends",
        "moto.backup.models.backup_backends",
        "moto.backup.responses.backup_backends",
        "moto.backends.get_backend('backup')",
        "KmsBackend.create_alias",
    }
    with mock_aws():
        boto3.client("backup", region_name="us-east-1").list_copy_jobs()  # the service's backends exist now
    service.uninstall()
    service.uninstall()  # idempotent
    assert moto_patch_points() == untouched
    assert service.backends not in BackendDict._instances  # moto's resets no longer reach it


def test_nested_services_unwind_in_order():
    untouched = moto_patch_points()
    outer = BackupService(Clock()).install()
    inner = BackupService(Clock()).install()
    assert sandbox_backup.installed_service() is inner
    inner.uninstall()
    assert sandbox_backup.installed_service() is outer
    outer.uninstall()
    assert moto_patch_points() == untouched
    with pytest.raises(RuntimeError, match="No BackupService is installed"):
        sandbox_backup.installed_service()


def test_requests_reach_the_service_only_while_it_is_installed():
    service = BackupService(Clock())
    with mock_aws():
        client = boto3.client("backup", region_name="us-east-1")
        service.install()
        try:
            client.create_backup_vault(BackupVaultName="Vault")
            assert client.list_backup_jobs()["BackupJobs"] == []  # an operation only the sandbox routes
            [backend] = service.existing_backends()
            assert "Vault" in backend.vaults and backend.service is service
        finally:
            service.uninstall()
        with pytest.raises(ClientError):  # stock moto has no backup jobs
            client.list_backup_jobs()
