"""The sandbox's wiring: every extension it installs is removed again, no module holds state;
serve's start-up errors."""

from __future__ import annotations

import ast
import importlib
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from backup_events_aws.cli import CliError
from backup_events_aws.sandbox import serve

SANDBOX_DIR = Path(serve.__file__).parent
# Modules whose module-level state another change removes (docs/SANDBOX-SHAPE-PLAN.md): sns.py's
# install moves onto its `Sns` object after the Publish change for KMS. Remove each name here when
# that lands. (The AWS Backup package, sandbox/backup/, has its own scan: test_backup_shape.py.)
PENDING_STATE: set[str] = set()
# Memos of pure functions over data the packages ship (botocore's Lambda model, the Service
# Authorization Reference) or over their arguments alone, returning immutable values (a string,
# a compiled pattern): the same answer in every Sandbox, so not state. Any other cached function
# is reported.
STATIC_MEMOS = {
    "cloudformation.py": {"_lambda_input_pattern"},
    "iam_validation.py": {"_sar", "_service_actions", "_service_condition_keys"},
    "organization.py": {"_as_json"},
    "policies.py": {"_wildcard_regex"},
}
# Calls that make immutable objects (or a process-wide logger, which logging itself registers).
IMMUTABLE_CALLS = {
    "frozenset",
    "tuple",
    "MappingProxyType",
    "compile",
    "TypeVar",
    "object",
    "getLogger",
    "timedelta",
    "Path",
}


def test_every_fix_is_undone_when_removed():
    import moto.backup.models as backup_models
    from moto.awslambda import urls as lambda_urls
    from moto.awslambda.models import LambdaBackend
    from moto.cloudformation import models, parsing, responses
    from moto.core import utils

    from backup_events_aws.sandbox.backup import BackupService
    from backup_events_aws.sandbox.clock import Clock
    from backup_events_aws.sandbox.lambda_api import ACCOUNT_SETTINGS_PATH, LambdaApi
    from backup_events_aws.sandbox.moto_fixes import MotoFixes

    def moto_state():
        return (
            backup_models.backup_backends,
            models.utcnow,
            responses.yaml_tag_constructor,
            models.yaml_tag_constructor,
            parsing.parse_and_update_resource,
            LambdaBackend.invoke,
            ACCOUNT_SETTINGS_PATH in lambda_urls.url_paths,
        )

    untouched = moto_state()
    assert untouched[1] is utils.utcnow and not untouched[-1]
    fixes, api = MotoFixes(Clock().now).install(), LambdaApi(runtime=None, concurrency_quota=len).install()
    backup = BackupService(Clock()).install()
    assert all(now != then for now, then in zip(moto_state(), untouched, strict=True))
    backup.uninstall()
    api.uninstall()
    fixes.uninstall()
    assert moto_state() == untouched


def test_a_busy_port_is_a_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = serve.Server(port=busy.getsockname()[1])
        with pytest.raises(CliError) as refused:
            server.start()
    assert "cannot listen on 127.0.0.1:" in refused.value.problem and "--port 0" in refused.value.fix


# ---------------------------------------------------------------------------- no module-level state


def module_state(source: str, static_memos: frozenset[str] = frozenset()) -> list[str]:
    """Module-level assignments of mutable objects (dict, list, set literals or comprehensions,
    instances made by a call), `global` statements and cached functions (but `static_memos`),
    as 'line: what'."""
    tree = ast.parse(source)
    found = [
        f"{node.lineno}: global {', '.join(node.names)}" for node in ast.walk(tree) if isinstance(node, ast.Global)
    ]
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name not in static_memos:
            decorators = [ast.unparse(decorator) for decorator in node.decorator_list]
            found += [f"{node.lineno}: @{d} {node.name}" for d in decorators if "cache" in d]
        value = getattr(node, "value", None) if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) else None
        if value is None:
            continue
        mutable = isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp))
        if isinstance(value, ast.Call):
            function = value.func
            name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            mutable = name not in IMMUTABLE_CALLS
        if mutable:
            found.append(f"{node.lineno}: {ast.unparse(node)[:60]}")
    return found


def test_the_scan_finds_module_state():
    stateful = "CACHE = {}\nA: list[int] = []\nb = set()\nC = Thing()\ndef f():\n    global C\n"
    assert len(module_state(stateful)) == 5
    assert module_state("X = MappingProxyType({})\nY = frozenset({1})\nZ = (1, 2)\nP = re.compile('a')\n") == []
    memo = "@functools.lru_cache(maxsize=None)\ndef f(x):\n    return x\n"
    assert len(module_state(memo)) == 1 and module_state(memo, frozenset({"f"})) == []


def test_no_sandbox_module_holds_mutable_state():
    found = {
        path.name: module_state(path.read_text(), frozenset(STATIC_MEMOS.get(path.name, ())))
        for path in sorted(SANDBOX_DIR.glob("*.py"))
        if path.name not in PENDING_STATE
    }
    assert {name: state for name, state in found.items() if state} == {}
    assert set(found) >= {"bridge.py", "lambda_runtime.py", "authorization.py", "cloudformation.py", "sandbox.py"}


# ---------------------------------------------------------------------------- nothing outlives a Sandbox

# What the extensions patch lives in these; importing them first puts them in the snapshot.
PATCHED_MODULES = (
    "moto.core.responses",
    "moto.core.authorization",
    "moto.cloudformation.parsing",
    "moto.cloudformation.responses",
    "moto.awslambda.urls",
    "moto.backup.urls",
    "moto.kms.models",
    "moto.sns.responses",
    "botocore.endpoint",
    "boto3",
)


def is_code(value: Any) -> bool:
    """What a patch replaces: functions, methods and their descriptors, classes, modules (not the
    data that use changes: counters, registries, caches)."""
    return callable(value) or isinstance(value, (classmethod, staticmethod, property, type(sys)))


def snapshot() -> dict[tuple[str, str], Any]:
    """Every function, descriptor, class and module held by a loaded moto/botocore/boto3 module or
    by a class it defines (the object itself, to compare by identity), the route tables' contents
    and moto's CloudFormation type map."""
    for name in PATCHED_MODULES:
        importlib.import_module(name)
    from moto.cloudformation import parsing

    taken: dict[tuple[str, str], Any] = {}
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] not in ("moto", "botocore", "boto3") or module is None:
            continue
        for attribute, value in list(vars(module).items()):
            if is_code(value):
                taken[(name, attribute)] = value
            if isinstance(value, type) and value.__module__ == name:
                for member, member_value in list(vars(value).items()):
                    if is_code(member_value):
                        taken[(f"{name}.{attribute}", member)] = member_value
            if attribute == "url_paths":  # a route table: the same dict, with the same routes
                taken[(name, attribute)] = value
                taken[(name, "url_paths contents")] = dict(value)
    # moto's own types (the sandbox's are in the map only while one runs: see below).
    taken[("moto.cloudformation.parsing", "model map")] = moto_types(parsing.get_model_map())
    return taken


def moto_types(model_map: dict[str, Any]) -> dict[str, Any]:
    from backup_events_aws.sandbox.cloudformation import SandboxResource

    return {name: model for name, model in model_map.items() if not issubclass(model, SandboxResource)}


def sandbox_types_known_to_moto() -> list[str]:
    from moto.cloudformation import parsing

    return sorted(set(parsing.get_model_map()) - set(moto_types(parsing.get_model_map())))


def changed_since(before: dict[tuple[str, str], Any]) -> list[tuple[str, str]]:
    after = snapshot()
    changed = []
    for key, value in before.items():
        now = after.get(key, "absent")
        same = now == value if key[1] in ("url_paths contents", "model map") else now is value
        if not same:
            changed.append(key)
    return changed


def test_a_sandbox_leaves_moto_botocore_and_boto3_as_it_found_them():
    from backup_events_aws.sandbox import Organization

    before = snapshot()
    org = Organization.minimum()
    with org:
        patched = org.sandbox.patched()
        resource = org.create_resource("EFS", org.main_account, "us-east-1")
        org.start_backup(org.main_account, "us-east-1", resource)
        org.run_until_idle()
        assert org.recovery_points(account=org.backup_account)  # the sandbox worked while it ran
    assert len(patched) > 30
    foreign = {
        id(owner): owner
        for owner, _ in patched
        if (getattr(owner, "__module__", None) or getattr(owner, "__name__", "")).split(".")[0] != "backup_events_aws"
    }
    known = {id(value) for value in before.values()}
    assert set(foreign) <= known, [foreign[i] for i in set(foreign) - known]  # the comparison below covers them
    assert changed_since(before) == []
    assert not org.sandbox.started and org.sandbox.patched() == []
    assert sandbox_types_known_to_moto() == []  # CloudFormation is moto's own again


def test_two_sandboxes_one_after_the_other():
    from backup_events_aws.sandbox import Organization

    copies_of_each = []
    for seed in (1, 2):
        with Organization.minimum(seed=seed) as org:
            resource = org.create_resource("EFS", org.main_account, "us-east-1")
            org.start_backup(org.main_account, "us-east-1", resource)
            org.run_until_idle()
            copies = org.recovery_points(account=org.backup_account)
            assert copies and {point["Status"] for point in copies} == {"COMPLETED"}
            assert {point["Region"] for point in copies} == {"us-west-2", "us-east-1"}  # copy 1 and copy 2
            assert org.function_logs(org.main_account)  # the function ran, in this sandbox
            copies_of_each.append(len(copies))
    assert copies_of_each == [2, 2]  # the second starts empty: nothing of the first is left


def test_an_exception_inside_the_sandbox_still_removes_everything():
    from backup_events_aws.sandbox.sandbox import Sandbox

    before = snapshot()
    sandbox = Sandbox()
    with pytest.raises(RuntimeError, match="inside"), sandbox:
        assert sandbox.started and sandbox.patched()
        assert "AWS::Backup::BackupVault" in sandbox_types_known_to_moto()
        raise RuntimeError("inside")
    assert not sandbox.started and sandbox.patched() == []
    assert changed_since(before) == [] and sandbox_types_known_to_moto() == []


def test_an_extension_that_fails_to_install_leaves_nothing_installed():
    from moto.events.models import EventsBackend

    from backup_events_aws.sandbox.patches import Patches
    from backup_events_aws.sandbox.sandbox import Sandbox

    class HalfInstalled:
        """Replaces one moto method, then fails."""

        def __init__(self) -> None:
            self.patches = Patches()

        def install(self) -> None:
            self.patches.replace(EventsBackend, "put_events", lambda *arguments: None)
            raise RuntimeError("cannot install")

        def uninstall(self) -> None:
            self.patches.undo()

    before = snapshot()
    sandbox = Sandbox()
    sandbox.extensions = (*sandbox.extensions[:5], HalfInstalled(), *sandbox.extensions[5:])
    with pytest.raises(RuntimeError, match="cannot install"):
        sandbox.start()
    assert not sandbox.started
    assert changed_since(before) == [] and sandbox_types_known_to_moto() == []
