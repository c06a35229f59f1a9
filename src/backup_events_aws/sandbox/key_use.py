"""A service using a KMS key for a principal: the key policy must let that principal use it.

Three places in the sandbox need this (docs/AWS-BEHAVIOUR.md §19, items 70 to 74):

* SQS encrypting a message for its sender: EventBridge (events.amazonaws.com) delivering to a
  queue encrypted with a customer managed key, as a target or as a dead-letter queue, and
  Lambda sending on-failure records with the function's execution role, need
  kms:GenerateDataKey and kms:Decrypt on the queue's key;
* CloudWatch Logs creating a log group with a KmsKeyId: the regional service principal
  logs.<region>.amazonaws.com must be allowed the key's use, with the log group's ARN as
  kms:EncryptionContext:aws:logs:arn.

Each decision goes through the sandbox's one evaluator (policies.evaluate, via the `decide`
given), so the key-policy rule of §19 item 60 applies: an identity policy alone never grants a
key; a service principal has only the key policy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from .helpers import arn_parts
from .policies import Decision, Request, denial_message, statements_of

# What SQS calls KMS for on a sender's behalf (SendMessage: a data key, and decrypting a cached one).
QUEUE_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
# What CloudWatch Logs' documented key policy statement grants its service principal (Encrypt*,
# Decrypt*, ReEncrypt*, GenerateDataKey*, Describe*): each family must be allowed (strict, §19 item 72).
LOGS_KEY_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:DescribeKey",
)

Decide = Callable[..., Decision]  # authorization.decide's signature


@dataclasses.dataclass(frozen=True)
class KeyRefusal:
    """Why a key may not be used: the request refused and KMS's words for it."""

    request: Request
    message: str


def find_key(key_reference: str, account: str, region: str) -> Any | None:
    """The moto key a KmsKeyId / KmsMasterKeyId names (key ID, key ARN, alias or alias ARN);
    an ARN names its own account and region, anything else is the caller's. None: no such key."""
    from moto.kms.models import kms_backends

    if key_reference.startswith("arn:"):
        _, _, region, account, _ = arn_parts(key_reference)
    try:
        return kms_backends[account][region].describe_key(key_reference)
    except Exception:
        return None


def key_use_refusal(
    decide: Decide,
    request: Request,
    key_reference: str,
    account: str,
    region: str,
    actions: Iterable[str],
) -> KeyRefusal | None:
    """None if `request`'s principal may use the key for every one of `actions` (the request's
    action and resource are replaced by each action and the key's ARN), else the first refusal."""
    key = find_key(key_reference, account, region)
    if key is None:
        refused = dataclasses.replace(request, action=next(iter(actions)), resource=key_reference)
        return KeyRefusal(refused, f"Key '{key_reference}' does not exist")
    for action in actions:
        asked = dataclasses.replace(request, action=action, resource=key.arn)
        decision = decide(asked, statements_of(key.policy), key.account_id)
        if not decision.allowed:
            return KeyRefusal(asked, denial_message(asked, decision))
    return None


def queue_key_of(queue: Any) -> str | None:
    """The queue's KmsMasterKeyId, None for SQS-managed encryption or none (nothing to ask KMS)."""
    key = getattr(queue, "kms_master_key_id", None)
    return str(key) if key else None


def queue_key_refusal(decide: Decide, request: Request, queue: Any, queue_arn: str) -> KeyRefusal | None:
    """A sender (`request`: who sends to `queue_arn`) and the queue's key: None when the queue has
    no customer key or the sender may use it (docs/AWS-BEHAVIOUR.md §19 items 70, 71)."""
    key = queue_key_of(queue)
    if key is None:
        return None
    _, _, region, account, _ = arn_parts(queue_arn)
    context = {
        **request.context,
        "kms:ViaService": f"sqs.{region}.amazonaws.com",
        "kms:EncryptionContext:aws:sqs:arn": queue_arn,
    }
    return key_use_refusal(
        decide, dataclasses.replace(request, context=context), key, account, region, QUEUE_KEY_ACTIONS
    )


def logs_service(region: str) -> str:
    """CloudWatch Logs' service principal is regional (docs/AWS-BEHAVIOUR.md §19 item 72)."""
    return f"logs.{region}.amazonaws.com"


def log_group_key_refusal(
    decide: Decide, key_reference: str, account: str, region: str, log_group_arn: str
) -> str | None:
    """None if CloudWatch Logs may use the key for this log group, else the message CloudWatch
    Logs is reported to answer (AccessDeniedException, docs/AWS-BEHAVIOUR.md §19 item 72)."""
    request = Request(
        action=LOGS_KEY_ACTIONS[0],
        resource=key_reference,
        service=logs_service(region),
        context={"kms:EncryptionContext:aws:logs:arn": log_group_arn},
    )
    if key_use_refusal(decide, request, key_reference, account, region, LOGS_KEY_ACTIONS) is None:
        return None
    return f"The specified KMS key does not exist or is not allowed to be used with Arn '{log_group_arn}'"
