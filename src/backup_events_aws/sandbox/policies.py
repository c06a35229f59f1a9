"""The sandbox's one IAM policy evaluator: resource policies, identity policies, vault policies.

moto does not enforce resource policies (Lambda permissions, queue policies, event-bus
policies, AWS Backup vault access policies) nor the identity policies of the roles the
services act with. The bridge, the Lambda runtime and the AWS Backup emulation need exactly
those decisions, so this evaluates the part of the policy language such policies use:

* Effect; Principal (`*`, `{"AWS": ...}` with `*`, account IDs, `:root` ARNs, role ARNs and
  role-session ARNs, `{"Service": ...}`); Action / NotAction matched case-insensitively with
  `*` and `?`; Resource / NotResource matched as IAM matches ARNs (`resource_matches`): segment
  by segment, a wildcard never spanning a `:` in the first five segments, and a pattern with a
  wildcard in the service segment matching nothing (docs/AWS-BEHAVIOUR.md §11.1).
* Condition operators String(Not)Equals, String(Not)EqualsIgnoreCase, String(Not)Like,
  Arn(Not)Equals, Arn(Not)Like, Bool, Null; the `...IfExists` suffix and the
  `ForAllValues:` / `ForAnyValue:` set qualifiers, with IAM's semantics:
  - several values for one key: any of them (for a negated operator: none of them);
  - several keys or operators in one statement: all must hold;
  - a key missing from the request: positive operators do not match, negated operators
    match, `IfExists` matches, `ForAllValues` matches, `ForAnyValue` does not;
  - `Null: true` means the key is absent.
* An operator or qualifier this module does not know raises `UnsupportedPolicy`: the
  sandbox never guesses what an unmodelled condition would decide.

An explicit Deny wins; otherwise some Allow must match (IAM's evaluation order).
`evaluate` combines a principal's identity policies with a resource's policy as IAM does
(docs/AWS-BEHAVIOUR.md §11.3) and says why, in IAM's words, when it refuses.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

ALLOW, DENY, NO_MATCH = "Allow", "Deny", "NoMatch"


class UnsupportedPolicy(ValueError):
    """A policy uses a construct the sandbox does not evaluate."""


@dataclass(frozen=True)
class Request:
    """Who asks to do what on which resource, with the context keys AWS would set.

    `principal_arn` and `principal_account` also fill aws:PrincipalArn and
    aws:PrincipalAccount unless the context names them. Context values are a string or,
    for multivalued keys such as backup:CopyTargets, a list of strings.
    """

    action: str
    resource: str
    principal_account: str | None = None  # an AWS principal's account
    principal_arn: str | None = None  # the role (aws:PrincipalArn is the role, not the session)
    service: str | None = None  # a service principal, e.g. events.amazonaws.com
    context: dict[str, str | Sequence[str]] = field(default_factory=dict)
    session_arn: str | None = None  # arn:...:sts::<account>:assumed-role/<name>/<session>

    def values(self, key: str) -> list[str] | None:
        """The request's values for a condition key (names are case-insensitive), None if absent."""
        wanted = key.lower()
        for name, value in self.context.items():
            if name.lower() == wanted:
                return [value] if isinstance(value, str) else [str(v) for v in value]
        if wanted == "aws:principalarn" and self.principal_arn:
            return [self.principal_arn]
        if wanted == "aws:principalaccount" and self.principal_account:
            return [self.principal_account]
        return None


def as_list(value: Any) -> list[Any]:
    """A policy element that may be one value or a list, as a list (None: empty)."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


@functools.lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    # Compiled once per pattern: a burst evaluates the same few policies hundreds of thousands of times.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


def wildcard_match(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    """IAM wildcards: `*` any run of characters, `?` one character; nothing else is special."""
    return _wildcard_regex(pattern, case_sensitive).fullmatch(value) is not None


def arn_match(pattern: str, value: str) -> bool:
    """ArnEquals/ArnLike: each of the six colon-separated parts matched on its own, with wildcards."""
    pattern_parts, value_parts = pattern.split(":", 5), value.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return False
    return all(wildcard_match(p, v) for p, v in zip(pattern_parts, value_parts, strict=True))


def resource_matches(pattern: str, resource: str) -> bool:
    """A Resource / NotResource element against a request's resource, as IAM matches them
    (docs/AWS-BEHAVIOUR.md §11.1): `*` alone matches everything; otherwise both are split into
    their six colon-separated segments and each of the first five is matched on its own, so a
    wildcard never spans a `:` there; the sixth (the resource id, which may itself hold `:` and
    `/`) is matched whole. IAM does not allow a wildcard in the service segment: such a pattern
    is not a valid ARN for the service, and the sandbox lets it match nothing (the strict
    reading). A non-`*` pattern that is not an ARN matches nothing either."""
    if pattern == "*":
        return True
    pattern_parts, resource_parts = pattern.split(":", 5), resource.split(":", 5)
    if len(pattern_parts) != 6 or len(resource_parts) != 6 or pattern_parts[0] != "arn":
        return False
    if "*" in pattern_parts[2] or "?" in pattern_parts[2]:
        return False
    return all(wildcard_match(p, r) for p, r in zip(pattern_parts, resource_parts, strict=True))


def _equals(pattern: str, value: str) -> bool:
    return pattern == value


def _equals_ignore_case(pattern: str, value: str) -> bool:
    return pattern.lower() == value.lower()


def _bool(pattern: str, value: str) -> bool:
    return pattern.lower() == value.lower()


# base operator -> (value matcher, negated)
_OPERATORS = MappingProxyType(
    {
        "StringEquals": (_equals, False),
        "StringNotEquals": (_equals, True),
        "StringEqualsIgnoreCase": (_equals_ignore_case, False),
        "StringNotEqualsIgnoreCase": (_equals_ignore_case, True),
        "StringLike": (wildcard_match, False),
        "StringNotLike": (wildcard_match, True),
        "ArnEquals": (arn_match, False),
        "ArnLike": (arn_match, False),
        "ArnNotEquals": (arn_match, True),
        "ArnNotLike": (arn_match, True),
        "Bool": (_bool, False),
    }
)


def _parse_operator(operator: str) -> tuple[str | None, str, bool]:
    """(set qualifier or None, base operator, if-exists) of a condition operator."""
    qualifier = None
    base = operator
    if ":" in operator:
        qualifier, base = operator.split(":", 1)
        if qualifier not in ("ForAllValues", "ForAnyValue"):
            raise UnsupportedPolicy(f"Unknown condition set qualifier {qualifier!r} in {operator!r}")
    if_exists = base.endswith("IfExists")
    if if_exists:
        base = base[: -len("IfExists")]
    if base == "Null":
        if qualifier or if_exists:
            raise UnsupportedPolicy(f"Unsupported condition operator {operator!r}")
    elif base not in _OPERATORS:
        raise UnsupportedPolicy(f"Unknown condition operator {operator!r}")
    return qualifier, base, if_exists


def _operator_holds(operator: str, key: str, expected: Any, request: Request) -> bool:
    qualifier, base, if_exists = _parse_operator(operator)
    patterns = [str(v).lower() if isinstance(v, bool) else str(v) for v in as_list(expected)]
    actual = request.values(key)
    if base == "Null":
        wants_absent = [p.lower() for p in patterns]
        return ("true" in wants_absent and actual is None) or ("false" in wants_absent and actual is not None)
    matcher, negated = _OPERATORS[base]

    def value_holds(value: str) -> bool:
        matched = any(matcher(p, value) for p in patterns)
        return not matched if negated else matched

    if not actual:  # the key is absent (or an empty set)
        if if_exists:
            return True
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return negated
    if qualifier == "ForAnyValue":
        return any(value_holds(v) for v in actual)
    # ForAllValues, and a single-valued operator given several values: every value must hold
    # (for a positive single-valued operator IAM wants a match among them: any).
    if qualifier is None and not negated:
        return any(value_holds(v) for v in actual)
    return all(value_holds(v) for v in actual)


def conditions_hold(condition: dict[str, Any] | None, request: Request) -> bool:
    """Every operator, and every key under it, must hold."""
    for operator, tests in (condition or {}).items():
        if not isinstance(tests, dict):
            raise UnsupportedPolicy(f"Condition {operator!r} must map keys to values")
        for key, expected in tests.items():
            if not _operator_holds(operator, key, expected, request):
                return False
    return True


def principal_matches(principal: Any, request: Request) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        raise UnsupportedPolicy(f"Unsupported Principal {principal!r}")
    for kind, values in principal.items():
        if kind not in ("AWS", "Service", "Federated", "CanonicalUser"):
            raise UnsupportedPolicy(f"Unknown principal type {kind!r}")
        for value in as_list(values):
            if kind == "Service" and request.service and value == request.service:
                return True
            if kind == "AWS" and value == "*":
                return True
            if kind == "AWS" and (request.principal_account or request.principal_arn):
                if value in (request.principal_account, request.principal_arn, request.session_arn):
                    return True
                if request.principal_account and _is_root_of(value, request.principal_account):
                    return True
    return False


def _is_root_of(value: str, account: str) -> bool:
    """`arn:<partition>:iam::<account>:root`: every principal of that account."""
    parts = value.split(":")
    return len(parts) == 6 and parts[2] == "iam" and parts[4] == account and parts[5] == "root"


def _element_matches(statement: dict[str, Any], name: str, value: str, case_sensitive: bool) -> bool:
    if name in statement and f"Not{name}" in statement:
        raise UnsupportedPolicy(f"A statement may not have both {name} and Not{name}")

    def matches(pattern: str) -> bool:
        if name == "Resource":
            return resource_matches(pattern, value)
        return wildcard_match(pattern, value, case_sensitive)

    if f"Not{name}" in statement:
        return not any(matches(p) for p in as_list(statement[f"Not{name}"]))
    return any(matches(p) for p in as_list(statement.get(name, "*")))


def statement_matches(statement: dict[str, Any], request: Request, check_principal: bool) -> bool:
    if "NotPrincipal" in statement:
        raise UnsupportedPolicy("NotPrincipal is not evaluated by the sandbox")
    if check_principal and not principal_matches(statement.get("Principal"), request):
        return False
    if not _element_matches(statement, "Action", request.action, case_sensitive=False):
        return False
    if not _element_matches(statement, "Resource", request.resource, case_sensitive=True):
        return False
    return conditions_hold(statement.get("Condition"), request)


def statements_of(policy: Any) -> list[dict[str, Any]]:
    """Statements of a policy given as JSON text, a dict, or None."""
    if not policy:
        return []
    document = json.loads(policy) if isinstance(policy, str) else policy
    return as_list(document.get("Statement"))


def decide(statements: Iterable[dict[str, Any]], request: Request, check_principal: bool) -> str:
    """DENY if a Deny statement matches, else ALLOW if an Allow matches, else NO_MATCH.

    check_principal: True for resource policies (they name principals), False for
    identity policies (attached to the principal itself).
    """
    decision = NO_MATCH
    for statement in statements:
        effect = statement.get("Effect")
        if effect not in (ALLOW, DENY):
            raise UnsupportedPolicy(f"Unknown Effect {effect!r}")
        if not statement_matches(statement, request, check_principal):
            continue
        if effect == DENY:
            return DENY
        decision = ALLOW
    return decision


def is_allowed(statements: Iterable[dict[str, Any]], request: Request, check_principal: bool) -> bool:
    """Explicit Deny wins, then any Allow; nothing matching means denied."""
    return decide(statements, request, check_principal) == ALLOW


def is_denied(statements: Iterable[dict[str, Any]], request: Request, check_principal: bool) -> bool:
    """Whether an explicit Deny applies (what a same-account resource policy can do on its own)."""
    return decide(statements, request, check_principal) == DENY


def access_allowed(
    identity_statements: Iterable[dict[str, Any]],
    resource_statements: Iterable[dict[str, Any]],
    request: Request,
    same_account: bool,
) -> bool:
    """An IAM principal acting on a resource: no Deny in either policy; then, in the same account,
    an Allow in either suffices; across accounts both must allow."""
    identity = decide(identity_statements, request, check_principal=False)
    resource = decide(resource_statements, request, check_principal=True)
    if DENY in (identity, resource):
        return False
    if same_account:
        return ALLOW in (identity, resource)
    return identity == resource == ALLOW


# --------------------------------------------------------------------------------------------
# Identity and resource policies together (docs/AWS-BEHAVIOUR.md §11.3)


@dataclass(frozen=True)
class Decision:
    """IAM's answer for one request, and its reason in the words of IAM's AccessDenied messages."""

    allowed: bool
    reason: str = ""  # e.g. "because no identity-based policy allows the backup:StartCopyJob action"

    def __bool__(self) -> bool:
        return self.allowed


def _names_principal_itself(statements: Iterable[dict[str, Any]], request: Request) -> bool:
    """Whether a matching Allow names this role or session (or `*`), not just its account.

    In one account, a resource policy that grants to the account (its ID or `:root`) delegates
    to the account's identity policies; only a grant naming the principal itself, or everyone,
    allows on its own (docs/AWS-BEHAVIOUR.md §11.3)."""
    for statement in statements:
        if statement.get("Effect") != ALLOW or not statement_matches(statement, request, check_principal=True):
            continue
        principal = statement.get("Principal")
        if principal == "*":
            return True
        values = [v for kind, vs in (principal or {}).items() if kind == "AWS" for v in as_list(vs)]
        if any(v == "*" or v in (request.principal_arn, request.session_arn) for v in values if v):
            return True
    return False


def is_kms_key(resource: str) -> bool:
    """A KMS key's ARN (arn:aws:kms:region:account:key/id): the resource a key policy guards."""
    parts = resource.split(":", 5)
    return len(parts) == 6 and parts[2] == "kms" and parts[5].startswith("key/")


def evaluate(
    identity_statements: Iterable[dict[str, Any]] | None,
    resource_statements: Iterable[dict[str, Any]] | None,
    request: Request,
    resource_account: str | None,
) -> Decision:
    """An IAM role session (or a service principal: identity_statements None) acting on a
    resource: an explicit Deny in either policy refuses; in the resource's own account an Allow
    in either suffices; across accounts both must allow (docs/AWS-BEHAVIOUR.md §11.3).
    resource_statements None: the resource has no resource-based policy."""
    identity = list(identity_statements) if identity_statements is not None else None
    resource = list(resource_statements) if resource_statements is not None else None
    identity_decision = decide(identity, request, check_principal=False) if identity is not None else NO_MATCH
    resource_decision = decide(resource, request, check_principal=True) if resource is not None else NO_MATCH
    action = request.action
    if identity_decision == DENY:
        return Decision(False, "with an explicit deny in an identity-based policy")
    if resource_decision == DENY:
        return Decision(False, "with an explicit deny in a resource-based policy")
    if identity is None:  # a service principal: only the resource policy can grant
        if resource_decision == ALLOW:
            return Decision(True)
        return Decision(False, f"because no resource-based policy allows the {action} action")
    same_account = resource_account in (None, request.principal_account)
    if same_account and resource is not None and is_kms_key(request.resource):
        # A key policy is the one policy KMS must find an Allow in, even in the key's own
        # account: naming the principal, or the account (delegating to identity policies,
        # which must then allow too). docs/AWS-BEHAVIOUR.md §11.3, §19 item 60.
        if resource_decision == ALLOW and (identity_decision == ALLOW or _names_principal_itself(resource, request)):
            return Decision(True)
        if resource_decision != ALLOW:
            return Decision(False, f"because no resource-based policy allows the {action} action")
        return Decision(False, f"because no identity-based policy allows the {action} action")
    if same_account:
        if identity_decision == ALLOW or (
            resource_decision == ALLOW and _names_principal_itself(resource or [], request)
        ):
            return Decision(True)
        return Decision(False, f"because no identity-based policy allows the {action} action")
    if identity_decision != ALLOW:
        return Decision(False, f"because no identity-based policy allows the {action} action")
    if resource_decision != ALLOW:
        return Decision(False, f"because no resource-based policy allows the {action} action")
    return Decision(True)


def denial_message(request: Request, decision: Decision) -> str:
    """IAM's AccessDenied wording: who, what, on which resource, and why."""
    who = request.session_arn or request.principal_arn or request.service or request.principal_account
    return (
        f"User: {who} is not authorized to perform: {request.action} on resource: {request.resource} {decision.reason}"
    )
