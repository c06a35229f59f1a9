"""The template as shipped: small enough for --template-body, code in sync with its source."""

from __future__ import annotations

import subprocess
import sys

import pytest

from backup_events_aws import template


def test_template_fits_in_a_template_body():
    size, yaml_only = template.sizes()
    assert size == len(template.TEMPLATE.read_bytes())
    assert size <= template.MAX_TEMPLATE_BYTES == 51_200
    assert yaml_only < 30_000  # leaves room for the function to grow


def test_embedded_code_is_the_source():
    assert template.embedded_code() == template.SOURCE.read_text()
    assert template.check() == []


def test_code_block_is_a_literal_block_of_the_function_resource():
    function = template.load()["Resources"]["Function"]["Properties"]
    zip_file = function["Code"]["ZipFile"]
    assert zip_file.splitlines()[0].startswith("# --- BEGIN lambda_function.py")
    assert zip_file.splitlines()[-1] == "# --- END lambda_function.py ---"
    assert zip_file.splitlines()[1:-1] == template.SOURCE.read_text().splitlines()
    assert function["Handler"] == "index.lambda_handler"


TRICKY = 'def lambda_handler(event, context):\n    """Doc.\n\n    more"""\n\n\n    return {"a": "# not a marker"}\n'


def test_embed_and_extract_round_trip(tmp_path):
    path = tmp_path / "t.yaml"
    source = tmp_path / "f.py"
    source.write_text(TRICKY)
    path.write_text(template.TEMPLATE.read_text())
    size = template.embed(path, source)
    assert size == len(path.read_bytes())
    assert template.embedded_code(path) == TRICKY
    assert template.check(path, source) == []
    text = path.read_text()
    assert "\n\n\n" in text and " \n" not in text  # blank lines stay blank, no trailing spaces
    code = template.load(path)["Resources"]["Function"]["Properties"]["Code"]["ZipFile"]
    assert TRICKY in code
    assert template.embed(path, source) == size  # idempotent


def test_check_reports_drift_and_oversize(tmp_path):
    path = tmp_path / "t.yaml"
    source = tmp_path / "f.py"
    source.write_text(TRICKY)
    path.write_text(template.TEMPLATE.read_text())
    template.embed(path, source)
    source.write_text(TRICKY + "# changed\n")
    assert template.check(path, source) == ["embedded code differs from lambda_function.py: run `make template`"]
    source.write_text("x = 1\n" * 9000)
    template.embed(path, source)
    problems = template.check(path, source)
    assert len(problems) == 1 and "CloudFormation accepts at most 51200" in problems[0]


def test_markers_are_required(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(template.TEMPLATE.read_text().replace("# --- END lambda_function.py ---", "# end"))
    with pytest.raises(template.TemplateError):
        template.embedded_code(path)
    assert template.check(path) == ["expected one BEGIN and one END lambda_function.py marker line, in that order"]
    with pytest.raises(template.TemplateError):
        template.embed_code(template.TEMPLATE.read_text(), "\tx = 1\n")


def test_command_line(tmp_path):
    path = tmp_path / "t.yaml"
    source = tmp_path / "f.py"
    source.write_text(TRICKY)
    path.write_text(template.TEMPLATE.read_text())
    run = [sys.executable, "-m", "backup_events_aws.template"]
    embedded = subprocess.run(run + ["embed", str(path), "--source", str(source)], capture_output=True, text=True)
    assert embedded.returncode == 0 and "bytes of 51200" in embedded.stdout
    source.write_text(TRICKY + "# changed\n")
    checked = subprocess.run(run + ["check", str(path), "--source", str(source)], capture_output=True, text=True)
    assert checked.returncode == 1 and "differs" in checked.stderr and "bytes of 51200" in checked.stdout
    assert template.main(["check"]) == 0
