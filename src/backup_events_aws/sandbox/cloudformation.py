"""CloudFormation support for the resource types moto 5.2.5 skips without a word.

moto creates a stack as CREATE_COMPLETE even when it has no model for a resource
type (docs/TESTING.md, "moto: CloudFormation"), so a template that declares a
backup vault, a queue policy or a Lambda on-failure destination would "deploy"
without them. This module teaches moto those types, so the sandbox's stacks
really hold what the template declares:

  AWS::Backup::BackupVault          vault in moto's backup backend, AccessPolicy, LockConfiguration
  AWS::SQS::QueuePolicy             the Policy attribute of each queue
  AWS::Lambda::EventInvokeConfig    retries / OnFailure, via moto's own event-invoke-config store
  AWS::Events::EventBusPolicy       a statement of the bus's resource policy
  AWS::Events::EventBus  Policy     (moto ignores the property; we apply it after moto creates the bus)
  AWS::Lambda::Function  LoggingConfig, DeadLetterConfig (moto drops them; the bridge reads them)

It also makes moto's CloudFormation refuse what CloudFormation refuses:

  parameters   CreateStack / UpdateStack check every value against its Type,
               AllowedValues, AllowedPattern, Min/MaxLength, Min/MaxValue, then the
               Rules, before any resource exists: ValidationError with CloudFormation's
               text (parameter_checks.py; docs/AWS-BEHAVIOUR.md §12). A StackSet
               instance so refused, or whose stack rolls back, is OUTDATED with the
               reason as its StatusReason.
  policies     every policy document a resource declares (role trust and inline
               policies, managed policies, vault, bus, queue and key policies) is checked
               as IAM checks it (iam_validation.py; docs/AWS-BEHAVIOUR.md §11.1, §11.2).
               Lambda permissions' Action and SourceArn are checked as AddPermission
               checks them. A refused one fails that resource (CREATE_FAILED with IAM's message)
               and rolls the stack back (ROLLBACK_COMPLETE), as CloudFormation does.
  keys         a log group whose KmsKeyId CloudWatch Logs may not use, and an
               EventInvokeConfig whose SQS on-failure destination the execution role
               may not send to, fail the same way (docs/AWS-BEHAVIOUR.md §19 items 72, 73).

How moto finds models: `moto.cloudformation.parsing` maps a type name to the
*direct* subclasses of `CloudFormationModel` and caches the map with lru_cache.
So each resource class here (and in sns.py, cloudwatch.py, destinations.py) subclasses
`CloudFormationModel` itself and takes what they share from the `SandboxResource` mixin;
`CloudFormationSupport.install()` clears the caches so the map is rebuilt with them, and
`uninstall()` rebuilds it without them.

State lives in moto's backends (vaults, queues, functions, buses), so a moto
reset clears it too; these classes are only the thin CloudFormation layer.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend, Event, Stack, StackInstance, StackSet
from moto.core.common_models import CloudFormationModel
from moto.events.models import EventBus, EventBusPolicyStatement, events_backends
from moto.logs.models import LogGroup
from moto.sqs.models import sqs_backends
from moto.utilities.utils import get_partition

from backup_events_aws import parameter_checks
from backup_events_aws.sandbox import authorization, iam_validation
from backup_events_aws.sandbox.backup import backend_for
from backup_events_aws.sandbox.key_use import log_group_key_refusal
from backup_events_aws.sandbox.lambda_api import on_failure_refusal
from backup_events_aws.sandbox.patches import Patches


def _as_json_text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def _as_dict(document: Any) -> dict[str, Any]:
    return json.loads(document) if isinstance(document, str) else document


# --------------------------------------------------------------------------- resource classes


class SandboxResource:
    """What the sandbox's CloudFormation resource classes share. A mixin, listed before
    `CloudFormationModel`: moto registers only direct subclasses of that, so a shared base class
    between them would hide every resource type.

    A class names its type, its name property, the attribute that is its physical id (Ref) and
    its GetAtt attributes, and implements `create` (and `delete`; `update` creates again)."""

    resource_type = ""  # AWS::Service::Resource
    name_property = ""  # the property that names the resource ("" for none)
    physical_id_attribute = "name"
    get_att: dict[str, str] = {}  # GetAtt name -> attribute of the instance

    @property
    def physical_resource_id(self) -> str:
        return str(getattr(self, self.physical_id_attribute))

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.resource_type

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.name_property

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.get_att

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name not in self.get_att:
            raise UnformattedGetAttTemplateException()
        return getattr(self, self.get_att[attribute_name])

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str, logical_id: str) -> Any:
        raise NotImplementedError

    @classmethod
    def update(cls, original: Any, name: str, properties: dict[str, Any], account_id: str, region: str) -> Any:
        return cls.create(name, properties, account_id, region, name)

    @classmethod
    def delete(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> None:
        """Nothing to undo unless the class says so."""

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json.get("Properties") or {}
        return cls.create(resource_name, properties, account_id, region_name, kwargs.get("LogicalId", resource_name))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        properties = cloudformation_json.get("Properties") or {}
        return cls.update(original_resource, new_resource_name, properties, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        cls.delete(resource_name, cloudformation_json.get("Properties") or {}, account_id, region_name)


# --------------------------------------------------------------------------- vault


def store_vault_access_policy(account_id: str, region: str, vault_name: str, policy: Any) -> None:
    """Attach a vault access policy the way PutBackupVaultAccessPolicy does (sandbox/backup/models.py)."""
    backend_for(account_id, region).put_backup_vault_access_policy(vault_name, _as_json_text(policy))


@dataclass(eq=False)  # eq=False: moto keeps resources by identity
class BackupVaultResource(SandboxResource, CloudFormationModel):
    """AWS::Backup::BackupVault. Ref = vault name; GetAtt BackupVaultArn, BackupVaultName."""

    resource_type, name_property, physical_id_attribute = "AWS::Backup::BackupVault", "BackupVaultName", "vault_name"
    get_att = {"BackupVaultArn": "vault_arn", "BackupVaultName": "vault_name"}

    account_id: str
    region: str
    vault_name: str
    vault_arn: str

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str, logical_id: str
    ) -> BackupVaultResource:
        vault_name = properties.get("BackupVaultName", name)
        backend = backend_for(account_id, region)
        vault = backend.create_backup_vault(
            backup_vault_name=vault_name,
            backup_vault_tags=properties.get("BackupVaultTags") or {},
            encryption_key_arn=properties.get("EncryptionKeyArn"),
            creator_request_id=logical_id,
        )
        if properties.get("AccessPolicy"):
            store_vault_access_policy(account_id, region, vault_name, properties["AccessPolicy"])
        lock = properties.get("LockConfiguration")
        if lock:
            backend.put_backup_vault_lock_configuration(
                vault_name,
                min_retention_days=_int_or_none(lock.get("MinRetentionDays")),
                max_retention_days=_int_or_none(lock.get("MaxRetentionDays")),
                changeable_for_days=_int_or_none(lock.get("ChangeableForDays")),
            )
        return cls(account_id, region, vault_name, vault.backup_vault_arn)

    @classmethod
    def update(
        cls, original: BackupVaultResource, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> BackupVaultResource:
        if properties.get("AccessPolicy"):
            store_vault_access_policy(account_id, region, original.vault_name, properties["AccessPolicy"])
        return original

    @classmethod
    def delete(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> None:
        backend_for(account_id, region).delete_backup_vault(name)


def _int_or_none(value: Any) -> int | None:
    # CloudFormation passes numbers from parameters as strings.
    return None if value is None else int(value)


# --------------------------------------------------------------------------- SQS


def _queue_location(queue_url: str) -> tuple[str, str, str]:
    """(account, region, name) from https://sqs.<region>.amazonaws.com/<account>/<name>."""
    parts = queue_url.rstrip("/").split("/")
    host = parts[2]
    region = host.split(".")[1] if host.startswith("sqs.") else host.split(".")[0]
    return parts[-2], region, parts[-1]


@dataclass(eq=False)  # eq=False: moto keeps resources by identity
class SqsQueuePolicyResource(SandboxResource, CloudFormationModel):
    """AWS::SQS::QueuePolicy: stored as each queue's Policy attribute."""

    resource_type = "AWS::SQS::QueuePolicy"
    get_att = {"Id": "name"}

    name: str
    queue_urls: list[str]

    @classmethod
    def _apply(cls, queue_urls: list[str], policy: str, fallback_region: str) -> None:
        for url in queue_urls:
            account, region, name = _queue_location(url)
            sqs_backends[account][region or fallback_region].set_queue_attributes(name, {"Policy": policy})

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str, logical_id: str
    ) -> SqsQueuePolicyResource:
        queue_urls = list(properties["Queues"])
        cls._apply(queue_urls, _as_json_text(properties["PolicyDocument"]), region)
        return cls(name, queue_urls)

    @classmethod
    def update(
        cls, original: SqsQueuePolicyResource, name: str, properties: dict[str, Any], account_id: str, region: str
    ) -> SqsQueuePolicyResource:
        return cls.create(original.name, properties, account_id, region, original.name)

    @classmethod
    def delete(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> None:
        cls._apply(list(properties["Queues"]), "", region)


# --------------------------------------------------------------------------- Lambda


@dataclass(eq=False)  # eq=False: moto keeps resources by identity
class LambdaEventInvokeConfigResource(SandboxResource, CloudFormationModel):
    """AWS::Lambda::EventInvokeConfig, kept in moto's per-function store.

    The bridge reads it back with `event_invoke_config_of(function)`: retries
    (0..2, default 2) and DestinationConfig.OnFailure (docs/AWS-BEHAVIOUR.md §5.3).
    """

    resource_type, physical_id_attribute = "AWS::Lambda::EventInvokeConfig", "config_id"

    function_arn: str
    qualifier: str

    @property
    def config_id(self) -> str:
        return f"{self.function_arn}:{self.qualifier}"

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str, logical_id: str
    ) -> LambdaEventInvokeConfigResource:
        backend = lambda_backends[account_id][region]
        function = backend.get_function(properties["FunctionName"])
        config: dict[str, Any] = {}
        if "MaximumRetryAttempts" in properties:
            config["MaximumRetryAttempts"] = int(properties["MaximumRetryAttempts"])
        if "MaximumEventAgeInSeconds" in properties:
            config["MaximumEventAgeInSeconds"] = int(properties["MaximumEventAgeInSeconds"])
        if properties.get("DestinationConfig"):
            config["DestinationConfig"] = properties["DestinationConfig"]
            refused = on_failure_refusal(function, properties["DestinationConfig"])
            if refused:
                raise ResourceRefused(
                    logical_id,
                    cls.resource_type,
                    f'Resource handler returned message: "{refused} (Service: Lambda, Status Code: 400)"',
                )
        function.event_invoke_config = []  # one config per function/qualifier: replace
        backend.put_function_event_invoke_config(function.function_name, config)
        return cls(function.function_arn, properties.get("Qualifier", "$LATEST"))

    @classmethod
    def delete(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> None:
        lambda_backends[account_id][region].get_function(properties["FunctionName"]).event_invoke_config = []


def event_invoke_config_of(function: LambdaFunction) -> dict[str, Any]:
    """The function's async-invocation settings ({} when none were configured)."""
    return dict(function.event_invoke_config[0].config) if function.event_invoke_config else {}


# Function properties that moto's LambdaFunction model drops but the bridge needs.
_EXTRA_FUNCTION_PROPERTIES = ("LoggingConfig", "DeadLetterConfig")


def _created_then(complete: Any) -> Any:
    """A wrapper of moto's create_from_cloudformation_json that lets moto create the resource, then
    `complete(resource, properties)` adds what moto's model drops."""

    def create(
        moto_create: Any,
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        resource = moto_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        complete(resource, cloudformation_json["Properties"])
        return resource

    return create


def _keep_function_extras(function: LambdaFunction, properties: dict[str, Any]) -> None:
    function.sandbox_extras = {key: properties[key] for key in _EXTRA_FUNCTION_PROPERTIES if key in properties}  # type: ignore[attr-defined]


def function_extras_of(function: LambdaFunction) -> dict[str, Any]:
    """LoggingConfig / DeadLetterConfig as the template declared them ({} if absent)."""
    return getattr(function, "sandbox_extras", {})


# --------------------------------------------------------------------------- EventBridge


def _add_bus_statement(bus: EventBus, statement: dict[str, Any], default_sid: str) -> None:
    statement = dict(statement)
    statement.setdefault("Sid", default_sid)
    statement.setdefault("Effect", "Allow")
    statement.setdefault("Resource", bus.arn)
    bus._statements[statement["Sid"]] = EventBusPolicyStatement.from_dict(statement)


@dataclass(eq=False)  # eq=False: moto keeps resources by identity
class EventBusPolicyResource(SandboxResource, CloudFormationModel):
    """AWS::Events::EventBusPolicy: one statement of the bus's resource policy.

    Both forms are accepted: `Statement` (current) and Action/Principal/Condition
    (legacy, where Condition is {Type, Key, Value}).
    """

    resource_type, physical_id_attribute = "AWS::Events::EventBusPolicy", "statement_id"

    account_id: str
    region: str
    bus_name: str
    statement_id: str

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str, logical_id: str
    ) -> EventBusPolicyResource:
        bus_name = _bus_name(properties)
        bus = events_backends[account_id][region].describe_event_bus(bus_name)
        sid = properties["StatementId"]
        if "Statement" in properties:
            statement = _as_dict(properties["Statement"])
        else:
            principal = properties["Principal"]
            statement = {
                "Action": properties.get("Action", "events:PutEvents"),
                "Principal": principal if principal == "*" else {"AWS": f"arn:aws:iam::{principal}:root"},
            }
            if properties.get("Condition"):
                condition = properties["Condition"]
                statement["Condition"] = {condition["Type"]: {condition["Key"]: condition["Value"]}}
        _add_bus_statement(bus, {**statement, "Sid": sid}, sid)
        return cls(account_id, region, bus_name, sid)

    @classmethod
    def delete(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> None:
        bus = events_backends[account_id][region].describe_event_bus(_bus_name(properties))
        bus.remove_statement(properties["StatementId"])


def _bus_name(properties: dict[str, Any]) -> str:
    """EventBusName may be a name or an ARN; absent means the default bus."""
    return str(properties.get("EventBusName") or "default").split(":event-bus/")[-1]


def _apply_bus_policy(bus: EventBus, properties: dict[str, Any]) -> None:
    # moto ignores the Policy property of AWS::Events::EventBus.
    policy = properties.get("Policy")
    if policy:
        for index, statement in enumerate(_as_dict(policy)["Statement"]):
            _add_bus_statement(bus, statement, default_sid=f"Statement{index}")


# --------------------------------------------------------------------------- StackSet instances


def _stack_instance_init(
    moto_init: Any,
    self: Any,
    account_id: str,
    region_name: str,
    stackset_id: str,
    stack_name: str,
    name: str,
    template: str,
    parameters: Any,
    permission_model: str,
) -> None:
    """A StackSet instance whose stack CloudFormation refuses is OUTDATED with the reason
    (parameters, Rules, or the failed resource), not an error of CreateStackInstances."""
    values = (
        parameters
        if isinstance(parameters, dict)
        else {p["ParameterKey"]: p["ParameterValue"] for p in (parameters or [])}
    )
    self.sandbox_status_reason = parameter_refusal(template, values, account_id, region_name)
    if self.sandbox_status_reason:
        self.account_id, self.region_name, self.stackset_id = account_id, region_name, stackset_id
        self.stack_name, self.name, self.template = stack_name, name, template
        self.parameters, self.permission_model = parameters or [], permission_model
        self.stack = None
        return
    moto_init(self, account_id, region_name, stackset_id, stack_name, name, template, parameters, permission_model)
    if self.stack.status == "ROLLBACK_COMPLETE":
        failed = next(e for e in self.stack.events if e.resource_status == "CREATE_FAILED")
        self.sandbox_status_reason = (
            f"ResourceLogicalId:{failed.logical_resource_id}, ResourceType:"
            f"{failed.resource_type}, ResourceStatusReason:{failed.resource_status_reason}"
        )


def _stack_instance_to_dict(moto_to_dict: Any, self: Any) -> dict[str, Any]:
    described: dict[str, Any] = moto_to_dict(self)
    if getattr(self, "sandbox_status_reason", None):
        described.update(
            {
                "Status": "OUTDATED",
                "StatusReason": self.sandbox_status_reason,
                "StackInstanceStatus": {"DetailedStatus": "FAILED"},
            }
        )
    return described


def _stack_instance_delete(moto_delete: Any, self: Any) -> None:
    if self.stack is not None:
        moto_delete(self)


def _create_stack_instances_reporting_failures(
    moto_create: Any, self: StackSet, accounts: list[str], regions: list[str], *args: Any, **kwargs: Any
) -> str:
    """The operation FAILED when an instance failed (no failure tolerance is modelled)."""
    operation_id: str = moto_create(self, accounts, regions, *args, **kwargs)
    instances = [self.instances.get_instance(account, region) for account in accounts for region in regions]
    if any(getattr(instance, "sandbox_status_reason", None) for instance in instances if instance):
        self.get_operation(operation_id)["Status"] = "FAILED"
    return operation_id


# --------------------------------------------------------------------------- AWS::NoValue in lists


def _clean_json_dropping_novalue(moto_clean_json: Any, resource_json: Any, resources_map: Any) -> Any:
    """moto turns `Fn::If [c, x, !Ref AWS::NoValue]` inside a list into None; CloudFormation
    removes the element (docs/TESTING.md). moto's clean_json recurses through the module
    global, so this fixes nested lists too."""
    cleaned = moto_clean_json(resource_json, resources_map)
    if isinstance(resource_json, list) and isinstance(cleaned, list):
        return [item for item in cleaned if item is not None]
    return cleaned


# --------------------------------------------------------------------------- parameters


def parameter_refusal(
    template: str | dict[str, Any], parameters: dict[str, Any] | None, account_id: str, region: str
) -> str | None:
    """CloudFormation's ValidationError text for these parameter values (None: accepted).

    Constraints first, then Rules, as CloudFormation checks them before it touches
    any resource (docs/AWS-BEHAVIOUR.md §12)."""
    document = Stack.parse_template(template) if isinstance(template, str) else template
    messages = parameter_checks.refusals(document, parameters)
    if messages:
        return messages[0]
    values = parameter_checks.effective_values(document, parameters)
    failing = parameter_checks.failing_assertions(document, values, account_id, region)
    return failing[0] if failing else None


def _refuse_bad_parameters(template: Any, parameters: dict[str, Any] | None, account_id: str, region: str) -> None:
    message = parameter_refusal(template, parameters, account_id, region)
    if message:
        raise ValidationError(message=message)


def _create_stack_checking_parameters(
    moto_create_stack: Any,
    self: CloudFormationBackend,
    name: str,
    template: str,
    parameters: Any,
    *args: Any,
    **kwargs: Any,
) -> Any:
    _refuse_bad_parameters(template, parameters, self.account_id, self.region_name)
    try:
        return moto_create_stack(self, name, template, parameters, *args, **kwargs)
    except ResourceRefused as refused:
        # moto may create resources before create_resources (to compute exports).
        stack = next(s for s in self.stacks.values() if s.name == name and s.status != "DELETE_COMPLETE")
        roll_back(stack, refused)
        return stack


def _update_stack_checking_parameters(
    moto_update_stack: Any,
    self: CloudFormationBackend,
    name: str,
    template: str,
    role_arn: Any,
    parameters: Any,
    tags: Any,
) -> Any:
    stack = self.get_stack(name)
    resolved = self._resolve_update_parameters(instance=stack, incoming_params=parameters or [])
    _refuse_bad_parameters(template or stack.template, resolved, self.account_id, self.region_name)
    return moto_update_stack(self, name, template, role_arn, parameters, tags)


def _create_change_set_checking_parameters(
    moto_create_change_set: Any,
    self: CloudFormationBackend,
    stack_name: str,
    change_set_name: str,
    template: str,
    parameters: Any,
    *args: Any,
    **kwargs: Any,
) -> Any:
    _refuse_bad_parameters(template, parameters, self.account_id, self.region_name)
    return moto_create_change_set(self, stack_name, change_set_name, template, parameters, *args, **kwargs)


# --------------------------------------------------------------------------- policies


class ResourceRefused(Exception):
    """A resource the service refused to create: fails it, and rolls the stack back."""

    def __init__(self, logical_id: str, resource_type: str, reason: str):
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.reason = reason
        super().__init__(f"{logical_id} ({resource_type}): {reason}")


# Resource type -> the service that validates its documents, as CloudFormation names it.
_POLICY_SERVICES = MappingProxyType(
    {
        "AWS::IAM::Role": "Iam",
        "AWS::IAM::Policy": "Iam",
        "AWS::IAM::ManagedPolicy": "Iam",
        "AWS::IAM::RolePolicy": "Iam",
        "AWS::Backup::BackupVault": "Backup",
        "AWS::SQS::QueuePolicy": "Sqs",
        "AWS::Events::EventBus": "EventBridge",
        "AWS::Events::EventBusPolicy": "EventBridge",
        "AWS::KMS::Key": "Kms",
    }
)


def policy_documents(resource_type: str, properties: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(where, kind, document) of every policy document a resource's properties declare."""
    documents: list[tuple[str, str, Any]] = []
    if resource_type == "AWS::IAM::Role":
        if properties.get("AssumeRolePolicyDocument"):
            documents.append(("AssumeRolePolicyDocument", "trust", properties["AssumeRolePolicyDocument"]))
        for policy in properties.get("Policies") or []:
            documents.append((f"policy {policy.get('PolicyName')}", "identity", policy.get("PolicyDocument")))
    elif resource_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
        documents.append(("PolicyDocument", "identity", properties.get("PolicyDocument")))
    elif resource_type == "AWS::Backup::BackupVault" and properties.get("AccessPolicy"):
        documents.append(("AccessPolicy", "resource", properties["AccessPolicy"]))
    elif resource_type == "AWS::SQS::QueuePolicy":
        documents.append(("PolicyDocument", "resource", properties.get("PolicyDocument")))
    elif resource_type == "AWS::Events::EventBus" and properties.get("Policy"):
        documents.append(("Policy", "resource", properties["Policy"]))
    elif resource_type == "AWS::Events::EventBusPolicy" and properties.get("Statement"):
        statement = _as_dict(properties["Statement"])
        documents.append(("Statement", "resource", {"Version": "2012-10-17", "Statement": [statement]}))
    elif resource_type == "AWS::KMS::Key" and properties.get("KeyPolicy"):
        documents.append(("KeyPolicy", "resource", properties["KeyPolicy"]))
    return documents


@functools.cache
def _lambda_input_pattern(shape: str) -> re.Pattern[str]:
    """An AddPermission input's pattern, from Lambda's API model as botocore ships it."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("lambda")
    return re.compile(model.shape_for(shape).metadata["pattern"])


def _lambda_permission_refusal(properties: dict[str, Any]) -> str | None:
    action, source_arn = str(properties.get("Action", "")), properties.get("SourceArn")
    if not _lambda_input_pattern("Action").fullmatch(action) or (
        action.startswith("lambda:") and action != "lambda:*" and not iam_validation.matching_actions(action)
    ):
        return f"Action {action} is not a Lambda action"
    arn_pattern = _lambda_input_pattern("Arn")
    if source_arn is not None and not arn_pattern.fullmatch(str(source_arn)):
        return (
            f"1 validation error detected: Value '{source_arn}' at 'sourceArn' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {arn_pattern.pattern}"
        )
    return None


def resource_refusal(resource_type: str, properties: dict[str, Any], region: str) -> str | None:
    """The ResourceStatusReason CloudFormation shows when a policy of this resource is
    refused (None: every document passes). docs/AWS-BEHAVIOUR.md §11.1, §11.2, §12."""
    if resource_type == "AWS::Lambda::Permission":
        message = _lambda_permission_refusal(properties)
        return (
            f'Resource handler returned message: "{message} (Service: Lambda, Status Code: 400)"' if message else None
        )
    for where, kind, document in policy_documents(resource_type, properties):
        if document is None:
            continue
        problems = iam_validation.policy_problems(document, kind, get_partition(region))
        if problems:
            first = problems[0]
            statement = f", statement {first.statement}" if first.statement else ""
            return (
                f'Resource handler returned message: "{first.code}: {first.message} '
                f'(Service: {_POLICY_SERVICES[resource_type]}, Status Code: 400)" ({where}{statement})'
            )
    return None


def _parse_resource_checking_policies(moto_parse: Any, logical_id: str, resource_json: Any, resources_map: Any) -> Any:
    parsed = moto_parse(logical_id, resource_json, resources_map)
    if parsed:
        _, cleaned, _ = parsed
        resource_type = cleaned.get("Type", "")
        reason = resource_refusal(resource_type, cleaned.get("Properties") or {}, resources_map._region_name)
        if reason:
            raise ResourceRefused(logical_id, resource_type, reason)
    return parsed


def _resource_event(stack: Stack, refused: ResourceRefused, status: str) -> None:
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=refused.logical_id,
            physical_resource_id="",
            resource_type=refused.resource_type,
            resource_status=status,
            resource_status_reason=refused.reason,
            resource_properties=None,
        )
    )


class _NoOutputs:
    """A rolled-back stack shows no outputs (and must not create resources to compute them)."""

    exports: list[Any] = []

    def values(self) -> list[Any]:
        return []


def roll_back(stack: Stack, refused: ResourceRefused) -> None:
    """Fail the refused resource and roll the stack back, as CloudFormation does on create."""
    _resource_event(stack, refused, "CREATE_FAILED")
    stack.status_reason = (
        f"The following resource(s) failed to create: [{refused.logical_id}]. Rollback requested by user."
    )
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=stack.status_reason)
    with contextlib.suppress(Exception):  # a rollback deletes what it can
        stack.resource_map.delete()  # what was created before the failure
    stack.resource_map._resource_json_map = {}  # nothing left to create lazily
    stack.output_map = _NoOutputs()  # type: ignore[assignment]
    stack.status = "ROLLBACK_COMPLETE"
    stack._add_stack_event("ROLLBACK_COMPLETE")


def _create_resources_or_roll_back(moto_create_resources: Any, self: Stack) -> None:
    try:
        moto_create_resources(self)
    except ResourceRefused as refused:
        roll_back(self, refused)


def _update_or_roll_back(moto_update: Any, self: Stack, template: str, *args: Any, **kwargs: Any) -> None:
    previous = self.template
    try:
        moto_update(self, template, *args, **kwargs)
    except ResourceRefused as refused:
        _resource_event(self, refused, "UPDATE_FAILED")
        self.template = previous
        self._parse_template()
        self.status_reason = f"The following resource(s) failed to update: [{refused.logical_id}]."
        self.status = "UPDATE_ROLLBACK_COMPLETE"
        self._add_stack_event("UPDATE_ROLLBACK_COMPLETE", resource_status_reason=self.status_reason)


# --------------------------------------------------------------------------- install


def _log_group_attribute(moto_get_att: Any, self: LogGroup, attribute_name: str) -> Any:
    # CloudFormation's GetAtt Arn of AWS::Logs::LogGroup ends in ":*" (moto's has no
    # suffix); an IAM statement on it then covers the group's log streams
    # (docs/AWS-BEHAVIOUR.md §11.1).
    if attribute_name == "Arn":
        return f"{self.arn}:*"
    return moto_get_att(self, attribute_name)


def _log_group_key_refusal(properties: dict[str, Any], name: str, account_id: str, region: str) -> str | None:
    key = properties.get("KmsKeyId")
    if not key:
        return None
    arn = f"arn:{get_partition(region)}:logs:{region}:{account_id}:log-group:{name}"
    return log_group_key_refusal(authorization.decide, str(key), account_id, region, arn)


def _create_log_group_checking_key(
    moto_create: Any,
    cls: Any,
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Any:
    # CloudWatch Logs refuses a KmsKeyId its service principal may not use; the stack fails
    # (docs/AWS-BEHAVIOUR.md §19 item 72).
    properties = cloudformation_json.get("Properties") or {}
    name = properties.get("LogGroupName") or resource_name
    refused = _log_group_key_refusal(properties, name, account_id, region_name)
    if refused:
        raise ResourceRefused(
            kwargs.get("LogicalId", name),
            "AWS::Logs::LogGroup",
            f'Resource handler returned message: "{refused} (Service: CloudWatchLogs, Status Code: 400)"',
        )
    group = moto_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    if properties.get("KmsKeyId"):  # moto reads only the API's spelling, kmsKeyId
        group.kms_key_id = str(properties["KmsKeyId"])
    return group


# (owner, attribute, wrapper): each wrapper takes what moto had there as its first argument.
_WRAPPED: tuple[tuple[Any, str, Any], ...] = (
    (LogGroup, "get_cfn_attribute", _log_group_attribute),
    (LogGroup, "create_from_cloudformation_json", _create_log_group_checking_key),
    (LambdaFunction, "create_from_cloudformation_json", _created_then(_keep_function_extras)),
    (EventBus, "create_from_cloudformation_json", _created_then(_apply_bus_policy)),
    (parsing, "clean_json", _clean_json_dropping_novalue),
    (parsing, "parse_resource_and_generate_name", _parse_resource_checking_policies),
    (Stack, "create_resources", _create_resources_or_roll_back),
    (Stack, "update", _update_or_roll_back),
    (CloudFormationBackend, "create_stack", _create_stack_checking_parameters),
    (CloudFormationBackend, "update_stack", _update_stack_checking_parameters),
    (CloudFormationBackend, "create_change_set", _create_change_set_checking_parameters),
    (StackInstance, "__init__", _stack_instance_init),
    (StackInstance, "to_dict", _stack_instance_to_dict),
    (StackInstance, "delete", _stack_instance_delete),
    (StackSet, "create_stack_instances", _create_stack_instances_reporting_failures),
)
_MODEL_CACHES = (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map)


def _bus_physical_id(bus: EventBus) -> str:
    return str(bus.name)


class CloudFormationSupport:
    """Makes moto's CloudFormation create the types above and refuse what CloudFormation refuses,
    for as long as it is installed."""

    def __init__(self) -> None:
        self.patches = Patches()

    def install(self) -> CloudFormationSupport:
        if self.patches.active:
            return self
        for owner, name, wrapper in _WRAPPED:
            self.patches.wrap(owner, name, wrapper)
        # Ref on AWS::Events::EventBus returns the bus name; moto's model has no
        # physical_resource_id, so its Ref yields the Python object.
        self.patches.replace(EventBus, "physical_resource_id", property(_bus_physical_id))
        self.patches.on_undo(_forget_sandbox_models)
        for cached in _MODEL_CACHES:
            cached.cache_clear()  # rebuilt on first use, with every SandboxResource class
        return self

    def uninstall(self) -> None:
        self.patches.undo()


def _forget_sandbox_models() -> None:
    """moto's type map as it is without the sandbox: the resource classes stay subclasses of
    CloudFormationModel while Python holds them, so the rebuilt list is filtered in place."""
    for cached in _MODEL_CACHES:
        cached.cache_clear()
    models = parsing.get_model_list()
    models[:] = [model for model in models if not issubclass(model, SandboxResource)]
