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

Not modelled: server-side encryption of topics (KmsMasterKeyId is kept but no KMS
permission is checked) and every protocol other than e-mail.
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

EMAIL_PROTOCOLS = ("email", "email-json")


class AuthorizationError(SNSException):
    code = "AuthorizationError"


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
            if (subscription.topic.arn == topic_arn and subscription.protocol in EMAIL_PROTOCOLS
                    and subscription.arn not in self.pending):
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
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region: str,
               logical_id: str) -> TopicPolicyResource:
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

_saved: dict[str, Any] = {}
_active: Sns | None = None


def install(sns: Sns) -> None:
    global _active
    from moto.cloudformation import parsing

    _active = sns
    if not _saved:
        _saved.update(subscribe=SNSBackend.subscribe, publish=SNSResponse.publish)

    def subscribe(backend: SNSBackend, topic_arn: str, endpoint: str, protocol: str) -> Any:
        known = backend._find_subscription(topic_arn, endpoint, protocol)
        subscription = _saved["subscribe"](backend, topic_arn, endpoint, protocol)
        if protocol in EMAIL_PROTOCOLS and known is None and _active is not None:
            _active.pending.add(subscription.arn)
            subscription.attributes["PendingConfirmation"] = "true"
            subscription.confirmed = False
        return subscription

    def publish(response: SNSResponse) -> Any:
        # Who may publish is decided before, by the sandbox's one authorisation gate
        # (authorization.py: the caller's identity policy and the topic's access policy).
        topic_arn = response._get_param("TopicArn") or response._get_param("TargetArn")
        result = _saved["publish"](response)
        if _active is not None and topic_arn:
            _active.delivered(topic_arn, response._get_param("Subject"), response._get_param("Message"))
        return result

    SNSBackend.subscribe = subscribe  # type: ignore[method-assign]
    SNSResponse.publish = publish  # type: ignore[method-assign]
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


def uninstall() -> None:
    global _active
    _active = None
    if _saved:
        SNSBackend.subscribe = _saved["subscribe"]  # type: ignore[method-assign]
        SNSResponse.publish = _saved["publish"]  # type: ignore[method-assign]
