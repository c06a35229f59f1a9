"""The CloudFormation template: embed the function's code, check it, render it.

    python -m backup_events_aws.template embed backup_events_aws.yaml
    python -m backup_events_aws.template check backup_events_aws.yaml

The function's code lives once, in lambda_function.py, and is copied verbatim into
the template's `Code.ZipFile` literal block between two marker lines:

          # --- BEGIN lambda_function.py (written by "make template"; edit the source) ---
          ...the code, indented like the markers...
          # --- END lambda_function.py ---

`embed` rewrites what lies between them; `check` fails when the copy differs from
the source or the template is too big for `--template-body` (51,200 bytes).
`embedded_code()` reads the copy back (the sandbox runs that copy).

For tests: `render()` renders one stack instance with cloud-radar,
`parameter_errors()` applies the Parameters' constraints and
`evaluate_rules()` the Rules section (cloud-radar evaluates neither fully).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import io
import re
import sys
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE = PACKAGE_DIR / "lambda_function.py"
TEMPLATE = PACKAGE_DIR.parent.parent / "backup_events_aws.yaml"
MAX_TEMPLATE_BYTES = 51_200  # CloudFormation TemplateBody limit

BEGIN_RE = re.compile(r"^(?P<indent> +)# --- BEGIN lambda_function\.py\b.*$")
END_RE = re.compile(r"^ +# --- END lambda_function\.py ---$")


class TemplateError(Exception):
    """The template's code block is missing or malformed."""


def _block(lines: list[str]) -> tuple[int, int, str]:
    """(begin line index, end line index, indent) of the code block."""
    begins = [i for i, line in enumerate(lines) if BEGIN_RE.match(line)]
    ends = [i for i, line in enumerate(lines) if END_RE.match(line)]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise TemplateError("expected one BEGIN and one END lambda_function.py marker line, in that order")
    return begins[0], ends[0], BEGIN_RE.match(lines[begins[0]])["indent"]


def embed_code(template_text: str, code: str) -> str:
    """The template with `code` between the markers, indented as a YAML literal block."""
    lines = template_text.split("\n")
    begin, end, indent = _block(lines)
    if "\t" in code:
        raise TemplateError("lambda_function.py contains a tab: YAML literal blocks cannot hold it safely")
    body = [indent + line if line.strip() else "" for line in code.rstrip("\n").split("\n")]
    return "\n".join(lines[: begin + 1] + body + lines[end:])


def extract_code(template_text: str) -> str:
    """The code between the markers, unindented: equal to lambda_function.py when in sync."""
    lines = template_text.split("\n")
    begin, end, indent = _block(lines)
    out = []
    for line in lines[begin + 1 : end]:
        if line and not line.startswith(indent):
            raise TemplateError(f"code line less indented than the markers: {line!r}")
        out.append(line[len(indent) :])
    return "\n".join(out) + "\n"


def embedded_code(template_path: str | Path = TEMPLATE) -> str:
    """The function code embedded in the template at `template_path`."""
    return extract_code(Path(template_path).read_text(encoding="utf-8"))


def embed(template_path: str | Path = TEMPLATE, source_path: str | Path = SOURCE) -> int:
    """Write the source into the template; return the template's new size in bytes."""
    path = Path(template_path)
    text = embed_code(path.read_text(encoding="utf-8"), Path(source_path).read_text(encoding="utf-8"))
    path.write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))


def check(template_path: str | Path = TEMPLATE, source_path: str | Path = SOURCE) -> list[str]:
    """Problems that make the template unfit to ship (empty list: fine)."""
    text = Path(template_path).read_text(encoding="utf-8")
    problems = []
    size = len(text.encode("utf-8"))
    if size > MAX_TEMPLATE_BYTES:
        problems.append(f"template is {size} bytes; CloudFormation accepts at most {MAX_TEMPLATE_BYTES}")
    try:
        if extract_code(text) != Path(source_path).read_text(encoding="utf-8"):
            problems.append("embedded code differs from lambda_function.py: run `make template`")
    except TemplateError as error:
        problems.append(str(error))
    return problems


def sizes(template_path: str | Path = TEMPLATE) -> tuple[int, int]:
    """(template bytes, bytes without the embedded code block)."""
    text = Path(template_path).read_text(encoding="utf-8")
    lines = text.split("\n")
    begin, end, _ = _block(lines)
    yaml_only = "\n".join(lines[: begin + 1] + lines[end:])
    return len(text.encode("utf-8")), len(yaml_only.encode("utf-8"))


# --- Rendering (tests) -------------------------------------------------------


@functools.lru_cache(maxsize=4)
def load(template_path: str | Path = TEMPLATE) -> dict[str, Any]:
    """The template as a dict, intrinsic functions in their long form (Fn::If...)."""
    from cfn_tools import load_yaml

    return load_yaml(Path(template_path).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=4)
def _radar_template(template_path: str):
    from cloud_radar.cf.unit import Template

    with contextlib.redirect_stdout(io.StringIO()):
        return Template.from_yaml(template_path)


def render_template(
    account_id: str, region: str, parameters: dict[str, Any] | None = None, template_path: str | Path = TEMPLATE
) -> dict[str, Any]:
    """The whole template rendered for one stack instance (Resources, Outputs, Conditions).

    Raises ValueError when a parameter breaks its constraints (cloud-radar's check).
    """
    from cloud_radar.cf.unit import Template

    template = _radar_template(str(template_path))
    Template.AccountId = account_id
    with contextlib.redirect_stdout(io.StringIO()):
        stack = template.create_stack(params=dict(parameters or {}), region=region)
    return copy.deepcopy(dict(stack))


def render(
    account_id: str, region: str, parameters: dict[str, Any] | None = None, template_path: str | Path = TEMPLATE
) -> dict[str, Any]:
    """The resources one stack instance gets: {logical ID: rendered resource}."""
    return render_template(account_id, region, parameters, template_path)["Resources"]


def parameter_errors(parameters: dict[str, Any] | None = None, template_path: str | Path = TEMPLATE) -> list[str]:
    """'Name: ConstraintDescription' for each value its Parameters definition refuses
    (parameter_checks.violation: the same checks the sandbox's CreateStack applies)."""
    from backup_events_aws import parameter_checks

    template = load(template_path)
    specs = template["Parameters"]
    errors = [f"{name}: not a parameter of this template" for name in (parameters or {}) if name not in specs]
    missing = [name for name, spec in specs.items() if "Default" not in spec and name not in (parameters or {})]
    errors += [f"{name}: a value is required" for name in missing]
    values = parameter_checks.effective_values(template, parameters)
    for name, spec in specs.items():
        if name in missing:
            continue
        found = parameter_checks.violation(name, spec, values[name])
        if found:
            errors.append(f"{name}: {spec.get('ConstraintDescription', found.reason)}")
    return errors


def evaluate_rules(
    parameters: dict[str, Any] | None, account_id: str, region: str, template_path: str | Path = TEMPLATE
) -> list[str]:
    """The AssertDescription of every Rules assertion that fails for these parameters."""
    from backup_events_aws import parameter_checks

    template = load(template_path)
    values = parameter_checks.effective_values(template, parameters)
    return parameter_checks.failing_assertions(template, values, account_id, region)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backup_events_aws.template", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["embed", "check"])
    parser.add_argument("template", nargs="?", default=str(TEMPLATE))
    parser.add_argument("--source", default=str(SOURCE))
    args = parser.parse_args(argv)
    if args.command == "embed":
        embed(args.template, args.source)
    problems = check(args.template, args.source)
    total, yaml_only = sizes(args.template)
    print(
        f"{args.template}: {total} bytes of {MAX_TEMPLATE_BYTES} ({MAX_TEMPLATE_BYTES - total} left; "
        f"{yaml_only} without the embedded code)"
    )
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
