"""CloudFormation's own checks of a stack's parameter values, before any resource exists.

One implementation for the template tests (`template.parameter_errors`,
`template.evaluate_rules`) and for the sandbox's CreateStack / UpdateStack
(sandbox/cloudformation.py). Pure functions over the template as a dict.

    refusals(template, {"OrgId": "org-123"})   -> ["Parameter OrgId failed to satisfy constraint: ..."]
    failing_assertions(template, values)       -> [AssertDescription, ...]

The wording is CloudFormation's where it is known (docs/AWS-BEHAVIOUR.md §12):
a ConstraintDescription, when the parameter has one, replaces the constraint's own
text ("Parameter X failed to satisfy constraint: <ConstraintDescription>"); without
one, "Parameter 'X' must match pattern <pattern>", "Parameter 'X' must be one of
AllowedValues"; a failed Rules assertion reports its AssertDescription.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SCALAR_TYPES = ("String", "Number")
LIST_TYPES = ("CommaDelimitedList", "List<Number>")


@dataclass(frozen=True)
class Violation:
    """One parameter value its definition refuses."""

    parameter: str
    reason: str  # CloudFormation's own text for the constraint
    constraint_description: str | None
    constraint: str = ""  # the property refused by: AllowedValues, AllowedPattern, MinValue, ...

    @property
    def message(self) -> str:
        """What CloudFormation says: the ConstraintDescription replaces the reason."""
        if self.constraint_description:
            return f"Parameter {self.parameter} failed to satisfy constraint: {self.constraint_description}"
        return self.reason


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _fmt(number: Any) -> str:
    value = float(number)
    return str(int(value)) if value.is_integer() else str(value)


def violation(name: str, spec: dict[str, Any], value: Any) -> Violation | None:
    """The first constraint of parameter `name` that `value` breaks (None: accepted)."""
    kind = spec.get("Type", "String")
    description = spec.get("ConstraintDescription")
    members = [m.strip() for m in str(value).split(",")] if kind in LIST_TYPES else [str(value)]

    def refused(reason: str, constraint: str = "") -> Violation:
        return Violation(name, reason, description, constraint)

    for member in members:
        if "AllowedValues" in spec and member not in [str(v) for v in spec["AllowedValues"]]:
            return refused(f"Parameter '{name}' must be one of AllowedValues", "AllowedValues")
        if kind in ("Number", "List<Number>"):
            number = _number(member)
            if number is None:
                return refused(f"Parameter '{name}' must be a number", "Type")
            if "MinValue" in spec and number < float(spec["MinValue"]):
                return refused(
                    f"Parameter '{name}' must be a number not less than {_fmt(spec['MinValue'])}", "MinValue"
                )
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                return refused(
                    f"Parameter '{name}' must be a number not greater than {_fmt(spec['MaxValue'])}", "MaxValue"
                )
        else:
            if "MinLength" in spec and len(member) < int(spec["MinLength"]):
                return refused(f"Parameter '{name}' must contain at least {spec['MinLength']} characters", "MinLength")
            if "MaxLength" in spec and len(member) > int(spec["MaxLength"]):
                return refused(f"Parameter '{name}' must contain at most {spec['MaxLength']} characters", "MaxLength")
            if "AllowedPattern" in spec and re.fullmatch(spec["AllowedPattern"], member) is None:
                return refused(f"Parameter '{name}' must match pattern {spec['AllowedPattern']}", "AllowedPattern")
    return None


def effective_values(template: dict[str, Any], supplied: dict[str, Any] | None) -> dict[str, str]:
    """Each parameter's value: the one supplied, else its Default (missing ones left out)."""
    values = {name: str(spec["Default"]) for name, spec in template.get("Parameters", {}).items() if "Default" in spec}
    values.update({name: str(value) for name, value in (supplied or {}).items()})
    return values


def refusals(template: dict[str, Any], supplied: dict[str, Any] | None) -> list[str]:
    """CloudFormation's messages for the supplied values, in the order it checks them:
    unknown parameters, parameters without a value, then each parameter's constraints."""
    specs = template.get("Parameters", {})
    supplied = dict(supplied or {})
    unknown = [name for name in supplied if name not in specs]
    if unknown:
        return [f"Parameters: [{', '.join(unknown)}] do not exist in the template"]
    missing = [name for name, spec in specs.items() if "Default" not in spec and name not in supplied]
    if missing:
        return [f"Parameters: [{', '.join(missing)}] must have values"]
    values = effective_values(template, supplied)
    messages = []
    for name, spec in specs.items():
        kind = spec.get("Type", "String")
        if kind not in SCALAR_TYPES + LIST_TYPES and not kind.startswith(("AWS::", "List<AWS::")):
            messages.append(f"Template format error: Unrecognized parameter type: {kind}")
            continue
        found = violation(name, spec, values[name])
        if found:
            messages.append(found.message)
    return messages


# --- Rules ----------------------------------------------------------------------


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def failing_assertions(template: dict[str, Any], values: dict[str, str], account_id: str, region: str) -> list[str]:
    """The AssertDescription of every Rules assertion that fails for these values.

    Rules are evaluated after the parameters pass their own constraints; a rule whose
    RuleCondition is false is skipped (docs/AWS-BEHAVIOUR.md §12). Raises
    NotImplementedError for a rule function this evaluator does not know."""
    context = dict(values)
    context.update({"AWS::AccountId": account_id, "AWS::Region": region, "AWS::Partition": partition_of(region)})
    specs = template.get("Parameters", {})

    def ref(name: str) -> Any:
        if name in specs and specs[name].get("Type", "String") in LIST_TYPES:
            return [m.strip() for m in context[name].split(",")]
        return context[name]

    def ev(node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((function, arg),) = node.items()
            if function == "Ref":
                return ref(arg)
            if function == "Fn::Equals":
                left, right = (ev(a) for a in arg)
                return str(left) == str(right)
            if function == "Fn::Not":
                return not ev(arg[0])
            if function == "Fn::And":
                return all(ev(a) for a in arg)
            if function == "Fn::Or":
                return any(ev(a) for a in arg)
            if function == "Fn::Contains":
                return str(ev(arg[1])) in [str(v) for v in ev(arg[0])]
            if function == "Fn::EachMemberEquals":
                return all(str(v) == str(ev(arg[1])) for v in ev(arg[0]))
            if function == "Fn::EachMemberIn":
                allowed = [str(v) for v in ev(arg[1])]
                return all(str(v) in allowed for v in ev(arg[0]))
            if function.startswith("Fn::"):
                raise NotImplementedError(f"Rules function {function} is not evaluated here")
        if isinstance(node, list):
            return [ev(item) for item in node]
        return node

    failing = []
    for rule in template.get("Rules", {}).values():
        if "RuleCondition" in rule and not ev(rule["RuleCondition"]):
            continue
        failing += [a["AssertDescription"] for a in rule["Assertions"] if not ev(a["Assert"])]
    return failing
