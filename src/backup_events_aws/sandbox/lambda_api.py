"""The Lambda API calls moto cannot answer without Docker, answered by the sandbox's runtime.

* `Invoke` runs the deployed code (lambda_runtime.py) instead of moto's Docker path, so
  `aws lambda invoke`, `backup-events redrive --yes` and `reconcile --invoke` work in-process and
  against `sandbox serve`: RequestResponse runs the handler once, now, and answers its result, or
  its error with `X-Amz-Function-Error: Unhandled` and the error object; `LogType Tail` adds the
  end of its log (at most 4 KB, base64) in `X-Amz-Log-Result`; Event queues an asynchronous
  invocation (retries, on-failure destination) and answers 202; DryRun answers 204.
* `GetAccountSettings` (moto has no route for it) answers the account's concurrency quota as the
  runtime enforces it.
* `PutFunctionEventInvokeConfig` / `UpdateFunctionEventInvokeConfig` refuse an SQS on-failure
  destination the execution role may not send to, as Lambda does (docs/AWS-BEHAVIOUR.md §19 item 73).

`LambdaApi(runtime).install()` puts both in place; `uninstall()` restores moto.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from .patches import Patches

LOG_TAIL_BYTES = 4096  # Lambda returns the last 4 KB of the log with LogType Tail
ACCOUNT_SETTINGS_PATH = r"{0}/(?P<api_version>[^/]+)/account-settings/?$"
# Lambda's own limits, as GetAccountSettings reports them (not enforced by the sandbox).
TOTAL_CODE_SIZE = 80 * 1024**3
CODE_SIZE_UNZIPPED = 250 * 1024**2
CODE_SIZE_ZIPPED = 50 * 1024**2


class LambdaApi:
    def __init__(self, runtime: Any, concurrency_quota: Callable[[str], int]):
        self.runtime = runtime
        self.concurrency_quota = concurrency_quota  # account -> concurrent executions quota
        self.patches = Patches()
        self.calls: list[tuple[str, str, Any]] = []  # (function ARN, invocation type, payload) of each Invoke

    def install(self) -> LambdaApi:
        if self.patches.active:
            return self
        import moto.awslambda.urls as lambda_urls
        from moto.awslambda.models import LambdaBackend, LambdaStorage
        from moto.awslambda.responses import LambdaResponse

        api = self

        def invoke(
            backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: dict[str, str]
        ) -> bytes:
            return api.invoke(backend, function_name, qualifier, body, headers, response_headers)

        class SandboxLambdaResponse(LambdaResponse):
            def get_account_settings(self) -> str:
                return json.dumps(api.account_settings(self.backend))

        original_put_function = LambdaStorage.put_function

        def put_function(storage: Any, fn: Any) -> None:
            refuse_a_role_lambda_cannot_assume(fn.role)
            original_put_function(storage, fn)  # moto: the role exists, in this account

        original_put_config = LambdaBackend.put_function_event_invoke_config

        def put_function_event_invoke_config(backend: Any, function_name: str, config: dict[str, Any]) -> Any:
            # Put and Update (moto's update puts): Lambda checks the OnFailure queue when it is set.
            refused = on_failure_refusal(backend.get_function(function_name), config.get("DestinationConfig") or {})
            if refused:
                from moto.awslambda.exceptions import InvalidParameterValueException

                raise InvalidParameterValueException(refused)
            return original_put_config(backend, function_name, config)

        self.patches.replace(LambdaBackend, "invoke", invoke)
        self.patches.replace(LambdaBackend, "put_function_event_invoke_config", put_function_event_invoke_config)
        self.patches.replace(LambdaStorage, "put_function", put_function)
        self.patches.set_item(lambda_urls.url_paths, ACCOUNT_SETTINGS_PATH, SandboxLambdaResponse.dispatch)
        return self

    def uninstall(self) -> None:
        self.patches.undo()

    # ------------------------------------------------------------------ Invoke

    def invoke(
        self,
        backend: Any,
        function_name: str,
        qualifier: Any,
        body: Any,
        headers: Any,
        response_headers: dict[str, str],
    ) -> bytes:
        function = backend.get_function(function_name, qualifier)  # ResourceNotFoundException if none
        invocation_type = _header(headers, "X-Amz-Invocation-Type") or "RequestResponse"
        payload = json.loads(body) if body else {}
        response_headers["X-Amz-Executed-Version"] = "$LATEST"
        self.calls.append((function.function_arn, invocation_type, payload))
        if invocation_type == "DryRun":
            return b""
        with self.runtime.clock.lock:  # the server's clock thread and this request: one order
            if invocation_type == "Event":
                self.runtime.invoke_async(function, payload)
                return b""
            invocation = self.runtime.run_once(function, payload)
        if _header(headers, "X-Amz-Log-Type") == "Tail":
            lines = "".join(json.dumps(entry, default=str) + "\n" for entry in invocation.logs).encode()
            response_headers["x-amz-log-result"] = base64.b64encode(lines[-LOG_TAIL_BYTES:]).decode()
        if invocation.error is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(invocation.error).encode()
        return json.dumps(invocation.result, default=str).encode()

    # ------------------------------------------------------------------ GetAccountSettings

    def account_settings(self, backend: Any) -> dict[str, Any]:
        functions = list(backend.list_functions())
        quota = self.concurrency_quota(backend.account_id)
        reserved = sum(int(f.reserved_concurrency) for f in functions if f.reserved_concurrency not in (None, ""))
        return {
            "AccountLimit": {
                "TotalCodeSize": TOTAL_CODE_SIZE,
                "CodeSizeUnzipped": CODE_SIZE_UNZIPPED,
                "CodeSizeZipped": CODE_SIZE_ZIPPED,
                "ConcurrentExecutions": quota,
                "UnreservedConcurrentExecutions": quota - reserved,
            },
            "AccountUsage": {
                "TotalCodeSize": sum(len(f.code_bytes or b"") for f in functions),
                "FunctionCount": len(functions),
            },
        }


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def refuse_a_role_lambda_cannot_assume(role_arn: str) -> None:
    """CreateFunction refuses an execution role whose trust policy doesn't let lambda.amazonaws.com
    assume it (docs/AWS-BEHAVIOUR.md §5.5, §19 item 63); moto checks only that the role exists
    (a role IAM doesn't know is left to moto's own refusal, in the same words)."""
    from moto.awslambda.exceptions import InvalidParameterValueException

    from .authorization import service_may_assume

    if service_may_assume(role_arn, "lambda.amazonaws.com") is False:  # None: moto's own refusal
        raise InvalidParameterValueException("The role defined for the function cannot be assumed by Lambda.")


def on_failure_refusal(function: Any, destination_config: dict[str, Any]) -> str | None:
    """Lambda checks an SQS on-failure destination when the config is written: the execution
    role's own policies must allow sqs:SendMessage on it (a queue policy naming the role is not
    looked at: the strict reading, docs/AWS-BEHAVIOUR.md §19 item 73). None: accepted."""
    destination = str(((destination_config or {}).get("OnFailure") or {}).get("Destination") or "")
    if ":sqs:" not in destination:
        return None
    from .authorization import decide, principal_context
    from .policies import Request

    request = Request(
        action="sqs:SendMessage",
        resource=destination,
        principal_account=function.account_id,
        principal_arn=function.role,
        context=principal_context(function.account_id, function.role),
    )
    if decide(request, None, None).allowed:
        return None
    return "The provided execution role does not have permissions to call SendMessage on SQS"
