"""One version everywhere: pyproject.toml, the template's Metadata and Description, the function's
VERSION (in every log line), the CHANGELOG; and the files `make release` ships."""

from __future__ import annotations

import ast
import pathlib
import re
import tomllib

from backup_events_aws import template

ROOT = pathlib.Path(__file__).resolve().parents[2]


def project_version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def function_version() -> str | None:
    """lambda_function.VERSION, read from the file's syntax tree (importing it would need boto3 and
    settings): None when there is no such constant."""
    for node in ast.parse(template.SOURCE.read_text()).body:
        named = isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "VERSION" for t in node.targets
        )
        if named and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return node.value.value
    return None


def test_the_version_is_a_semantic_version():
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", project_version())


def test_the_template_carries_the_version():
    loaded = template.load()
    assert str(loaded["Metadata"]["BackupEvents"]["Version"]) == project_version()
    assert loaded["Description"].startswith(f"Backup Events {project_version()}: ")


def test_the_function_carries_the_version():
    version = function_version()
    assert version is not None, (
        'lambda_function.py has no VERSION = "X.Y.Z" constant at module level: the function must name '
        "its version (it goes into every log line)"
    )
    assert version == project_version(), (
        f"lambda_function.VERSION is {version}, pyproject.toml says {project_version()}"
    )


def test_the_changelog_has_the_version_and_an_unreleased_section():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\]", changelog, re.MULTILINE)
    assert headings[0] == "Unreleased" and headings[1] == project_version()
    assert f"[{project_version()}]: https://" in changelog


def test_the_cli_reads_the_version_from_the_template():
    from backup_events_aws.operations import common

    assert common.template_metadata(template.TEMPLATE.read_text())["Version"] == project_version()
