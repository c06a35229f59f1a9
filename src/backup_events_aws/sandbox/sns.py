"""SNS for the sandbox: who may publish, and what an e-mail subscriber receives.

moto 5.2.5 lets anyone publish to any topic, has no AWS::SNS::TopicPolicy for
CloudFormation, confirms e-mail subscriptions at once and delivers nothing to them. The
alert path needs what SNS does (docs/AWS-BEHAVIOUR.md §18):

* Publish is an IAM decision, made by the sandbox's one gate (authorization.py): the
  caller's identity policy and the topic's access policy; in the same account either may
  allow, across accounts both must, and an explicit Deny wins. Refused: AuthorizationError.
* AWS::SNS::TopicPolicy replaces the topic's access policy.
* An e-mail (email, email-json) subscription stays PendingConfirmation until its owner
  follows the link SNS mails (`confirm(...)` stands for that click); a pending subscription
  receives nothing.
* Each message delivered to a confirmed e-mail subscription is recorded in `mailbox`
  (subject and body as the subscriber reads them), for the demo and the tests.

* A topic with server-side encryption (KmsMasterKeyId): SNS encrypts each message with a data
  key of that KMS key, as the publisher (docs/AWS-BEHAVIOUR.md §18.3). A governed publisher (a
  role IAM knows) needs kms:GenerateDataKey and kms:Decrypt on the key: its identity policy and
  the key policy, which must allow the role itself or delegate to its account (KMS: an identity
  policy alone never grants, even in the key's account, §19 item 60); across accounts both sides
  must allow.
  The AWS managed key aws/sns admits only its own account, through SNS: another account's
  publisher is always refused (its policy can't be changed). Refused: KMSAccessDenied; a key that
  doesn't exist: KMSNotFound; a disabled key: KMSDisabled (SNS's codes; §19 item 50 for the words).

Not modelled: every protocol other than e-mail.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.sns.exceptions import SNSException
from moto.sns.models import SNSBackend, sns_backends
from moto.sns.responses import SNSResponse

from .cloudformation import SandboxResource
from .helpers import arn_parts
from .patches import Patches

EMAIL_PROTOCOLS = ("email", "email-json")


class AuthorizationError(SNSException):
    code = "AuthorizationError"


class KMSAccessDenied(SNSException):
    code = "KMSAccessDenied"


class KMSNotFound(SNSException):
    code = "KMSNotFound"


class KMSDisabled(SNSException):
    code = "KMSDisabled"


# The words of SNS's API reference for each error (Publish, Errors), then the detail.
KMS_ACCESS_DENIED = "The ciphertext references a key that doesn't exist or that you don't have access to."
KMS_NOT_FOUND = "The request was rejected because the specified entity or resource can't be found."
KMS_DISABLED = "The request was rejected because the specified customer master key (CMK) isn't enabled."
KMS_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


def topic_key_refusal(topic_arn: str, key_id: str, caller: Any, identity: list[dict[str, Any]]) -> SNSException | None:
    """Why SNS can't encrypt a message to this topic with its key as this publisher, or None."""
    from moto.kms.models import kms_backends

    from . import policies
    from .authorization import decide, principal_context

    _, _, region, account, _ = arn_parts(topic_arn)
    if key_id.startswith("arn:"):  # a key (or alias) ARN names its own account and region
        _, _, region, account, _ = arn_parts(key_id)
    name = key_id.split(":", 5)[-1] if key_id.startswith("arn:") else key_id
    if name == "alias/aws/sns":
        if caller.account != account:
            return KMSAccessDenied(
                f"{KMS_ACCESS_DENIED} The AWS managed key alias/aws/sns of account {account} "
                f"admits only its own account; {caller.role_arn} is in {caller.account}."
            )
        return None
    try:
        key = kms_backends[account][region].describe_key(key_id)
    except Exception:
        return KMSNotFound(f"{KMS_NOT_FOUND} Invalid keyId {key_id}")
    if not key.enabled:
        return KMSDisabled(f"{KMS_DISABLED} Key {key.arn} is disabled.")
    key_policy = policies.statements_of(key.policy)
    context = {
        **principal_context(caller.account, caller.role_arn),
        "kms:CallerAccount": caller.account,
        "kms:ViaService": f"sns.{arn_parts(topic_arn)[2]}.amazonaws.com",
        "kms:EncryptionContext:aws:sns:topicArn": topic_arn,
    }
    for action in KMS_ACTIONS:
        request = policies.Request(
            action=action,
            resource=key.arn,
            principal_account=caller.account,
            principal_arn=caller.role_arn,
            session_arn=caller.session_arn,
            context=context,
        )
        # The one evaluator: the key policy must allow, naming the role or its account (§19 item 60).
        decision = decide(request, key_policy, key.account_id, identity)
        if not decision:
            return KMSAccessDenied(
                f"{KMS_ACCESS_DENIED} {policies.denial_message(request, decision)} "
                "(Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException)"
            )
    return None


@dataclass
class Mail:
    at: datetime.datetime
    topic_arn: str
    endpoint: str
    subject: str | None
    message: str


class Sns:
    def __init__(self, now: Callable[[], datetime.datetime]):
        self.now = now
        self.mailbox: list[Mail] = []
        self.pending: set[str] = set()  # subscription ARNs awaiting confirmation

    def confirm(self, endpoint: str) -> int:
        """The owner of `endpoint` follows the confirmation link of each pending subscription."""
        confirmed = 0
        for backend in _all_backends():
            for subscription in backend.subscriptions.values():
                if subscription.endpoint == endpoint and subscription.arn in self.pending:
                    self.pending.discard(subscription.arn)
                    subscription.attributes["PendingConfirmation"] = "false"
                    subscription.confirmed = True
                    confirmed += 1
        return confirmed

    def mail_for(self, endpoint: str) -> list[Mail]:
        return [mail for mail in self.mailbox if mail.endpoint == endpoint]

    # ------------------------------------------------------------------ publish

    def delivered(self, topic_arn: str, subject: str | None, message: str) -> None:
        _, _, region, account, _ = arn_parts(topic_arn)
        backend = sns_backends[account][region]
        for subscription in list(backend.subscriptions.values()):
            if (
                subscription.topic.arn == topic_arn
                and subscription.protocol in EMAIL_PROTOCOLS
                and subscription.arn not in self.pending
            ):
                self.mailbox.append(Mail(self.now(), topic_arn, subscription.endpoint, subject, message))


def _all_backends() -> list[SNSBackend]:
    return [backend for account in list(sns_backends.values()) for backend in list(account.values())]


# --------------------------------------------------------------------------- CloudFormation


class TopicPolicyResource(SandboxResource, CloudFormationModel):
    """AWS::SNS::TopicPolicy: PolicyDocument becomes the access policy of each topic in Topics."""

    resource_type = "AWS::SNS::TopicPolicy"
    get_att = {"Id": "name"}

    def __init__(self, name: str, topics: list[str]):
        self.name, self.topics = name, topics

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str, logical_id: str
    ) -> TopicPolicyResource:
        document = properties["PolicyDocument"]
        text = document if isinstance(document, str) else json.dumps(document)
        for topic_arn in properties["Topics"]:
            _, _, topic_region, account, _ = arn_parts(topic_arn)
            sns_backends[account][topic_region].topics[topic_arn].policy = text
        return cls(name, list(properties["Topics"]))

    @classmethod
    def delete(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> None:
        for topic_arn in properties["Topics"]:
            _, _, topic_region, account, _ = arn_parts(topic_arn)
            topic = sns_backends[account][topic_region].topics.get(topic_arn)
            if topic is not None:
                topic.policy = json.dumps(topic._create_default_topic_policy(topic_region, account, topic.name))


# --------------------------------------------------------------------------- install


class SnsExtension:
    """Subscriptions awaiting confirmation and published messages for one `Sns` model, and the
    topic's KMS check (docs/AWS-BEHAVIOUR.md §18.3); every patch recorded and undone."""

    def __init__(self, sns: Sns):
        self.sns = sns
        self.patches = Patches()

    def install(self) -> SnsExtension:
        if self.patches.active:
            return self
        from moto.cloudformation import parsing

        model = self.sns
        original_subscribe, original_publish = SNSBackend.subscribe, SNSResponse.publish

        def subscribe(backend: SNSBackend, topic_arn: str, endpoint: str, protocol: str) -> Any:
            known = backend._find_subscription(topic_arn, endpoint, protocol)
            subscription = original_subscribe(backend, topic_arn, endpoint, protocol)
            if protocol in EMAIL_PROTOCOLS and known is None:
                model.pending.add(subscription.arn)
                subscription.attributes["PendingConfirmation"] = "true"
                subscription.confirmed = False
            return subscription

        def publish(response: SNSResponse) -> Any:
            # Who may publish is decided before, by the sandbox's one authorisation gate
            # (authorization.py: the caller's identity policy and the topic's access policy).
            topic_arn = response._get_param("TopicArn") or response._get_param("TargetArn")
            refusal = _key_refusal(response, topic_arn) if topic_arn else None
            if refusal is not None:
                raise refusal
            result = original_publish(response)
            if topic_arn:
                model.delivered(topic_arn, response._get_param("Subject"), response._get_param("Message"))
            return result

        self.patches.replace(SNSBackend, "subscribe", subscribe)
        self.patches.replace(SNSResponse, "publish", publish)
        for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
            cached.cache_clear()
        return self

    def uninstall(self) -> None:
        self.patches.undo()


def _key_refusal(response: SNSResponse, topic_arn: str) -> SNSException | None:
    """The topic's KMS check for a governed publisher (operator credentials pass, as at the gate)."""
    from .authorization import caller_of_access_key, role_policy_statements

    _, _, region, account, _ = arn_parts(topic_arn)
    topic = sns_backends[account][region].topics.get(topic_arn)
    key_id = getattr(topic, "kms_master_key_id", "") if topic is not None else ""
    caller = caller_of_access_key(response.get_access_key()) if key_id else None
    identity = role_policy_statements(caller.role_arn) if caller is not None else None
    if caller is None or identity is None:
        return None
    return topic_key_refusal(topic_arn, key_id, caller, identity)
