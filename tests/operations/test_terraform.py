"""terraform/: every .tf parses; variables mirror the template's parameters one to one."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest

from backup_events_aws import template

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"
MODULE_ONLY = {"deployment", "stack_name", "organizational_unit_ids", "regions", "auto_deployment", "call_as"}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def parse(path: Path) -> dict:
    with path.open() as handle:
        return hcl2.load(handle)


def unquote(value):
    return value.strip('"') if isinstance(value, str) else value


@pytest.fixture(scope="module")
def parameters():
    return template.load()["Parameters"]


@pytest.fixture(scope="module")
def variables():
    return {
        unquote(name): body for block in parse(TERRAFORM / "variables.tf")["variable"] for name, body in block.items()
    }


@pytest.fixture(scope="module")
def main():
    return parse(TERRAFORM / "main.tf")


def test_every_tf_file_parses():
    files = sorted(TERRAFORM.rglob("*.tf"))
    assert {f.relative_to(TERRAFORM).as_posix() for f in files} >= {
        "main.tf",
        "variables.tf",
        "outputs.tf",
        "versions.tf",
        "examples/single-stack/main.tf",
    }
    for path in files:
        assert parse(path), path


def test_variables_mirror_the_parameters_one_to_one(parameters, variables):
    assert set(variables) - MODULE_ONLY == {snake(name) for name in parameters}


def test_defaults_and_types_match(parameters, variables):
    for name, parameter in parameters.items():
        variable = variables[snake(name)]
        kind = unquote(variable["type"])
        if parameter.get("AllowedValues") == ["true", "false"]:
            assert "${bool}" in kind or kind == "bool", name
        elif parameter["Type"] == "Number":
            assert "number" in kind, name
        else:
            assert "string" in kind, name
        if "Default" in parameter:
            default = variable["default"]
            expected = parameter["Default"]
            if isinstance(default, bool):
                assert str(default).lower() == expected, name
            else:
                assert str(unquote(default)) == str(expected), name
        else:
            assert "default" not in variable, f"{name} is required in the template"


def test_main_passes_every_parameter_from_its_variable(parameters, main):
    passed = main["locals"][0]["parameters"]
    assert set(passed) == set(parameters)
    for name, value in passed.items():
        assert f"var.{snake(name)}" in value, name


def test_template_body_is_the_repository_template(main):
    body = main["locals"][0]["template_body"]
    assert body == '${file("${path.module}/../backup_events_aws.yaml")}'
    assert (TERRAFORM / ".." / "backup_events_aws.yaml").resolve() == template.TEMPLATE.resolve()


def test_stack_or_stackset_selected_by_a_variable(main):
    resources = {
        unquote(kind): {unquote(name): value for name, value in body.items()}
        for block in main["resource"]
        for kind, body in block.items()
    }
    stack = resources["aws_cloudformation_stack"]["this"]
    assert 'var.deployment == "stack"' in stack["count"]
    stack_set = next(iter(resources["aws_cloudformation_stack_set"].values()))
    assert 'var.deployment == "stackset"' in stack_set["count"]
    assert unquote(stack_set["permission_model"]) == "SERVICE_MANAGED"
    assert "var.auto_deployment" in stack_set["auto_deployment"][0]["enabled"]
    assert unquote(stack_set["description"]) == template.load()["Metadata"]["BackupEvents"]["StackSetDescription"]
    for instances in resources["aws_cloudformation_stack_instances"].values():
        assert "var.organizational_unit_ids" in instances["deployment_targets"][0]["organizational_unit_ids"]
        assert 'var.deployment == "stackset"' in instances["count"]


def test_stackset_instances_backup_account_first(main):
    instances = {
        unquote(name): value
        for block in main["resource"]
        for kind, body in block.items()
        if unquote(kind) == "aws_cloudformation_stack_instances"
        for name, value in body.items()
    }
    assert set(instances) == {"backup_account", "other_accounts"}
    first, then = (
        instances["backup_account"]["deployment_targets"][0],
        instances["other_accounts"]["deployment_targets"][0],
    )
    assert unquote(first["account_filter_type"]) == "INTERSECTION" and "var.backup_account_id" in str(first["accounts"])
    assert unquote(then["account_filter_type"]) == "DIFFERENCE" and "var.backup_account_id" in str(then["accounts"])
    assert "aws_cloudformation_stack_instances.backup_account" in str(instances["other_accounts"]["depends_on"])


def conditions(variable):
    return [unquote(block["condition"]) for block in variable.get("validation", [])]


def test_stackset_lists_are_validated(variables):
    for name in ("organizational_unit_ids", "regions"):
        assert any(
            f"length(var.{name}) > 0" in condition and 'var.deployment != "stackset" ||' in condition
            for condition in conditions(variables[name])
        ), name
    assert any(
        'var.deployment != "stackset" ||' in condition
        and "contains(var.regions, var.backup_region)" in condition
        and "contains(var.regions, var.backup_region_alternate)" in condition
        for condition in conditions(variables["regions"])
    )


def test_required_version_allows_validation_across_variables():
    # Conditions referring to other variables need Terraform 1.9.
    versions = parse(TERRAFORM / "versions.tf")["terraform"][0]
    assert unquote(versions["required_version"]) == ">= 1.9"


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
@pytest.mark.parametrize(
    "settings, refused",
    [
        ({}, None),
        (
            {
                "deployment": "stackset",
                "organizational_unit_ids": ["ou-ab12-34567890"],
                "regions": ["us-east-1", "us-west-2"],
            },
            None,
        ),
        (
            {"deployment": "stackset", "organizational_unit_ids": ["ou-ab12-34567890"], "regions": ["us-east-1"]},
            "regions must include backup_region and backup_region_alternate",
        ),
        (
            {"deployment": "stackset", "regions": ["us-east-1", "us-west-2"]},
            "organizational_unit_ids: give at least one OU",
        ),
        (
            {"deployment": "stackset", "organizational_unit_ids": ["ou-ab12-34567890"]},
            "regions: give at least one region",
        ),
    ],
)
def test_terraform_applies_the_validations(tmp_path, settings, refused):
    # variables.tf alone: no provider to download, so terraform init works offline.
    shutil.copy(TERRAFORM / "variables.tf", tmp_path / "variables.tf")
    values = {
        "org_id": "o-a1b2c3d4e5",
        "backup_account_id": "999977775555",
        "backup_region": "us-west-2",
        "backup_region_alternate": "us-east-1",
        **settings,
    }
    (tmp_path / "test.tfvars.json").write_text(json.dumps(values))
    environment = dict(os.environ, TF_IN_AUTOMATION="1", TF_CLI_CONFIG_FILE=os.devnull)
    subprocess.run(
        ["terraform", "init", "-input=false"], cwd=tmp_path, env=environment, check=True, capture_output=True
    )
    plan = subprocess.run(
        ["terraform", "plan", "-input=false", "-no-color", "-var-file=test.tfvars.json"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
    )
    if refused is None:
        assert plan.returncode == 0, plan.stderr
    else:
        assert plan.returncode != 0 and refused in " ".join(plan.stderr.split()), plan.stderr


def test_example_deploys_backup_account_first():
    example = parse(TERRAFORM / "examples" / "single-stack" / "main.tf")
    modules = {unquote(name): body for block in example["module"] for name, body in block.items()}
    assert set(modules) == {"backup_us_east_1", "backup_us_west_2", "main_us_east_1"}
    assert "module.backup_us_east_1" in str(modules["main_us_east_1"]["depends_on"])
    assert "module.backup_us_west_2" in str(modules["main_us_east_1"]["depends_on"])
