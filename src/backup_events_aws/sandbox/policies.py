"""A small IAM policy evaluator for the sandbox's delivery checks.

moto does not enforce resource policies (Lambda permissions, queue policies,
event-bus policies) nor the identity policies of the roles EventBridge assumes.
The bridge needs exactly those decisions, so this evaluates the subset of the
policy language that such policies use: Effect, Principal (`*`, AWS account /
root / role ARNs, Service), Action and Resource with `*`/`?` wildcards, and the
condition operators String(Not)Equals, StringLike, ArnEquals, ArnLike, Bool.
An explicit Deny wins; otherwise some Allow must match (IAM's evaluation order).
An unknown condition operator never matches, so an unmodelled condition denies
rather than silently allows.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from typing import Any, Iterable


@dataclass(frozen=True)
class Request:
    """Who asks to do what on which resource, with the context keys AWS would set."""

    action: str
    resource: str
    principal_account: str | None = None  # an AWS principal's account
    principal_arn: str | None = None
    service: str | None = None  # a service principal, e.g. events.amazonaws.com
    context: dict[str, str] = field(default_factory=dict)  # e.g. aws:SourceArn, aws:PrincipalOrgID

    def context_value(self, key: str) -> str | None:
        wanted = key.lower()
        for name, value in self.context.items():
            if name.lower() == wanted:
                return value
        return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _wildcard_match(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def _principal_matches(principal: Any, request: Request) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for kind, values in principal.items():
        for value in _as_list(values):
            if kind == "Service" and request.service and value == request.service:
                return True
            if kind == "AWS" and (request.principal_account or request.principal_arn):
                if value == "*":
                    return True
                if value == request.principal_account:
                    return True
                if value == request.principal_arn:
                    return True
                if request.principal_account and value.endswith(f":{request.principal_account}:root"):
                    return True
    return False


def _condition_matches(condition: dict[str, Any] | None, request: Request) -> bool:
    for operator, tests in (condition or {}).items():
        for key, expected in tests.items():
            actual = request.context_value(key)
            expected_values = [str(v) for v in _as_list(expected)]
            if operator in ("StringEquals", "ArnEquals"):
                ok = actual is not None and actual in expected_values
            elif operator == "StringNotEquals":
                ok = actual is None or actual not in expected_values
            elif operator in ("StringLike", "ArnLike"):
                ok = actual is not None and any(_wildcard_match(v, actual) for v in expected_values)
            elif operator == "StringEqualsIgnoreCase":
                ok = actual is not None and actual.lower() in [v.lower() for v in expected_values]
            elif operator == "Bool":
                ok = actual is not None and actual.lower() in [v.lower() for v in expected_values]
            else:
                ok = False
            if not ok:
                return False
    return True


def _statement_matches(statement: dict[str, Any], request: Request, check_principal: bool) -> bool:
    if check_principal and not _principal_matches(statement.get("Principal"), request):
        return False
    actions = _as_list(statement.get("Action"))
    if not any(_wildcard_match(a, request.action, case_sensitive=False) for a in actions):
        return False
    resources = _as_list(statement.get("Resource", "*"))
    if not any(_wildcard_match(r, request.resource) for r in resources):
        return False
    return _condition_matches(statement.get("Condition"), request)


def statements_of(policy: Any) -> list[dict[str, Any]]:
    """Statements of a policy given as JSON text, a dict, or None."""
    if not policy:
        return []
    document = json.loads(policy) if isinstance(policy, str) else policy
    return _as_list(document.get("Statement"))


def is_allowed(statements: Iterable[dict[str, Any]], request: Request, check_principal: bool) -> bool:
    """Explicit Deny wins, then any Allow; nothing matching means denied.

    check_principal: True for resource policies (they name principals), False for
    identity policies (attached to the principal itself).
    """
    allowed = False
    for statement in statements:
        if not _statement_matches(statement, request, check_principal):
            continue
        if statement.get("Effect", "Allow") == "Deny":
            return False
        allowed = True
    return allowed
