"""The one place where the sandbox authorises a request, as IAM would (docs/AWS-BEHAVIOUR.md §11.3).

Two kinds of caller reach it:

* HTTP requests to moto. `Gate.install()` puts `authorize_http` in front of every moto action
  (moto calls `_authenticate_and_authorize_normal_action` before it runs any handler, in
  process and in server mode alike). A request signed with the credentials of a role session
  whose role exists in moto's IAM (the deployed function's execution role) is governed: its
  role's identity policies, and the resource's policy where the resource has one, must allow
  it. Sessions of roles that IAM does not know (the sandbox's operator credentials, standing
  for account administrators) pass, as they did before.
* The services acting inside the sandbox: EventBridge delivering to Lambda, SQS and buses (as
  events.amazonaws.com, or with a target's role), Lambda sending on-failure records with the
  function's role, AWS Backup copying with the copy role. The Sandbox gives the bridge and the
  Lambda runtime its gate's `decide`, which tells the gate's listeners (tests, traces) of each
  decision; AWS Backup's copy rules (backup/copy_rules.py) still call the module's `decide`, which
  tells no one.

Both end in `decide`, which reads the principal's identity policies from moto's IAM backend,
evaluates them with the resource policy (policies.evaluate) and answers with IAM's reason.
moto's own IAM enforcement (moto.core.authorization, INITIAL_NO_AUTH_ACTION_COUNT) is not
reused: it checks identity policies only, against Resource "*" for most services, with no
resource policies and no condition keys, and so cannot judge what this has to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from moto.core.exceptions import JsonRESTError

from .helpers import arn_parts
from .key_use import QUEUE_KEY_ACTIONS, find_key, queue_key_of
from .patches import Patches
from .policies import Decision, Request, denial_message, evaluate, statements_of

BACKUP_SERVICE = "backup.amazonaws.com"


class AccessDeniedException(JsonRESTError):
    """IAM's refusal, as the JSON services (AWS Backup, Lambda, EventBridge, SQS...) return it."""

    code = 403

    def __init__(self, message: str):
        super().__init__("AccessDeniedException", message)


class KmsAccessDenied(JsonRESTError):
    """What SQS answers when the caller may not use the queue's key."""

    code = 400

    def __init__(self, message: str):
        super().__init__("KMS.AccessDeniedException", message)


# --------------------------------------------------------------------------------------------
# Principals and their identity policies


@dataclass(frozen=True)
class Caller:
    """An IAM role session: the role, the session's ARN and the account."""

    role_arn: str
    session_arn: str
    account: str


def role_policy_statements(role_arn: str) -> list[dict[str, Any]] | None:
    """Statements of a moto IAM role's inline and attached (default version) policies; None if
    IAM has no such role."""
    from moto.iam.models import iam_backends

    try:
        partition, _, _, account, resource = arn_parts(role_arn)
        role = iam_backends[account][partition].get_role(resource.split("/")[-1])
    except Exception:
        return None
    documents = list(role.policies.values()) + [
        version.document
        for policy in role.managed_policies.values()
        for version in policy.versions
        if version.is_default
    ]
    return [s for document in documents for s in statements_of(document)]


def service_may_assume(role_arn: str, service: str) -> bool | None:
    """Whether the role's trust policy lets `service` (e.g. backup.amazonaws.com) assume it; None
    if IAM has no such role. AWS Backup and Lambda refuse a role they can't assume
    (docs/AWS-BEHAVIOUR.md §4.2, §5.5)."""
    from moto.iam.models import iam_backends

    try:
        partition, _, _, account, _ = arn_parts(role_arn)
        role = iam_backends[account][partition].get_role_by_arn(role_arn)
    except Exception:
        return None
    trust = Request(action="sts:AssumeRole", resource=role_arn, service=service)
    return evaluate(None, statements_of(role.assume_role_policy_document), trust, account).allowed


def session_arn_of(role_arn: str, session_name: str) -> str:
    """arn:<partition>:sts::<account>:assumed-role/<role name>/<session> (no path, as STS writes it)."""
    partition, _, _, account, resource = arn_parts(role_arn)
    return f"arn:{partition}:sts::{account}:assumed-role/{resource.split('/')[-1]}/{session_name}"


def caller_of_access_key(access_key: str | None) -> Caller | None:
    """The role session behind a moto STS access key, or None."""
    if not access_key:
        return None
    from moto.sts.models import sts_backends

    for partitions in list(sts_backends.values()):
        for backend in list(partitions.values()):
            assumed = backend.get_assumed_role_from_access_key(access_key)
            if assumed is not None:
                role_arn = assumed.role_arn
                return Caller(role_arn, session_arn_of(role_arn, assumed.session_name), arn_parts(role_arn)[3])
    return None


# --------------------------------------------------------------------------------------------
# The decision


OrgLookup = Callable[[str], "str | None"]


def _default_org_lookup(account: str) -> str | None:
    from .backup import installed_service  # the sandbox's organisation registry

    try:
        return installed_service().organization_of(account)
    except RuntimeError:  # no AWS Backup installed: no organisation known
        return None


def principal_context(
    account: str,
    role_arn: str | None,
    org_of_account: OrgLookup | None = None,
) -> dict[str, str]:
    """The global keys IAM sets for a role session (docs/AWS-BEHAVIOUR.md §11.4): aws:PrincipalArn
    (the role's ARN), aws:PrincipalAccount, aws:PrincipalType, and aws:PrincipalOrgID only when
    the account is in an organisation."""
    context = {"aws:PrincipalAccount": account, "aws:SecureTransport": "true"}
    if role_arn:
        context.update({"aws:PrincipalArn": role_arn, "aws:PrincipalType": "AssumedRole"})
    org_id = (org_of_account or _default_org_lookup)(account)
    if org_id:
        context["aws:PrincipalOrgID"] = org_id
    return context


def _arn_names_account(resource: str) -> bool:
    """False for an ARN whose account segment is empty (arn:aws:ec2:us-east-1::snapshot/...)."""
    parts = resource.split(":", 5)
    return not (resource.startswith("arn:") and len(parts) == 6 and parts[4] == "")


def decide(
    request: Request,
    resource_statements: Iterable[dict[str, Any]] | None,
    resource_account: str | None,
    identity_statements: Iterable[dict[str, Any]] | None = None,
) -> Decision:
    """Whether `request` is allowed. A role principal's identity policies are read from IAM
    (unless given); a service principal (request.service) has none, so only the resource policy
    can allow it. aws:ResourceAccount is put in the context here, for every request on a
    resource whose ARN names its account: for an ARN without one (an EBS snapshot or AMI
    recovery point) it is left out, the strict reading (docs/AWS-BEHAVIOUR.md §19, item 5)."""
    request = with_resource_account(request, resource_account)
    identity: list[dict[str, Any]] | None = None
    if request.service is None:
        identity = (
            list(identity_statements)
            if identity_statements is not None
            else (role_policy_statements(request.principal_arn) if request.principal_arn else None) or []
        )
    return evaluate(identity, resource_statements, request, resource_account)


def with_resource_account(request: Request, resource_account: str | None) -> Request:
    """The request with aws:ResourceAccount in its context (see `decide`)."""
    context = dict(request.context)
    if resource_account and _arn_names_account(request.resource):
        context.setdefault("aws:ResourceAccount", resource_account)
    return Request(
        request.action,
        request.resource,
        request.principal_account,
        request.principal_arn,
        request.service,
        context,
        request.session_arn,
    )


def authorize(
    request: Request, resource_statements: Iterable[dict[str, Any]] | None, resource_account: str | None
) -> None:
    """`decide`, raising IAM's AccessDeniedException when refused."""
    decision = decide(request, resource_statements, resource_account)
    if not decision.allowed:
        raise AccessDeniedException(denial_message(request, decision))


# --------------------------------------------------------------------------------------------
# HTTP requests: what each governed call acts on


@dataclass(frozen=True)
class Access:
    """One authorisation an API call needs: action, resource, its policy, its account."""

    action: str
    resource: str
    resource_account: str | None
    resource_statements: list[dict[str, Any]] | None = None  # None: no resource-based policy
    context: dict[str, str] | None = None


def _vault_policy(account: str, region: str, vault_name: str | None) -> list[dict[str, Any]] | None:
    from moto.backup.models import backup_backends

    vault = backup_backends[account][region].vaults.get(vault_name or "")
    policy = getattr(vault, "sandbox_access_policy", None) if vault is not None else None
    return statements_of(policy) if policy else None


def _backup_accesses(response: Any, operation: str) -> list[Access] | None:
    """What an AWS Backup call is authorised against (Service Authorization Reference, AWS Backup;
    docs/AWS-BEHAVIOUR.md §11.2); None: an operation without a resource type (Resource "*")."""
    account, region = response.current_account, response.region
    partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
    param = response._get_param
    vault_name = param("BackupVaultName") or param("SourceBackupVaultName")
    vault_arn = f"arn:{partition}:backup:{region}:{account}:backup-vault:{vault_name}"
    if operation in ("DescribeRecoveryPoint", "UpdateRecoveryPointLifecycle", "DeleteRecoveryPoint", "StartCopyJob"):
        # The recovery point (its own service's ARN for EBS, RDS...), in the vault's account.
        accesses = [
            Access(
                f"backup:{operation}",
                param("RecoveryPointArn") or "",
                account,
                _vault_policy(account, region, vault_name),
            )
        ]
        if operation == "StartCopyJob" and param("IamRoleArn"):
            # Handing the copy role to AWS Backup (docs/AWS-BEHAVIOUR.md §11.4: iam:PassedToService).
            role_arn = param("IamRoleArn")
            accesses.append(
                Access("iam:PassRole", role_arn, arn_parts(role_arn)[3], None, {"iam:PassedToService": BACKUP_SERVICE})
            )
        return accesses
    if operation in (
        "DescribeBackupVault",
        "ListRecoveryPointsByBackupVault",
        "StartBackupJob",
        "GetBackupVaultAccessPolicy",
        "PutBackupVaultAccessPolicy",
        "DeleteBackupVaultAccessPolicy",
        "DeleteBackupVault",
    ):
        return [Access(f"backup:{operation}", vault_arn, account, _vault_policy(account, region, vault_name))]
    return None


def _sqs_accesses(response: Any, operation: str) -> list[Access] | None:
    """SQS queue operations act on the queue (its ARN from the QueueUrl), under the queue policy."""
    url = response._get_param("QueueUrl")
    if not url or operation in ("ListQueues", "CreateQueue", "GetQueueUrl"):
        return None
    account, name = url.rstrip("/").split("/")[-2:]
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[account][response.region].queues.get(name)
    arn = f"arn:aws:sqs:{response.region}:{account}:{name}"
    policy = statements_of(queue.policy) if queue is not None and queue.policy else None
    accesses = [Access(f"sqs:{operation}", arn, account, policy)]
    # A queue under a customer managed key: SQS uses the key for the caller, so the caller needs
    # the key too (docs/AWS-BEHAVIOUR.md §19 item 71).
    key_reference = queue_key_of(queue) if queue is not None else None
    key = find_key(key_reference, account, response.region) if key_reference else None
    if key is not None and operation in _QUEUE_KEY_OPERATIONS:
        context = {"kms:ViaService": f"sqs.{response.region}.amazonaws.com", "kms:EncryptionContext:aws:sqs:arn": arn}
        accesses += [
            Access(action, key.arn, key.account_id, statements_of(key.policy), context)
            for action in _QUEUE_KEY_OPERATIONS[operation]
        ]
    return accesses


# SQS operations that use the queue's key, and the KMS actions each needs.
_QUEUE_KEY_OPERATIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"SendMessage": QUEUE_KEY_ACTIONS, "SendMessageBatch": QUEUE_KEY_ACTIONS, "ReceiveMessage": ("kms:Decrypt",)}
)


def _kms_accesses(response: Any, operation: str) -> list[Access] | None:
    """KMS key operations act on the key, under its key policy (every key has one)."""
    key_id = response._get_param("KeyId")
    if not key_id:
        return None
    from moto.kms.models import kms_backends

    try:
        key = kms_backends[response.current_account][response.region].describe_key(key_id)
    except Exception:
        return None
    return [Access(f"kms:{operation}", key.arn, key.account_id, statements_of(key.policy))]


def _sns_accesses(response: Any, operation: str) -> list[Access] | None:
    """Publish acts on the topic, under its access policy (alerts, docs/AWS-BEHAVIOUR.md §18.2)."""
    topic_arn = response._get_param("TopicArn") or response._get_param("TargetArn")
    if operation != "Publish" or not topic_arn or ":sns:" not in topic_arn:
        return None
    from moto.sns.models import sns_backends

    _, _, region, account, _ = arn_parts(topic_arn)
    topic = sns_backends[account][region].topics.get(topic_arn)
    return [Access("sns:Publish", topic_arn, account, statements_of(topic.policy) if topic else None)]


RESOLVERS: Mapping[str, Callable[[Any, str], list[Access] | None]] = MappingProxyType(
    {"backup": _backup_accesses, "sqs": _sqs_accesses, "kms": _kms_accesses, "sns": _sns_accesses}
)


def accesses_of(response: Any) -> list[Access]:
    """The authorisations a moto request needs; an operation the sandbox does not map is
    authorised against Resource "*" (strict: only a statement for every resource allows it)."""
    service = getattr(response, "service_name", None) or ""
    operation = response._get_action() or ""
    resolver = RESOLVERS.get(service)
    accesses = resolver(response, operation) if resolver else None
    if accesses is None:
        prefix = {"awslambda": "lambda", "lambda": "lambda"}.get(service, service)
        accesses = [Access(f"{prefix}:{operation}", "*", None)]
    return accesses


class Gate:
    """The sandbox's one authorisation: `decide` for the services acting inside it (they are given
    this gate's `decide`), and `authorize_http` in front of every moto action once installed.
    Listeners are told of every decision made through it (tests, traces)."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[Request, Decision], None]] = []
        self.patches = Patches()

    def add_listener(self, listener: Callable[[Request, Decision], None]) -> None:
        self.listeners.append(listener)

    def remove_listener(self, listener: Callable[[Request, Decision], None]) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)

    def decide(
        self,
        request: Request,
        resource_statements: Iterable[dict[str, Any]] | None,
        resource_account: str | None,
        identity_statements: Iterable[dict[str, Any]] | None = None,
    ) -> Decision:
        """The module's `decide`, told to the listeners."""
        request = with_resource_account(request, resource_account)  # as the listeners are told it
        decision = decide(request, resource_statements, resource_account, identity_statements)
        for listener in list(self.listeners):
            listener(request, decision)
        return decision

    def authorize_http(self, response: Any) -> None:
        """Run before every moto action: a governed role session must be allowed each access."""
        caller = caller_of_access_key(response.get_access_key())
        if caller is None:
            return
        identity = role_policy_statements(caller.role_arn)
        if identity is None:  # not a role IAM knows: the sandbox's operator credentials
            return
        for access in accesses_of(response):
            request = Request(
                action=access.action,
                resource=access.resource,
                principal_account=caller.account,
                principal_arn=caller.role_arn,
                session_arn=caller.session_arn,
                context={
                    **principal_context(caller.account, caller.role_arn),
                    "aws:RequestedRegion": response.region,
                    **(access.context or {}),
                },
            )
            decision = self.decide(request, access.resource_statements, access.resource_account, identity)
            if not decision.allowed:
                if access.action.startswith("sns:"):  # SNS answers in its own words (query protocol)
                    from .sns import AuthorizationError

                    raise AuthorizationError(denial_message(request, decision))
                if access.action.startswith("kms:") and getattr(response, "service_name", None) == "sqs":
                    raise KmsAccessDenied(denial_message(request, decision))  # SQS using a key for the caller
                raise AccessDeniedException(denial_message(request, decision))

    def install(self) -> Gate:
        from moto.core.authorization import ActionAuthenticatorMixin

        if not self.patches.active:
            gate = self

            def authenticate_and_authorize(moto_check: Any, response: Any, resource: str = "*") -> None:
                moto_check(response, resource)
                gate.authorize_http(response)

            self.patches.wrap(
                ActionAuthenticatorMixin, "_authenticate_and_authorize_normal_action", authenticate_and_authorize
            )
        return self

    def uninstall(self) -> None:
        self.patches.undo()
