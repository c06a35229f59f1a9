"""The CloudFormation template: embed the function's code, check it, render it.

    python -m backup_events_aws.template embed backup_events_aws.yaml
    python -m backup_events_aws.template check backup_events_aws.yaml
    python -m backup_events_aws.template show backup_events_aws.yaml   # the embedded program

The function's code lives once, in lambda_function.py, with its documentation. The
template's `Code.ZipFile` literal block holds it packed between two marker lines: its
compact form (`compact_code`: the same program without docstrings and comments, one space
per indentation level), compressed with zlib and written in base85 (`pack`), behind a
two-line loader that decompresses and runs it. Plain, the compact code alone would take
half of the 51,200-byte TemplateBody limit; packed it takes about a third of that, which
leaves room for the template's own features without an S3 bucket:

         # --- BEGIN lambda_function.py (written by "make template"; edit the source) ---
         ...the loader and the packed code...
         # --- END lambda_function.py ---

`embed` rewrites what lies between the markers; `check` fails when the packed program is
not the source's (their syntax trees differ once the source's docstrings are stripped) or
the template is too big for `--template-body`. `embedded_code()` unpacks the program;
`show` prints it, so that anyone can read what the template runs.

For tests: `render()` renders one stack instance with cloud-radar,
`parameter_errors()` applies the Parameters' constraints and
`evaluate_rules()` the Rules section (cloud-radar evaluates neither fully).
"""

from __future__ import annotations

import argparse
import ast
import base64
import contextlib
import copy
import functools
import io
import re
import sys
import zlib
from pathlib import Path
from typing import Any

from .parameters import definitions, value_error

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
    begin = BEGIN_RE.match(lines[begins[0]])
    assert begin is not None  # found by the same pattern above
    return begins[0], ends[0], begin["indent"]


PACKED_LINE = 100  # base85 characters a line: the template's lines stay under 120 (yamllint)
LOADER_NOTE = (
    "# lambda_function.py without comments, zlib-compressed, base85 (make template); read it:",
    "# python -m backup_events_aws.template show backup_events_aws.yaml",
)


def pack(code: str) -> str:
    """`code` as the module Lambda runs: a loader that decompresses it and runs it in its own
    namespace (so `index.lambda_handler` exists), under the file name lambda_function.py for
    tracebacks."""
    packed = base64.b85encode(zlib.compress(code.encode("utf-8"), 9)).decode("ascii")
    chunks = [packed[i : i + PACKED_LINE] for i in range(0, len(packed), PACKED_LINE)]
    return (
        "\n".join(
            [
                *LOADER_NOTE,
                "import base64, zlib",
                "exec(compile(zlib.decompress(base64.b85decode(",
                *(f' "{chunk}"' for chunk in chunks),
                ')), "lambda_function.py", "exec"))',
            ]
        )
        + "\n"
    )


def unpack(loader: str) -> str:
    """The program a `pack` loader runs (TemplateError if `loader` is not one)."""
    try:
        tree = ast.parse(loader)
    except SyntaxError as error:
        raise TemplateError(f"the embedded loader is not valid Python: {error}") from error
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and ast.unparse(node.func) == "base64.b85decode"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ]
    if len(calls) != 1 or ast.unparse(tree) != ast.unparse(ast.parse(pack_shape(calls[0]))):
        raise TemplateError("the code block is not a loader written by `make template`: run `make template`")
    packed = _string_argument(calls[0])
    try:
        return zlib.decompress(base64.b85decode(packed)).decode("utf-8")
    except (ValueError, zlib.error) as error:
        raise TemplateError(f"the packed code does not decompress: {error}: run `make template`") from error


def _string_argument(call: ast.Call) -> str:
    argument = call.args[0]
    if not isinstance(argument, ast.Constant) or not isinstance(argument.value, str):
        raise TemplateError("the loader decodes something other than one string: run `make template`")
    return argument.value


def pack_shape(call: ast.Call) -> str:
    """The loader `pack` would write around the string that `call` decodes."""
    return (
        "import base64, zlib\n"
        f'exec(compile(zlib.decompress(base64.b85decode("{_string_argument(call)}")), "lambda_function.py", "exec"))\n'
    )


def embed_code(template_text: str, code: str) -> str:
    """The template with `code`, packed, between the markers, indented as a YAML literal block."""
    lines = template_text.split("\n")
    begin, end, indent = _block(lines)
    body = [indent + line for line in pack(code).rstrip("\n").split("\n")]
    return "\n".join(lines[: begin + 1] + body + lines[end:])


def extract_loader(template_text: str) -> str:
    """The code block between the markers, unindented: the loader Lambda runs."""
    lines = template_text.split("\n")
    begin, end, indent = _block(lines)
    out = []
    for line in lines[begin + 1 : end]:
        if line and not line.startswith(indent):
            raise TemplateError(f"code line less indented than the markers: {line!r}")
        out.append(line[len(indent) :])
    return "\n".join(out) + "\n"


def extract_code(template_text: str) -> str:
    """The program the template's code block runs: equal to lambda_function.py's when in sync."""
    return unpack(extract_loader(template_text))


def embedded_code(template_path: str | Path = TEMPLATE) -> str:
    """The function code embedded in the template at `template_path`."""
    return extract_code(Path(template_path).read_text(encoding="utf-8"))


def _without_docstrings(tree: ast.Module) -> ast.Module:
    """`tree` with the docstring of the module and of every class and function removed, and the
    functions' parameter and return annotations (under `from __future__ import annotations` they
    are never evaluated, so the program runs the same; class fields keep theirs: NamedTuple needs
    them)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
            arguments = node.args
            for argument in [
                *arguments.posonlyargs,
                *arguments.args,
                *arguments.kwonlyargs,
                arguments.vararg,
                arguments.kwarg,
            ]:
                if argument is not None:
                    argument.annotation = None
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = node.body[1:] or [ast.Pass()]
    return tree


def program(code: str) -> str:
    """What the code does, as text: its syntax tree without docstrings (comments, layout and
    docstrings don't count). Two codes with the same program() run the same."""
    return ast.dump(_without_docstrings(ast.parse(code)))


# Blocks whose one-statement body may share the header's line: guard clauses read well that way;
# functions and classes keep their shape.
ONE_LINE_HEADERS = {"if", "elif", "else", "for", "while", "with", "try", "except", "finally"}


def compact_code(source: str) -> str:
    """The source without comments and docstrings, one space per indentation level, and a block
    whose body is one simple statement on its header's line (`if not x: return y`, not for
    functions and classes).

    ast.unparse writes every statement on one line and strings with escapes, so a line's leading
    spaces are indentation only (4 per level) and a line ending in ':' is a block's header. The
    result is checked to be the same program as the source.
    """
    lines: list[tuple[int, str]] = []
    for line in ast.unparse(_without_docstrings(ast.parse(source))).split("\n"):
        body = line.lstrip(" ")
        depth, rest = divmod(len(line) - len(body), 4)
        if rest:
            raise TemplateError(f"unexpected indentation in ast.unparse output: {line!r}")
        lines.append((depth, body))
    out: list[str] = []
    index = 0
    while index < len(lines):
        depth, body = lines[index]
        following = lines[index + 1 : index + 3]
        one_line_body = (
            body.endswith(":")
            and body.split(" ", 1)[0].rstrip(":") in ONE_LINE_HEADERS
            and len(following) >= 1
            and following[0][0] == depth + 1
            and following[0][1]
            and not following[0][1].endswith(":")
            and (len(following) == 1 or following[1][0] <= depth)
        )
        if one_line_body:
            out.append(" " * depth + body + " " + following[0][1])
            index += 2
        elif body or (index + 1 < len(lines) and lines[index + 1][0] == 0):
            out.append(" " * depth + body)  # blank lines: only between top-level definitions
            index += 1
        else:
            index += 1
    code = "\n".join(out) + "\n"
    if program(code) != program(source):
        raise TemplateError("the compact code is not the same program as the source")  # pragma: no cover
    return code


def embed(template_path: str | Path = TEMPLATE, source_path: str | Path = SOURCE) -> int:
    """Write the source's compact form into the template; return the template's new size in bytes."""
    path = Path(template_path)
    code = compact_code(Path(source_path).read_text(encoding="utf-8"))
    text = embed_code(path.read_text(encoding="utf-8"), code)
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
        embedded = extract_code(text)
    except TemplateError as error:
        return problems + [str(error)]
    try:
        same = program(embedded) == program(Path(source_path).read_text(encoding="utf-8"))
    except SyntaxError as error:
        problems.append(f"embedded code or lambda_function.py is not valid Python: {error}: run `make template`")
    else:
        if not same:
            problems.append(
                "embedded code is not the program in lambda_function.py (their syntax trees "
                "differ): run `make template`"
            )
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

    loaded: dict[str, Any] = load_yaml(Path(template_path).read_text(encoding="utf-8"))
    return loaded


@functools.lru_cache(maxsize=4)
def _radar_template(template_path: str) -> Any:
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
    resources: dict[str, Any] = render_template(account_id, region, parameters, template_path)["Resources"]
    return resources


def parameter_errors(parameters: dict[str, Any] | None = None, template_path: str | Path = TEMPLATE) -> list[str]:
    """'Name: why' (its ConstraintDescription, mostly) for each value its Parameters definition refuses,
    checked by parameters.value_error: the same check the CLI applies to its arguments."""
    specs = definitions(Path(template_path).read_text(encoding="utf-8"))
    given = {name: str(value) for name, value in (parameters or {}).items()}
    errors = [f"{name}: not a parameter of this template" for name in given if name not in specs]
    missing = [name for name, spec in specs.items() if "Default" not in spec and name not in given]
    errors += [f"{name}: a value is required" for name in missing]
    for name, spec in specs.items():
        if name in missing:
            continue
        reason = value_error(given.get(name, str(spec.get("Default", ""))), spec)
        if reason is not None:
            errors.append(f"{name}: {reason}")
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
    parser.add_argument("command", choices=["embed", "check", "show"])
    parser.add_argument("template", nargs="?", default=str(TEMPLATE))
    parser.add_argument("--source", default=str(SOURCE))
    args = parser.parse_args(argv)
    if args.command == "show":
        print(embedded_code(args.template), end="")
        return 0
    if args.command == "embed":
        embed(args.template, args.source)
    problems = check(args.template, args.source)
    total, yaml_only = sizes(args.template)
    print(
        f"{args.template}: {total:,} bytes used of {MAX_TEMPLATE_BYTES:,}, headroom {MAX_TEMPLATE_BYTES - total:,} "
        f"({yaml_only:,} without the embedded code)"
    )
    if not problems:
        print(
            "embedded code: unpacked, the same program as lambda_function.py "
            "(syntax trees compared, docstrings stripped)"
        )
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
