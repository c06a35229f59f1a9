"""The template as shipped: small enough for --template-body, code in sync with its source."""

from __future__ import annotations

import ast
import io
import subprocess
import sys
import textwrap
import tokenize

import pytest

from backup_events_aws import template


def test_template_fits_in_a_template_body():
    size, yaml_only = template.sizes()
    assert size == len(template.TEMPLATE.read_bytes())
    assert size <= template.MAX_TEMPLATE_BYTES == 51_200
    # About 29 KB of YAML before issues 12 and 13, at most 4.5 KB more for each: room stays for the code.
    assert yaml_only < 38_500


def test_embedded_code_is_the_source():
    """The template's code is the source's program: same syntax tree once docstrings are gone."""
    assert template.program(template.embedded_code()) == template.program(template.SOURCE.read_text())
    assert template.check() == []


def test_embedded_code_is_compact():
    """No docstrings and no comments travel in the template; the source keeps them."""
    embedded = template.embedded_code()
    tokens = list(tokenize.generate_tokens(io.StringIO(embedded).readline))
    assert not [token for token in tokens if token.type == tokenize.COMMENT]
    assert template.program(embedded) == ast.dump(ast.parse(embedded))  # nothing left to strip
    source = template.SOURCE.read_text()
    assert '"""' in source and "# " in source  # the source keeps its documentation
    assert len(embedded.encode()) < 0.8 * len(source.encode())


def test_code_block_is_a_literal_block_of_the_function_resource():
    function = template.load()["Resources"]["Function"]["Properties"]
    zip_file = function["Code"]["ZipFile"]
    assert zip_file.splitlines()[0].startswith("# --- BEGIN lambda_function.py")
    assert zip_file.splitlines()[-1] == "# --- END lambda_function.py ---"
    assert template.program(template.unpack(zip_file)) == template.program(template.SOURCE.read_text())
    assert function["Handler"] == "index.lambda_handler"


def test_the_packed_code_block_runs_as_lambdas_index_module():
    """Imported as index.py, the loader defines the handler Lambda calls, from the source's program."""
    zip_file = template.load()["Resources"]["Function"]["Properties"]["Code"]["ZipFile"]
    assert len(zip_file.encode()) < 0.5 * len(template.compact_code(template.SOURCE.read_text()).encode())
    namespace: dict[str, object] = {"__name__": "index"}
    exec(compile(zip_file, "index.py", "exec"), namespace)
    assert callable(namespace["lambda_handler"]) and callable(namespace["build_function"])


def test_unpack_refuses_a_loader_that_does_more_than_load():
    """Nothing but the two-line loader may travel in the code block: check proves what runs."""
    loader = template.pack("x = 1\n")
    assert template.unpack(loader) == "x = 1\n"
    for tampered in (loader + "import os\n", loader.replace("exec(compile(", "print(exec(compile(") + ")"):
        with pytest.raises(template.TemplateError):
            template.unpack(tampered)


TRICKY = 'def lambda_handler(event, context):\n    """Doc.\n\n    more"""\n\n\n    return {"a": "# not a marker"}\n'

# Every shape the compaction touches: docstrings, comments, one-statement blocks next to blocks of
# several, else after a one-line if, strings ending in ':' or holding newlines, decorators, try.
SHAPES = textwrap.dedent('''
    """Module docstring."""
    import functools  # a comment


    class Only:
        """Only a docstring: the class still needs a body."""


    @functools.lru_cache
    def shapes(x):
        """Doc."""
        text = """two
    lines:"""
        if x > 2:
            return "big:"
        elif x > 1:
            return text
        else:
            y = x  # comment
        for item in range(x):
            if item:
                y += item
                y *= 2
            else:
                continue
        try:
            y = y / x
        except ZeroDivisionError:
            y = -1
        while y > 100:
            y -= 100
        return y
    ''')


def run_shapes(code):
    namespace = {}
    exec(compile(code, "shapes", "exec"), namespace)
    return [namespace["shapes"](x) for x in range(5)], namespace["Only"].__doc__


def test_compact_code_is_the_same_program_and_runs_the_same():
    compact = template.compact_code(SHAPES)
    assert template.program(compact) == template.program(SHAPES)
    assert run_shapes(compact) == ([-1, 1.0, "two\nlines:", "big:", "big:"], None)
    assert run_shapes(SHAPES)[0] == run_shapes(compact)[0]
    assert "Doc." not in compact and "comment" not in compact
    assert "    " not in compact  # one space per level
    assert "if item:\n" in compact  # a two-statement body keeps its lines
    assert " else: continue" in compact  # a one-statement body joins its header


def test_embed_and_extract_round_trip(tmp_path):
    path = tmp_path / "t.yaml"
    source = tmp_path / "f.py"
    source.write_text(TRICKY)
    path.write_text(template.TEMPLATE.read_text())
    size = template.embed(path, source)
    assert size == len(path.read_bytes())
    assert template.embedded_code(path) == template.compact_code(TRICKY)
    assert "Doc." not in template.embedded_code(path)
    assert template.check(path, source) == []
    text = path.read_text()
    assert " \n" not in text  # no trailing spaces
    code = template.load(path)["Resources"]["Function"]["Properties"]["Code"]["ZipFile"]
    assert "return {'a': '# not a marker'}" in template.unpack(code)
    assert template.embed(path, source) == size  # idempotent


def test_check_fails_when_the_embedded_code_differs_from_the_source(tmp_path):
    path = tmp_path / "t.yaml"
    source = tmp_path / "f.py"
    source.write_text(TRICKY)
    path.write_text(template.TEMPLATE.read_text())
    template.embed(path, source)
    source.write_text(TRICKY.replace("more", "other words") + "# a new comment\n")
    assert template.check(path, source) == []  # documentation is not the program
    source.write_text(TRICKY.replace("# not a marker", "# changed"))
    assert template.check(path, source) == [
        "embedded code is not the program in lambda_function.py (their syntax trees differ): run `make template`"
    ]
    source.write_text(TRICKY + "x = (\n")
    assert "not valid Python" in template.check(path, source)[0]


def test_check_reports_oversize(tmp_path):
    path = tmp_path / "t.yaml"
    source = tmp_path / "f.py"
    path.write_text(template.TEMPLATE.read_text())
    source.write_text("".join(f"x{n} = {n}\n" for n in range(5000)))
    template.embed(path, source)
    problems = template.check(path, source)
    assert len(problems) == 1 and "CloudFormation accepts at most 51200" in problems[0]


def test_markers_are_required(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(template.TEMPLATE.read_text().replace("# --- END lambda_function.py ---", "# end"))
    with pytest.raises(template.TemplateError):
        template.embedded_code(path)
    assert template.check(path) == ["expected one BEGIN and one END lambda_function.py marker line, in that order"]


def test_command_line(tmp_path):
    path = tmp_path / "t.yaml"
    source = tmp_path / "f.py"
    source.write_text(TRICKY)
    path.write_text(template.TEMPLATE.read_text())
    run = [sys.executable, "-m", "backup_events_aws.template"]
    embedded = subprocess.run(run + ["embed", str(path), "--source", str(source)], capture_output=True, text=True)
    assert embedded.returncode == 0 and "bytes used of 51,200, headroom" in embedded.stdout
    assert "the same program as lambda_function.py" in embedded.stdout
    source.write_text(TRICKY + "x = 1\n")
    checked = subprocess.run(run + ["check", str(path), "--source", str(source)], capture_output=True, text=True)
    assert checked.returncode == 1 and "differ" in checked.stderr and "headroom" in checked.stdout
    assert template.main(["check"]) == 0
