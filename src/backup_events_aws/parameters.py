"""The template's parameter definitions, and the one check of a value against them.

`definitions(body)` reads the `Parameters` section of the template (YAML as shipped,
or JSON) without a YAML library: boto3 is the CLI's only runtime dependency. It
reads the subset of YAML the section uses (plain, quoted and flow-sequence scalars;
folded Descriptions are skipped); tests/template proves it agrees with a full YAML
parser on the shipped template.

`value_error(value, definition)` applies what CloudFormation applies to a parameter
value (docs/AWS-BEHAVIOUR.md §12): AllowedValues, AllowedPattern (the whole value
must match), MinLength/MaxLength for a String, a number within MinValue/MaxValue
for a Number. The CLI refuses bad arguments with it before any AWS call, and the
tests' `template.parameter_errors` uses it too, so the two can never disagree.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

Definition = dict[str, Any]

# The properties a value is checked against, and the ones shown in messages.
CHECKED = (
    "Type",
    "Default",
    "AllowedValues",
    "AllowedPattern",
    "MinLength",
    "MaxLength",
    "MinValue",
    "MaxValue",
    "ConstraintDescription",
)

_PARAMETER = re.compile(r"^  (?P<name>[A-Za-z0-9]+):\s*(#.*)?$")
_PROPERTY = re.compile(r"^    (?P<key>[A-Za-z]+):\s*(?P<value>.*?)\s*$")


class DefinitionError(ValueError):
    """The Parameters section uses YAML this reader does not understand."""


@functools.lru_cache(maxsize=8)
def definitions(body: str) -> dict[str, Definition]:
    """{parameter name: {property: value}} for the properties in CHECKED; values are str, or
    list[str] for AllowedValues."""
    if body.lstrip().startswith("{"):
        parsed = json.loads(body).get("Parameters", {})
        return {name: _normalised(spec) for name, spec in parsed.items()}
    found: dict[str, Definition] = {}
    current: Definition | None = None
    lines = iter(body.splitlines())
    inside = False
    for line in lines:
        if re.match(r"^\S", line):
            inside = line.split("#")[0].rstrip() == "Parameters:"
            continue
        if not inside or not line.strip() or line.lstrip().startswith("#"):
            continue
        parameter = _PARAMETER.match(line)
        if parameter:
            current = found.setdefault(parameter.group("name"), {})
            continue
        prop = _PROPERTY.match(line)
        if prop is None or current is None:
            continue  # a folded Description's lines
        key, text = prop.group("key"), _without_comment(prop.group("value"))
        if key not in CHECKED:
            continue
        if text.startswith("["):
            while not _balanced(text):
                text += " " + _without_comment(next(lines).strip())
            current[key] = [_scalar(item) for item in _items(text[1:-1])]
        else:
            current[key] = _scalar(text)
    return found


def _normalised(spec: dict[str, Any]) -> Definition:
    """A JSON (or fully parsed YAML) definition in definitions()'s terms: strings throughout."""
    out: Definition = {}
    for key in CHECKED:
        if key in spec:
            value = spec[key]
            out[key] = [_text(item) for item in value] if isinstance(value, list) else _text(value)
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _without_comment(text: str) -> str:
    """The text before a ' #' comment that is outside quotes."""
    quote = ""
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#" and (index == 0 or text[index - 1] == " "):
            return text[:index].rstrip()
    return text.rstrip()


def _balanced(text: str) -> bool:
    return text.endswith("]") and text.count("[") == text.count("]")


def _items(text: str) -> list[str]:
    """A flow sequence's items: split at commas outside quotes."""
    items, current, quote = [], "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == ",":
            items.append(current.strip())
            current = ""
            continue
        current += char
    if current.strip():
        items.append(current.strip())
    return items


def _scalar(text: str) -> str:
    if text.startswith('"'):
        try:
            return str(json.loads(text))  # the template's double-quoted strings use no YAML-only escapes
        except ValueError as error:
            raise DefinitionError(f"cannot read the quoted value {text}") from error
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text in ("|", ">", "|-", ">-"):
        raise DefinitionError(f"a block scalar ({text}) where a checked property's value should be")
    return text


def value_error(value: str, definition: Definition) -> str | None:
    """Why CloudFormation would refuse `value` for this parameter (its ConstraintDescription, or
    what the constraint asks for), or None if it accepts it. Whether it is refused is decided by
    parameter_checks.violation, the check the sandbox's CreateStack applies too, so the CLI and
    CloudFormation never disagree."""
    from .parameter_checks import violation

    found = violation("value", dict(definition), value)
    if found is None:
        return None
    if found.constraint_description:
        return found.constraint_description
    asks = {
        "AllowedValues": f"one of: {', '.join(str(v) for v in definition.get('AllowedValues', []))}",
        "AllowedPattern": f"must match {definition.get('AllowedPattern')}",
        "Type": "a number",
        "MinValue": f"a number from {definition.get('MinValue')} to {definition.get('MaxValue')}",
        "MaxValue": f"a number from {definition.get('MinValue')} to {definition.get('MaxValue')}",
        "MinLength": f"from {definition.get('MinLength')} to {definition.get('MaxLength')} characters",
        "MaxLength": f"from {definition.get('MinLength')} to {definition.get('MaxLength')} characters",
    }
    return asks.get(found.constraint, found.reason)
