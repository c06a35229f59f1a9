"""Errors of the sandbox's AWS Backup that moto.backup does not define (moto's own are re-exported)."""

from __future__ import annotations

from moto.backup.exceptions import (
    InvalidParameterValueException,
    InvalidRequestException,
    ResourceNotFoundException,
)
from moto.core.exceptions import JsonRESTError

from backup_events_aws.sandbox import authorization


class ThrottlingException(JsonRESTError):
    code = 400  # docs/AWS-BEHAVIOUR.md §5.2: ThrottlingException, HTTP 400

    def __init__(self, message: str = "Rate exceeded"):
        super().__init__("ThrottlingException", message)


class AccessDeniedException(authorization.AccessDeniedException):
    """IAM's refusal (authorization.py's one class) with AWS Backup's status: every AWS Backup action
    may return AccessDeniedException, HTTP 400 (docs/AWS-BEHAVIOUR.md §3)."""

    code = 400


__all__ = (
    "AccessDeniedException",
    "InvalidParameterValueException",
    "InvalidRequestException",
    "ResourceNotFoundException",
    "ThrottlingException",
)
