"""Asynchronous Lambda invocation that runs the code deployed in moto.

moto cannot run a function without Docker (docs/TESTING.md, "Lambda"), so this
runtime does what the Lambda service does for an asynchronous invoke, on the
simulated clock:

* It runs the code embedded in the deployed function: `index.py` from moto's
  `code_bytes` zip (CloudFormation puts inline `Code.ZipFile` in a file named
  `index`, docs/AWS-BEHAVIOUR.md §6.2), the function's handler and environment variables, plus
  the variables the runtime sets (AWS_REGION, AWS_LAMBDA_FUNCTION_NAME...).
* The module is imported once per simulated execution environment (a cold start)
  and reused afterwards (warm starts), so per-process caches behave as in Lambda.
  A new environment starts when the code or configuration changes, or on `recycle()`.
* While the handler runs, boto3 uses credentials of the function's execution role
  (obtained from moto STS), so its calls land in the function's own account and
  region.
* On an error it retries twice, 1 minute and then 2 minutes later, and then sends
  the documented invocation record (condition RetriesExhausted,
  approximateInvokeCount 3) to the EventInvokeConfig OnFailure destination
  (docs/AWS-BEHAVIOUR.md §5.3), sent with the function's role: the role must allow
  sqs:SendMessage and the queue policy must admit it. Every outcome (delivered,
  refused, unsupported destination, none configured) is reported to `report`
  (the bridge's trace). MaximumRetryAttempts and MaximumEventAgeInSeconds are honoured.
* An invocation whose simulated time exceeds the function's Timeout ends as the error
  "Task timed out after N seconds" (retried, then on-failure), and its environment is not
  reused; `context.get_remaining_time_in_millis()` counts down on the simulated clock.
* The function sees the simulated clock: its `now()` hook is replaced with the
  sandbox clock's (a 35-day retention is tested in milliseconds).
* Log records (the function logs JSON objects) are captured per invocation in
  Lambda's JSON log format, and also written to the function's log group when it
  exists.

Concurrency and time (docs/AWS-BEHAVIOUR.md §5.2/§5.3). An invocation takes simulated time: it
runs in a clock span (clock.py) in which every AWS call the function makes costs
`api_latency_seconds`, a cold start costs `cold_start_seconds`, and botocore's
retry sleeps (patched in `install()`) spend simulated time instead of real time.
The execution environment, and one unit of the function's concurrency, stay busy
until the span ends. A function runs at most its reserved concurrency
(`ReservedConcurrentExecutions`) of invocations at once, else the account's
unreserved pool (ACCOUNT_CONCURRENCY). An event that finds no free concurrency is
throttled: Lambda keeps it queued and tries again with a backoff from 1 second
to 5 minutes, until it is older than MaximumEventAgeInSeconds (default 6 hours),
when it goes to the on-failure destination with condition EventAgeExceeded.
Function errors are retried as before (1 and 2 minutes).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import importlib.util
import io
import itertools
import json
import logging
import os
import random
import sys
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from .authorization import decide, principal_context, session_arn_of
from .clock import Clock
from .cloudformation import event_invoke_config_of, function_extras_of
from .helpers import arn_parts, random_uuid
from .key_use import queue_key_refusal
from .patches import Patches
from .policies import Decision, Request, denial_message, statements_of

# Lambda async retry schedule on function errors (docs/AWS-BEHAVIOUR.md §5.3): 2 retries by
# default, 1 minute before the 2nd attempt and 2 minutes before the 3rd.
RETRY_DELAYS_SECONDS = (60, 120)
DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2
DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 6 * 3600
# On throttles Lambda requeues the event, backing off from 1 s up to 5 min (docs/AWS-BEHAVIOUR.md §5.3).
THROTTLE_BACKOFF_SECONDS = (1.0, 300.0)
ACCOUNT_CONCURRENCY = 1000  # default concurrent executions per account and region
# What a new account gets: "New AWS accounts have reduced concurrency and memory quotas"; people
# report 10 and 50 (docs/AWS-BEHAVIOUR.md §13); the sandbox takes the lower, the strict case.
NEW_ACCOUNT_CONCURRENCY = 10
# Lambda keeps 100 units unreserved, or the whole quota when it is below 100: the refusals read
# "... below its minimum value of [10]" / "[50]" / "[100]" (docs/AWS-BEHAVIOUR.md §13).
MINIMUM_UNRESERVED_CONCURRENCY = 100


def minimum_unreserved(quota: int) -> int:
    return min(MINIMUM_UNRESERVED_CONCURRENCY, quota)


def reservation_refusal(quota: int, reserved_elsewhere: int, reservation: int) -> str | None:
    """PutFunctionConcurrency's refusal when `reservation` leaves too little unreserved, else None."""
    if reservation <= 0 or quota - reserved_elsewhere - reservation >= minimum_unreserved(quota):
        return None
    return (
        "Specified ReservedConcurrentExecutions for function decreases account's "
        f"UnreservedConcurrentExecution below its minimum value of [{minimum_unreserved(quota)}]."
    )


# Simulated cost of one AWS API round trip inside the region (bench/run.py assumes the same).
API_LATENCY_SECONDS = 0.06
COLD_START_SECONDS = 0.25

# (role ARN, session name) -> AccessKeyId/SecretAccessKey/SessionToken
CredentialsFor = Callable[[str, str], dict[str, str]]
Decide = Callable[..., Decision]  # authorization.decide's signature


def function_arn(region: str, account: str, name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:lambda:{region}:{account}:function:{name}"


@dataclass
class LambdaContext:
    """The attributes of Lambda's Python context object that handlers use."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    memory_limit_in_mb: int
    timeout_seconds: int
    log_group_name: str
    log_stream_name: str
    function_version: str = "$LATEST"
    clock: Clock | None = None  # the invocation's span: simulated time passes as the handler works
    deadline: datetime.datetime | None = None

    def get_remaining_time_in_millis(self) -> int:
        if self.clock is None or self.deadline is None:
            return self.timeout_seconds * 1000
        return max(0, int((self.deadline - self.clock.now()).total_seconds() * 1000))


@dataclass
class Invocation:
    """One attempt to run the handler."""

    function_arn: str
    request_id: str
    attempt: int
    cold_start: bool
    at: datetime.datetime
    payload: Any
    logs: list[dict[str, Any]] = field(default_factory=list)
    result: Any = None
    error: dict[str, Any] | None = None
    seconds: float = 0.0  # simulated duration (AWS call latency, retry sleeps, cold start)
    aws_calls: int = 0  # HTTP requests the function sent, retries included


@dataclass
class _QueuedEvent:
    """An event in Lambda's asynchronous queue for one function."""

    function: Any
    payload: Any
    request_id: str
    enqueued_at: datetime.datetime
    attempt: int = 1
    throttles: int = 0
    last_error: dict[str, Any] | None = None


@dataclass
class _ExecutionEnvironment:
    key: str
    module: Any
    handler: Callable[[Any, Any], Any]
    session: boto3.Session
    environment: dict[str, str]


class _CapturingHandler(logging.Handler):
    """Formats records the way Lambda's JSON log format does (LoggingConfig LogFormat JSON)."""

    def __init__(self, clock: Clock, request_id: str, sink: list[dict[str, Any]]):
        super().__init__(level=logging.NOTSET)
        self.clock, self.request_id, self.sink = clock, request_id, sink

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, (dict, list)):
            message: Any = record.msg
        else:
            message = record.getMessage()
            with contextlib.suppress(ValueError, TypeError):
                parsed = json.loads(message)
                if isinstance(parsed, dict):
                    message = parsed
        entry = {
            "timestamp": _iso(self.clock.now()),
            "level": record.levelname,
            "message": message,
            "logger": record.name,
            "requestId": self.request_id,
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["errorType"] = record.exc_info[0].__name__
            entry["stackTrace"] = traceback.format_exception(*record.exc_info)
        self.sink.append(entry)


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class LambdaRuntime:
    """Runs deployed functions asynchronously; keeps their environments and invocations."""

    def __init__(
        self,
        clock: Clock,
        credentials_for: CredentialsFor,
        seed: int = 0,
        concurrency_quota: int = NEW_ACCOUNT_CONCURRENCY,
        decide: Decide = decide,
    ):
        """decide: the sandbox's authorisation (its Gate's `decide`, which tells its listeners)."""
        self.clock = clock
        self.decide = decide
        # Concurrent executions quota per account (all regions alike), settable per account;
        # `concurrency_quota` for the others (docs/AWS-BEHAVIOUR.md §13).
        self.default_concurrency_quota = concurrency_quota
        self.concurrency_quotas: dict[str, int] = {}
        self.patches = Patches()
        self.credentials_for = credentials_for
        self.random = random.Random(seed)
        self.invocations: list[Invocation] = []
        # Told of every on-failure outcome (bridge.py records it in its trace):
        # (event id, account, region, outcome, function ARN, destination ARN, (code, message) or None)
        self.report: Callable[..., None] | None = None
        self._environments: dict[str, list[_ExecutionEnvironment]] = {}  # idle, by configuration
        self._live: set[int] = set()  # ids of environments not recycled
        self._running: dict[str, int] = {}  # function ARN -> invocations running now
        self.throttles = 0  # async invocations throttled for want of concurrency (and requeued)
        self.peak_concurrency: dict[str, int] = {}
        self.api_latency_seconds = API_LATENCY_SECONDS
        self.cold_start_seconds = COLD_START_SECONDS
        self._current_invocation: Invocation | None = None
        self._module_numbers = itertools.count(1)
        self.cold_starts = 0

    # ------------------------------------------------------------------ public

    def install(self) -> LambdaRuntime:
        """botocore's retry sleeps spend simulated time while a function runs (see `_SimulatedTime`);
        CreateFunction (CloudFormation's path) and PutFunctionConcurrency check the quota."""
        import botocore.endpoint
        from moto.awslambda.models import LambdaBackend

        if self.patches.active:
            return self
        self.patches.replace(botocore.endpoint, "time", _SimulatedTime(botocore.endpoint.time, self))
        runtime = self

        def create_function(moto_create: Any, backend: Any, spec: dict[str, Any]) -> Any:
            runtime._check_reservation(backend, spec.get("FunctionName", ""), spec.get("ReservedConcurrentExecutions"))
            return moto_create(backend, spec)

        def put_function_concurrency(backend: Any, function_name: str, reserved_concurrency: str) -> str:
            name = function_name.split(":function:")[-1].split(":")[0]
            runtime._check_reservation(backend, name, reserved_concurrency)
            backend.get_function(function_name).reserved_concurrency = reserved_concurrency
            return reserved_concurrency

        self.patches.wrap(LambdaBackend, "create_function", create_function)
        self.patches.replace(LambdaBackend, "put_function_concurrency", put_function_concurrency)
        return self

    def uninstall(self) -> None:
        self.patches.undo()

    def invoke_async(self, function: Any, payload: Any) -> str:
        """Queue an asynchronous invocation (InvocationType Event); returns its request id."""
        request_id = random_uuid(self.random)
        queued = _QueuedEvent(function, payload, request_id, self.clock.now())
        self.clock.schedule(0, lambda: self._poll(queued))
        return request_id

    def concurrency_limit(self, function: Any) -> int:
        reserved = getattr(function, "reserved_concurrency", None)
        return self.concurrency_quota(function.account_id) if reserved in (None, "") else int(reserved)

    # ------------------------------------------------------------------ concurrency quota

    def concurrency_quota(self, account: str) -> int:
        return self.concurrency_quotas.get(account, self.default_concurrency_quota)

    def set_concurrency_quota(self, account: str, quota: int) -> None:
        """The account's concurrent executions quota (as after a Service Quotas increase)."""
        self.concurrency_quotas[account] = int(quota)

    def _check_reservation(self, backend: Any, function_name: str, reservation: Any) -> None:
        """Refuse a reservation that leaves less than the minimum unreserved (docs/AWS-BEHAVIOUR.md §13)."""
        from moto.awslambda.exceptions import InvalidParameterValueException

        if reservation in (None, ""):
            return
        elsewhere = sum(
            int(f.reserved_concurrency)
            for f in backend.list_functions()
            if f.reserved_concurrency not in (None, "") and f.function_name != function_name
        )
        refusal = reservation_refusal(self.concurrency_quota(backend.account_id), elsewhere, int(reservation))
        if refusal:
            raise InvalidParameterValueException(refusal)

    def running(self, function_arn_: str) -> int:
        return self._running.get(function_arn_, 0)

    def recycle(self, function_arn_: str | None = None) -> None:
        """Drop execution environments (all, or one function's): the next invoke is a cold start."""
        for key in list(self._environments):
            if function_arn_ is None or key.startswith(function_arn_ + "|"):
                for environment in self._environments.pop(key):
                    self._live.discard(id(environment))
        if function_arn_ is None:
            self._live.clear()  # busy ones are not reused either

    def logs(self, function_arn_: str | None = None) -> list[dict[str, Any]]:
        return [
            entry
            for invocation in self.invocations
            if function_arn_ is None or invocation.function_arn == function_arn_
            for entry in invocation.logs
        ]

    # ------------------------------------------------------------------ attempts

    def _poll(self, queued: _QueuedEvent) -> None:
        """Lambda takes the event from its queue: run it if the function has concurrency free."""
        function = queued.function
        config = event_invoke_config_of(function)
        max_age = int(config.get("MaximumEventAgeInSeconds", DEFAULT_MAXIMUM_EVENT_AGE_SECONDS))
        if (self.clock.now() - queued.enqueued_at).total_seconds() > max_age:
            error = queued.last_error or {
                "errorMessage": "Rate Exceeded.",
                "errorType": "TooManyRequestsException",
                "stackTrace": [],
            }
            self._send_failure(
                function, queued.payload, queued.request_id, queued.attempt - 1, error, "EventAgeExceeded"
            )
            return
        arn = function.function_arn
        if self.running(arn) >= self.concurrency_limit(function):
            # Throttled: requeued, retried with backoff from 1 s to 5 min (docs/AWS-BEHAVIOUR.md §5.3).
            queued.throttles += 1
            self.throttles += 1
            low, high = THROTTLE_BACKOFF_SECONDS
            delay = min(high, low * 2 ** min(queued.throttles - 1, 16)) * self.random.uniform(0.5, 1.0)
            self.clock.schedule(max(low, delay), lambda: self._poll(queued))
            return
        self._running[arn] = self.running(arn) + 1
        self.peak_concurrency[arn] = max(self.peak_concurrency.get(arn, 0), self._running[arn])
        invocation, environment = self._run(function, queued.payload, queued.request_id, queued.attempt)
        # The environment and the concurrency stay taken until the invocation's simulated end.
        self.clock.schedule(invocation.seconds, lambda: self._finished(queued, invocation, environment))

    def _finished(
        self, queued: _QueuedEvent, invocation: Invocation, environment: _ExecutionEnvironment | None
    ) -> None:
        function = queued.function
        self._running[function.function_arn] -= 1
        self._release(environment)
        if invocation.error is None:
            return
        queued.last_error = invocation.error
        config = event_invoke_config_of(function)
        max_retries = int(config.get("MaximumRetryAttempts", DEFAULT_MAXIMUM_RETRY_ATTEMPTS))
        max_age = int(config.get("MaximumEventAgeInSeconds", DEFAULT_MAXIMUM_EVENT_AGE_SECONDS))
        attempt = queued.attempt
        if attempt <= max_retries:
            delay = RETRY_DELAYS_SECONDS[min(attempt, len(RETRY_DELAYS_SECONDS)) - 1]
            age_at_retry = (self.clock.now() - queued.enqueued_at).total_seconds() + delay
            if age_at_retry <= max_age:
                queued.attempt += 1
                queued.throttles = 0
                self.clock.schedule(delay, lambda: self._poll(queued))
                return
            self._send_failure(
                function, queued.payload, queued.request_id, attempt, invocation.error, "EventAgeExceeded"
            )
            return
        self._send_failure(function, queued.payload, queued.request_id, attempt, invocation.error, "RetriesExhausted")

    def run_once(self, function: Any, payload: Any, request_id: str | None = None, attempt: int = 1) -> Invocation:
        """Run the handler once, now (no retries, no concurrency limit); returns the invocation."""
        invocation, environment = self._run(function, payload, request_id, attempt)
        self._release(environment)
        return invocation

    def _run(
        self, function: Any, payload: Any, request_id: str | None, attempt: int
    ) -> tuple[Invocation, _ExecutionEnvironment | None]:
        request_id = request_id or random_uuid(self.random)
        arn = function.function_arn
        invocation = Invocation(arn, request_id, attempt, False, self.clock.now(), payload)
        self.invocations.append(invocation)
        environment = self._take_environment(function)
        timeout = int(function.timeout)
        with self.clock.span() as span, self._running_as(function, request_id, invocation.logs, environment):
            self._current_invocation = invocation
            try:
                if environment is None:
                    self.clock.spend(self.cold_start_seconds)
                    environment, invocation.cold_start = self._new_environment(function), True
                context = LambdaContext(
                    clock=self.clock,
                    deadline=span.start + datetime.timedelta(seconds=timeout),
                    function_name=function.function_name,
                    invoked_function_arn=arn,
                    aws_request_id=request_id,
                    memory_limit_in_mb=int(function.memory_size),
                    timeout_seconds=timeout,
                    log_group_name=self._log_group_name(function),
                    log_stream_name=f"{self.clock.now():%Y/%m/%d}/[$LATEST]{request_id[:8]}",
                )
                invocation.result = environment.handler(payload, context)
            except Exception as error:  # the function failed: Lambda records and retries
                invocation.error = {
                    "errorMessage": str(error),
                    "errorType": type(error).__name__,
                    "stackTrace": traceback.format_tb(error.__traceback__),
                }
                invocation.logs.append(
                    {
                        "timestamp": _iso(self.clock.now()),
                        "level": "ERROR",
                        "message": invocation.error["errorMessage"],
                        "errorType": invocation.error["errorType"],
                        "stackTrace": invocation.error["stackTrace"],
                        "requestId": request_id,
                    }
                )
            finally:
                self._current_invocation = None
        invocation.seconds = span.seconds
        if invocation.seconds > timeout:
            # Lambda stops the invocation at its Timeout: a function error (retried, then the
            # on-failure destination; docs/AWS-BEHAVIOUR.md §5.3), and the environment is not reused.
            invocation.seconds = float(timeout)
            invocation.result = None
            message = (
                f"{_iso(span.start + datetime.timedelta(seconds=timeout))} {request_id} "
                f"Task timed out after {timeout:.2f} seconds"
            )
            invocation.error = {"errorMessage": message, "errorType": "Sandbox.Timedout", "stackTrace": []}
            invocation.logs.append(
                {
                    "timestamp": _iso(span.start + datetime.timedelta(seconds=timeout)),
                    "level": "ERROR",
                    "message": message,
                    "requestId": request_id,
                }
            )
            if environment is not None:
                self._live.discard(id(environment))
        self._write_to_log_group(function, invocation)
        return invocation, environment

    # ------------------------------------------------------------------ environments

    def _environment_key(self, function: Any) -> str:
        fingerprint = hashlib.sha256(function.code_bytes).hexdigest()
        settings = json.dumps([function.handler, function.environment_vars, function.role], sort_keys=True)
        return f"{function.function_arn}|{fingerprint}|{hashlib.sha256(settings.encode()).hexdigest()}"

    def _take_environment(self, function: Any) -> _ExecutionEnvironment | None:
        """An idle warm environment of this configuration, or None (a cold start is due)."""
        idle = self._environments.get(self._environment_key(function))
        return idle.pop() if idle else None

    def _release(self, environment: _ExecutionEnvironment | None) -> None:
        if environment is not None and id(environment) in self._live:
            self._environments.setdefault(environment.key, []).append(environment)

    def _new_environment(self, function: Any) -> _ExecutionEnvironment:
        key = self._environment_key(function)
        for other in list(self._environments):  # the old configuration's environments are gone
            if other.startswith(function.function_arn + "|") and other != key:
                for environment in self._environments.pop(other):
                    self._live.discard(id(environment))
        module_file, _, handler_name = function.handler.rpartition(".")
        source = self._source_of(function, module_file)
        module_name = f"_sandbox_lambda_{next(self._module_numbers)}_{module_file}"
        spec = importlib.util.spec_from_loader(module_name, loader=None, origin=f"{module_file}.py")
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        module.__file__ = f"/var/task/{module_file}.py"
        # Registered so dataclasses/typing in the function can find their module.
        sys.modules[module_name] = module
        # The import (INIT phase) runs inside the function's environment, as in Lambda;
        # an error here fails the invocation, and the next one tries a cold start again.
        exec(compile(source, module.__file__, "exec"), module.__dict__)
        # A function with a build_function factory is built with the sandbox's clock,
        # its sleeps spent on that clock; else a `now()` hook, if any, is given the clock.
        build = getattr(module, "build_function", None)
        if callable(build):
            setattr(module, handler_name, build(clock=self.clock.now, sleep=self.clock.spend))
        elif callable(getattr(module, "now", None)):
            module.now = self.clock.now
        environment = _ExecutionEnvironment(
            key, module, getattr(module, handler_name), self._current_session, self._current_environment
        )
        self._live.add(id(environment))
        self.cold_starts += 1
        return environment

    @staticmethod
    def _source_of(function: Any, module_file: str) -> str:
        with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
            return archive.read(f"{module_file}.py").decode("utf-8")

    def _runtime_environment(self, function: Any) -> dict[str, str]:
        credentials = self.credentials_for(function.role, function.function_name)  # Lambda's session name
        extras = function_extras_of(function)
        logging_config = extras.get("LoggingConfig", {})
        variables = {
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": self._log_group_name(function),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.run_time or 'python3.13'}",
            "LAMBDA_TASK_ROOT": "/var/task",
            "_HANDLER": function.handler,
        }
        if logging_config.get("LogFormat") == "JSON":
            variables["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
            variables["AWS_LAMBDA_LOG_LEVEL"] = logging_config.get("ApplicationLogLevel", "INFO")
        variables.update({k: str(v) for k, v in (function.environment_vars or {}).items()})
        return variables

    @contextlib.contextmanager
    def _running_as(
        self, function: Any, request_id: str, log_sink: list[dict[str, Any]], existing: _ExecutionEnvironment | None
    ):
        """Environment variables, boto3 session, logging and stdout of the function, then restore."""
        variables = self._runtime_environment(function)
        saved_environ = {name: os.environ.get(name) for name in [*variables, "MOTO_ACCOUNT_ID"]}
        saved_session = boto3.DEFAULT_SESSION
        root = logging.getLogger()
        saved_level, saved_handlers = root.level, list(root.handlers)
        capture = _CapturingHandler(self.clock, request_id, log_sink)
        stdout = io.StringIO()
        os.environ.pop("MOTO_ACCOUNT_ID", None)  # it would override the role's account in moto
        os.environ.update(variables)
        # One boto3 default session per execution environment: clients the function
        # caches at module level keep the credentials of their environment.
        self._current_session = existing.session if existing else self._new_session(variables, function.region)
        self._current_environment = variables
        boto3.DEFAULT_SESSION = self._current_session
        root.handlers = [capture]
        root.setLevel(variables.get("AWS_LAMBDA_LOG_LEVEL", "INFO"))
        try:
            with contextlib.redirect_stdout(stdout):
                yield
        finally:
            root.handlers, root.level = saved_handlers, saved_level
            boto3.DEFAULT_SESSION = saved_session
            for name, value in saved_environ.items():  # only what was changed: faster than a copy
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            for line in stdout.getvalue().splitlines():
                log_sink.append(
                    {
                        "timestamp": _iso(self.clock.now()),
                        "level": "INFO",
                        "message": line,
                        "logger": "stdout",
                        "requestId": request_id,
                    }
                )

    def _new_session(self, variables: dict[str, str], region: str) -> boto3.Session:
        import botocore.session

        # botocore's data (service models, endpoints) is read once and shared by every
        # environment's session: reading it anew per cold start cost seconds per test.
        core = botocore.session.get_session()
        core.register_component("data_loader", _shared_data_loader())
        session = boto3.Session(
            aws_access_key_id=variables["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=variables["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=variables["AWS_SESSION_TOKEN"],
            region_name=region,
            botocore_session=core,
        )
        # Every HTTP request of the function's clients (retries included) costs one API
        # round trip of simulated time. Must return None: a value would replace the response.
        session.events.register("before-send", self._charge_aws_call)
        return session

    def _charge_aws_call(self, **_: Any) -> None:
        if self.clock.spend(self.api_latency_seconds) and self._current_invocation is not None:
            self._current_invocation.aws_calls += 1

    # ------------------------------------------------------------------ failures

    def _send_failure(
        self, function: Any, payload: Any, request_id: str, attempts: int, error: dict[str, Any], condition: str
    ) -> None:
        # The invocation record Lambda sends to an on-failure destination (docs/AWS-BEHAVIOUR.md §5.3).
        record = {
            "version": "1.0",
            "timestamp": _iso(self.clock.now()),
            "requestContext": {
                "requestId": request_id,
                "functionArn": f"{function.function_arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "requestPayload": payload,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {
                "errorMessage": error["errorMessage"],
                "errorType": error["errorType"],
                "stackTrace": error["stackTrace"],
            },
        }
        destination = (event_invoke_config_of(function).get("DestinationConfig") or {}).get("OnFailure", {})
        destination_arn = destination.get("Destination")
        dead_letter_arn = (function_extras_of(function).get("DeadLetterConfig") or {}).get("TargetArn")
        event_id = payload.get("id", "") if isinstance(payload, dict) else ""
        if destination_arn:
            outcome, reason = self._send_as_function(function, destination_arn, json.dumps(record, default=str))
            self._report(function, event_id, outcome, destination_arn, reason)
        elif dead_letter_arn:
            # A function DLQ gets the event itself, with the error as attributes.
            outcome, reason = self._send_as_function(
                function,
                dead_letter_arn,
                json.dumps(payload, default=str),
                {
                    "RequestID": request_id,
                    "ErrorCode": "200",
                    "ErrorMessage": error["errorMessage"],
                },
            )
            self._report(function, event_id, outcome, dead_letter_arn, reason)
        else:  # Lambda discards the event; the trace still says so
            self._report(
                function,
                event_id,
                "on-failure-discarded",
                None,
                (condition, f"{function.function_arn} has no on-failure destination"),
            )

    def _send_as_function(
        self, function: Any, queue_arn: str, body: str, attributes: dict[str, str] | None = None
    ) -> tuple[str, tuple[str, str] | None]:
        """Lambda sends on-failure records with the function's execution role: the role must allow
        sqs:SendMessage and the queue policy must admit it (policies.py). Returns the outcome."""
        from moto.sqs.models import sqs_backends

        if ":sqs:" not in queue_arn:
            return "on-failure-unsupported", (
                "UNSUPPORTED",
                f"The sandbox sends on-failure records to SQS only: {queue_arn}",
            )
        _, _, region, account, name = arn_parts(queue_arn)
        queue = sqs_backends[account][region].queues.get(name)
        if queue is None:
            return "on-failure-refused", ("NO_RESOURCE", f"Queue not found: {queue_arn}")
        # Sent by a session of the execution role (named after the function): the role's keys, no
        # aws:SourceArn (docs/AWS-BEHAVIOUR.md §11.4).
        request = Request(
            action="sqs:SendMessage",
            resource=queue_arn,
            principal_account=function.account_id,
            principal_arn=function.role,
            session_arn=session_arn_of(function.role, function.function_name),
            context=principal_context(function.account_id, function.role),
        )
        decision = self.decide(request, statements_of(queue.policy), account)
        if not decision.allowed:
            return "on-failure-refused", ("NO_PERMISSIONS", denial_message(request, decision))
        # A queue under a customer managed key: the role must be allowed its use, by its identity
        # policy and the key policy (docs/AWS-BEHAVIOUR.md §19 items 60, 71).
        key_refused = queue_key_refusal(self.decide, request, queue, queue_arn)
        if key_refused is not None:
            return "on-failure-refused", ("KMS.AccessDeniedException", key_refused.message)
        _send_sqs(queue_arn, body, attributes)
        return "on-failure-delivered", None

    def _report(
        self, function: Any, event_id: str, outcome: str, destination_arn: str | None, reason: tuple[str, str] | None
    ) -> None:
        if self.report is not None:
            self.report(
                event_id, function.account_id, function.region, outcome, function.function_arn, destination_arn, reason
            )

    # ------------------------------------------------------------------ logs

    @staticmethod
    def _log_group_name(function: Any) -> str:
        logging_config = function_extras_of(function).get("LoggingConfig", {})
        return logging_config.get("LogGroup") or f"/aws/lambda/{function.function_name}"

    def _write_to_log_group(self, function: Any, invocation: Invocation) -> None:
        from moto.logs.models import logs_backends

        backend = logs_backends[function.account_id][function.region]
        group_name = self._log_group_name(function)
        if group_name not in backend.groups or not invocation.logs:
            return
        stream = f"{invocation.at:%Y/%m/%d}/[$LATEST]{invocation.request_id[:8]}"
        if stream not in backend.groups[group_name].streams:
            backend.create_log_stream(group_name, stream)
        millis = int(invocation.at.timestamp() * 1000)
        # What the function prints is written as it is (Lambda's JSON log format wraps only
        # logger records): an Embedded Metric Format line stays one (docs/AWS-BEHAVIOUR.md §18).
        backend.put_log_events(
            group_name,
            stream,
            [
                {
                    "timestamp": millis,
                    "message": entry["message"] if entry.get("logger") == "stdout" else json.dumps(entry, default=str),
                }
                for entry in invocation.logs
            ],
        )


def _shared_data_loader() -> Any:
    """The data loader of boto3's default session (its models are cached in it)."""
    return boto3._get_default_session()._session.get_component("data_loader")


class _SimulatedTime:
    """Stands in for the `time` module inside botocore.endpoint, whose `time.sleep` is the wait
    between retries: inside a simulated invocation it spends simulated time, never real time."""

    def __init__(self, real: Any, runtime: LambdaRuntime):
        self.real = real
        self.runtime = runtime

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def sleep(self, seconds: float) -> None:
        if not self.runtime.clock.spend(seconds):
            self.real.sleep(seconds)


def _send_sqs(queue_arn: str, body: str, attributes: dict[str, str] | None = None) -> None:
    from moto.sqs.models import sqs_backends

    _, _, region, account, name = arn_parts(queue_arn)
    sqs_backends[account][region].send_message(
        queue_name=name,
        message_body=body,
        message_attributes={k: {"DataType": "String", "StringValue": v} for k, v in (attributes or {}).items()},
    )
