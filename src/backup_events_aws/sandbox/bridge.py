"""EventBridge delivery for the sandbox: events -> rules -> targets, as AWS does it.

moto 5.2.5 matches event patterns well but delivers unlike EventBridge
(docs/TESTING.md, "EventBridge"): a Lambda target makes PutEvents raise
NotImplementedError, a DISABLED rule still delivers, dead-letter queues and
permissions are ignored, and an event forwarded to another bus loses its id,
account, time and resources. This module takes delivery over, on the simulated
clock:

* `Bridge.deliver(event, account, region, bus)` puts an event on a bus. AWS
  services (the Backup emulation) emit onto the default bus of the account and
  region where they run (docs/AWS-BEHAVIOUR.md §1.1); customers reach it via PutEvents, which
  is patched to come here and which refuses `aws.*` sources, as EventBridge does.
* A rule delivers only while ENABLED, and only what its pattern matches (moto's
  matcher is used for patterns).
* Targets: Lambda (asynchronous invoke, see lambda_runtime.py), SQS, other event
  buses (cross-account and cross-region), CloudWatch Logs.
* Permission checks that moto skips: the Lambda resource policy must allow
  events.amazonaws.com for this rule's ARN; an SQS target's queue policy must
  allow events.amazonaws.com to send; an event-bus target's role must be
  assumable by events.amazonaws.com and allowed events:PutEvents on the target bus,
  and a bus in another account must admit the sender in its policy (docs/AWS-BEHAVIOUR.md §6.5).
* A failure to reach a target (missing permission, missing resource) is not
  retried: the event goes to the target's dead-letter queue, with the attributes
  RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, or is dropped when there is no
  DLQ (docs/AWS-BEHAVIOUR.md §5.4). Failures after Lambda accepted the event are Lambda's
  business (retries, on-failure destination), not the rule's DLQ (docs/AWS-BEHAVIOUR.md §5.4,
  "Which failure goes where").
* Faults, all seeded: a fraction of ingested events is lost (AWS Backup events
  are best effort, docs/AWS-BEHAVIOUR.md §1.1), a fraction is delivered twice (EventBridge and
  Lambda may duplicate, docs/AWS-BEHAVIOUR.md §5.3), and delivery can be delayed by a random
  amount, which reorders events.

Every decision is recorded in `Bridge.trace` for the demo and the tests.
"""

from __future__ import annotations

import datetime
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from moto.awslambda.models import lambda_backends
from moto.events.models import EventsBackend, Rule, events_backends
from moto.events.utils import EventTemplateParser
from moto.iam.models import iam_backends
from moto.sqs.models import sqs_backends

from .authorization import AccessDeniedException, decide, principal_context, session_arn_of
from .clock import Clock
from .helpers import arn_parts, envelope_time, random_uuid
from .key_use import queue_key_refusal
from .lambda_runtime import ACCOUNT_CONCURRENCY, Decide, LambdaRuntime, _send_sqs
from .patches import Patches
from .policies import Request, denial_message, statements_of

EVENTS_SERVICE = "events.amazonaws.com"

# Time for an event to travel from the bus to a target (not an AWS figure: just
# long enough that delivery is visibly asynchronous on the simulated clock).
DEFAULT_LATENCY_SECONDS = 1.0


@dataclass
class Faults:
    """Seeded fault injection applied to each event put on a bus by an AWS service or PutEvents."""

    lose_fraction: float = 0.0  # event never delivered
    duplicate_fraction: float = 0.0  # event delivered twice, same id
    max_extra_delay_seconds: float = 0.0  # uniform extra delay: later events may overtake earlier ones


@dataclass
class Delivery:
    """One step of an event's journey, for the demo and the tests."""

    at: datetime.datetime
    event_id: str
    account: str
    region: str
    bus: str
    # lost | duplicated | rule-disabled | delivered | dead-lettered | dropped | dlq-refused | no-bus, and
    # after Lambda gave up on an event: on-failure-delivered | on-failure-refused |
    # on-failure-unsupported | on-failure-discarded (bus is then "", rule_arn the function's ARN)
    outcome: str
    rule_arn: str | None = None
    target_arn: str | None = None
    error_code: str | None = None
    error_message: str | None = None


class DeliveryFailure(Exception):
    """EventBridge could not hand the event to a target (not retried, docs/AWS-BEHAVIOUR.md §5.4)."""

    def __init__(self, error_code: str, error_message: str):
        super().__init__(f"{error_code}: {error_message}")
        self.error_code = error_code
        self.error_message = error_message


# ---------------------------------------------------------------------------- credentials


class MotoCredentials:
    """Temporary credentials in a given account, from moto STS (cached per role ARN).

    moto maps an access key from `sts.assume_role` to the account in the role ARN,
    so boto3 calls made with these credentials land in that account (docs/TESTING.md).
    """

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, str]] = {}
        self._sts: Any = None  # one client for every role: making a client costs more than the call

    def for_role(self, role_arn: str, session_name: str = "sandbox") -> dict[str, str]:
        """A session of the role; Lambda names its sessions after the function."""
        key = f"{role_arn}|{session_name}"
        if key not in self._cache:
            if self._sts is None:
                self._sts = boto3.client(
                    "sts",
                    region_name="us-east-1",
                    aws_access_key_id="AKIASANDBOXBOOTSTRAP",
                    aws_secret_access_key="sandbox",
                )
            credentials = self._sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
            self._cache[key] = {
                "AccessKeyId": credentials["AccessKeyId"],
                "SecretAccessKey": credentials["SecretAccessKey"],
                "SessionToken": credentials["SessionToken"],
            }
        return self._cache[key]

    def for_account(self, account: str) -> dict[str, str]:
        return self.for_role(f"arn:aws:iam::{account}:role/sandbox-operator")

    def clear(self) -> None:
        self._cache.clear()
        self._sts = None


# ---------------------------------------------------------------------------- the bridge


def _rate_seconds(expression: str | None) -> float | None:
    """Seconds between runs of `rate(N unit)`, or None for anything else."""
    if not expression or not expression.startswith("rate(") or not expression.endswith(")"):
        return None
    value, unit = expression[5:-1].split()
    unit_seconds = {"minute": 60, "hour": 3600, "day": 86400}[unit.rstrip("s")]
    return int(value) * unit_seconds


class Bridge:
    def __init__(
        self,
        clock: Clock,
        org_of_account: Callable[[str], str | None] | None = None,
        seed: int = 0,
        faults: Faults | None = None,
        latency_seconds: float = DEFAULT_LATENCY_SECONDS,
        credentials: MotoCredentials | None = None,
        concurrency_quota: int = ACCOUNT_CONCURRENCY,
        decide: Decide = decide,
        runtime: LambdaRuntime | None = None,
    ):
        """decide: the sandbox's authorisation (its Gate's `decide`); runtime: where Lambda targets
        run (made here when not given; installed by its owner, the Sandbox, not by the bridge)."""
        self.clock = clock
        self.org_of_account = org_of_account or (lambda account: None)
        self.faults = faults or Faults()
        self.latency_seconds = latency_seconds
        self.random = random.Random(seed)
        self.credentials = credentials or MotoCredentials()
        # concurrency_quota: every account's Lambda concurrent executions quota (lambda_runtime.py).
        self.decide = decide
        self.runtime = runtime or LambdaRuntime(
            clock, self.credentials.for_role, seed=seed, concurrency_quota=concurrency_quota, decide=decide
        )
        self.runtime.report = self._record_on_failure
        self.trace: list[Delivery] = []
        self.patches = Patches()

    # ------------------------------------------------------------------ install

    def install(self) -> Bridge:
        """Route moto's PutEvents, PutTargets and rule delivery through this bridge."""
        if self.patches.active:
            return self
        bridge = self

        def put_events(moto_put_events: Any, backend: EventsBackend, events: list[dict[str, Any]]) -> Any:
            return bridge.put_events(backend, events)

        def put_targets(
            moto_put_targets: Any,
            backend: EventsBackend,
            name: str,
            event_bus_arn: str | None,
            targets: list[dict[str, Any]],
        ) -> None:
            bridge.check_targets(backend, targets)
            moto_put_targets(backend, name, event_bus_arn, targets)

        def send_to_targets(
            moto_send: Any, rule: Rule, original_event: dict[str, Any], transform_input: bool = True
        ) -> None:
            # Any path inside moto that still delivers through a rule (e.g. an archive replay)
            # goes through the bridge's checks too.
            event = dict(original_event)
            event.setdefault("account", rule.account_id)
            event.setdefault("region", rule.region_name)
            bridge.dispatch_rule(rule, event)

        self.patches.wrap(EventsBackend, "put_events", put_events)
        self.patches.wrap(EventsBackend, "put_targets", put_targets)
        self.patches.wrap(Rule, "send_to_targets", send_to_targets)
        return self

    def uninstall(self) -> None:
        self.patches.undo()

    # ------------------------------------------------------------------ schedules

    def start_schedules(self) -> list[str]:
        """Fire every `rate(...)` rule of every account and region on the clock; returns their ARNs.

        EventBridge sends a scheduled rule's targets an `aws.events` / `Scheduled Event`
        with the rule ARN in `resources`. Only rate expressions are modelled; a cron
        rule is left alone.
        """
        started = []
        for account_backends in list(events_backends.values()):
            for region in list(account_backends.keys()):
                for bus in account_backends[region].event_buses.values():
                    for rule in bus.rules.values():
                        seconds = _rate_seconds(rule.scheduled_expression)
                        if seconds is None:
                            continue
                        self.clock.schedule(seconds, lambda r=rule, s=seconds: self._fire_schedule(r, s))
                        started.append(rule.arn)
        return started

    def _fire_schedule(self, rule: Rule, period_seconds: float) -> None:
        if rule.state != "DISABLED":
            event = {
                "version": "0",
                "id": self._new_id(),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": rule.account_id,
                "time": envelope_time(self.clock.now()),
                "region": rule.region_name,
                "resources": [rule.arn],
                "detail": {},
            }
            for target in list(rule.targets):
                self._send_to_target(rule, target, event)
        self.clock.schedule(period_seconds, lambda: self._fire_schedule(rule, period_seconds))

    # ------------------------------------------------------------------ ingestion

    def deliver(
        self, event: dict[str, Any], account: str, region: str, bus: str = "default", durable: bool = False
    ) -> None:
        """Put `event` (a full envelope) on `bus` in `account`/`region`; delivery happens on the clock.

        This is the event sink of the AWS Backup emulation: AWS service events land
        on the default bus of the account and region that emitted them (docs/AWS-BEHAVIOUR.md §1.1).
        """
        event = dict(event)
        # moto's own envelopes may lack these; EventBridge always sets them (docs/AWS-BEHAVIOUR.md §1.2).
        event.setdefault("version", "0")
        event.setdefault("id", self._new_id())
        event.setdefault("account", account)
        event.setdefault("region", region)
        event.setdefault("time", envelope_time(self.clock.now()))
        event.setdefault("resources", [])
        # durable: CloudWatch's alarm events are never lost, but delivered at least once, so they
        # may come twice like any event (docs/AWS-BEHAVIOUR.md §18.6).
        if not durable and self.random.random() < self.faults.lose_fraction:
            self._record(event, account, region, bus, "lost")
            return
        copies = 1
        if self.random.random() < self.faults.duplicate_fraction:
            copies = 2
            self._record(event, account, region, bus, "duplicated")
        for _ in range(copies):
            delay = self.latency_seconds + self.random.uniform(0, self.faults.max_extra_delay_seconds)
            self.clock.schedule(delay, lambda: self._route(event, account, region, bus))

    def _new_id(self) -> str:
        return random_uuid(self.random)

    def _record(
        self,
        event: dict[str, Any],
        account: str,
        region: str,
        bus: str,
        outcome: str,
        rule: Rule | None = None,
        target_arn: str | None = None,
        failure: DeliveryFailure | None = None,
    ) -> None:
        self.trace.append(
            Delivery(
                self.clock.now(),
                event.get("id", ""),
                account,
                region,
                bus,
                outcome,
                rule.arn if rule else None,
                target_arn,
                failure.error_code if failure else None,
                failure.error_message if failure else None,
            )
        )

    def _record_on_failure(
        self,
        event_id: str,
        account: str,
        region: str,
        outcome: str,
        function_arn: str,
        destination_arn: str | None,
        reason: tuple[str, str] | None,
    ) -> None:
        """What became of an event Lambda gave up on (lambda_runtime.py reports it)."""
        code, message = reason if reason else (None, None)
        self.trace.append(
            Delivery(
                self.clock.now(), event_id, account, region, "", outcome, function_arn, destination_arn, code, message
            )
        )

    # ------------------------------------------------------------------ routing

    def _route(self, event: dict[str, Any], account: str, region: str, bus_name: str) -> None:
        bus = events_backends[account][region].event_buses.get(bus_name)
        if bus is None:
            self._record(event, account, region, bus_name, "no-bus")
            return
        for rule in list(bus.rules.values()):
            self.dispatch_rule(rule, event)

    def dispatch_rule(self, rule: Rule, event: dict[str, Any]) -> None:
        """Send `event` to the rule's targets if the rule is enabled and matches."""
        if not rule.event_pattern.get_pattern():
            return  # a schedule-only rule matches no events
        if not rule.event_pattern.matches_event(event):
            return
        if rule.state == "DISABLED":
            # moto ignores the state; EventBridge does not deliver for a disabled rule.
            self._record(event, rule.account_id, rule.region_name, rule.event_bus_name, "rule-disabled", rule)
            return
        for target in list(rule.targets):
            self._send_to_target(rule, target, event)

    def _send_to_target(self, rule: Rule, target: dict[str, Any], event: dict[str, Any]) -> None:
        # Each delivery gets its own copy, as if serialised on the wire: what one target (a
        # function mutating its event, say) does to it cannot leak into another target or duplicate.
        event = json.loads(json.dumps(event, default=str))
        target_arn = target["Arn"]
        _, service, _, _, resource = arn_parts(target_arn)
        try:
            if service == "lambda":
                self._to_lambda(rule, target, self._target_input(target, event))
            elif service == "sqs":
                self._to_sqs(rule, target_arn, self._target_input(target, event))
            elif service == "events" and resource.startswith("event-bus/"):
                self._to_event_bus(rule, target, event)
            elif service == "logs":
                rule._send_to_cw_log_group(resource.split(":")[1], dict(event))
            else:
                raise DeliveryFailure("INVALID_PARAMETER", f"The sandbox does not deliver to {service} targets")
        except DeliveryFailure as failure:
            self._dead_letter(rule, target, event, failure)
            return
        self._record(event, rule.account_id, rule.region_name, rule.event_bus_name, "delivered", rule, target_arn)

    @staticmethod
    def _target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
        if "Input" in target:
            return json.loads(target["Input"])
        if "InputPath" in target:
            value: Any = event
            for part in target["InputPath"].lstrip("$").strip(".").split("."):
                if part:
                    value = value[part]
            return value
        if "InputTransformer" in target:
            transformer = target["InputTransformer"]
            text = EventTemplateParser.parse(
                input_template=transformer.get("InputTemplate"),
                input_paths_map=transformer.get("InputPathsMap", {}),
                event=event,
            )
            return text
        return event

    # ------------------------------------------------------------------ targets

    def _to_lambda(self, rule: Rule, target: dict[str, Any], payload: Any) -> None:
        _, _, region, account, resource = arn_parts(target["Arn"])
        name = resource.split(":")[1]
        try:
            function = lambda_backends[account][region].get_function(name)
        except Exception:
            raise DeliveryFailure("NO_RESOURCE", f"Function not found: {target['Arn']}") from None
        cross_account = account != rule.account_id
        if cross_account:
            # Cross-account Lambda targets need an execution role in the bus account (docs/AWS-BEHAVIOUR.md §6.5).
            self._check_role(rule, target)
            # The target's role invokes: its identity policy and the function's policy, both sides.
            request = self._as_role(rule, target["RoleArn"], "lambda:InvokeFunction", function.function_arn)
        else:
            # EventBridge itself invokes: the function's resource policy must allow
            # events.amazonaws.com, with aws:SourceArn the rule (AWS::Lambda::Permission,
            # docs/AWS-BEHAVIOUR.md §5.4, §11.4).
            request = Request(
                action="lambda:InvokeFunction",
                resource=function.function_arn,
                service=EVENTS_SERVICE,
                context=self._sender_context(rule),
            )
        decision = self.decide(request, function.policy.statements, account)
        if not decision.allowed:
            raise DeliveryFailure("NO_PERMISSIONS", denial_message(request, decision))
        self.runtime.invoke_async(function, payload)

    def _to_sqs(self, rule: Rule, queue_arn: str, payload: Any) -> None:
        _, _, region, account, name = arn_parts(queue_arn)
        try:
            queue = sqs_backends[account][region].get_queue(name)
        except Exception:
            raise DeliveryFailure("NO_RESOURCE", f"Queue not found: {queue_arn}") from None
        request = Request(
            action="sqs:SendMessage", resource=queue_arn, service=EVENTS_SERVICE, context=self._sender_context(rule)
        )
        decision = self.decide(request, statements_of(queue.policy), account)
        if not decision.allowed:
            raise DeliveryFailure("NO_PERMISSIONS", denial_message(request, decision))
        # A queue under a customer managed key: its key policy must let EventBridge use the key
        # (docs/AWS-BEHAVIOUR.md §5.4, §19 item 70).
        key_refused = queue_key_refusal(self.decide, request, queue, queue_arn)
        if key_refused is not None:
            raise DeliveryFailure("NO_PERMISSIONS", key_refused.message)
        _send_sqs(queue_arn, json.dumps(payload, default=str))

    def _to_event_bus(self, rule: Rule, target: dict[str, Any], event: dict[str, Any]) -> None:
        bus_arn = target["Arn"]
        _, _, region, account, resource = arn_parts(bus_arn)
        bus_name = resource.split("/", 1)[1]
        cross_account = account != rule.account_id
        if target.get("RoleArn"):
            self._check_role(rule, target)
        elif cross_account:
            # Since 2023 EventBridge requires a role for new cross-account bus targets (docs/AWS-BEHAVIOUR.md §6.5).
            raise DeliveryFailure("NO_PERMISSIONS", f"A cross-account event bus target needs a RoleArn: {bus_arn}")
        bus = events_backends[account][region].event_buses.get(bus_name)
        if bus is None:
            raise DeliveryFailure("NO_RESOURCE", f"Event bus not found: {bus_arn}")
        if target.get("RoleArn"):
            # The role's session puts the event: its identity policy, and across accounts the bus
            # policy too; the request carries the principal's keys, no aws:SourceArn (docs/AWS-BEHAVIOUR.md §11.4).
            request = self._as_role(rule, target["RoleArn"], "events:PutEvents", bus_arn)
            decision = self.decide(request, statements_of(bus.policy) if bus.policy else None, account)
            if not decision.allowed:
                code = (
                    "CROSS_ACCOUNT_INGESTION_FAILED"
                    if cross_account and "resource-based" in decision.reason
                    else "NO_PERMISSIONS"
                )
                raise DeliveryFailure(code, denial_message(request, decision))
        # The event keeps its envelope (id, account, source, time, resources, detail)
        # when it is forwarded; only the bus it is on changes.
        self.clock.schedule(self.latency_seconds, lambda: self._route(dict(event), account, region, bus_name))

    def _check_role(self, rule: Rule, target: dict[str, Any]) -> None:
        """EventBridge must be able to assume the target's role: a role of the rule's account whose
        trust policy admits events.amazonaws.com, with the rule as aws:SourceArn (docs/AWS-BEHAVIOUR.md §6.5, §11.4)."""
        role_arn = target.get("RoleArn")
        if not role_arn:
            raise DeliveryFailure("NO_PERMISSIONS", f"Target {target['Arn']} needs a RoleArn")
        _, _, _, role_account, role_resource = arn_parts(role_arn)
        try:
            role = iam_backends[role_account]["aws"].get_role(role_resource.split("/")[-1])
        except Exception:
            raise DeliveryFailure("FAILED_TO_ASSUME_ROLE", f"Role not found: {role_arn}") from None
        trust = Request(
            action="sts:AssumeRole", resource=role_arn, service=EVENTS_SERVICE, context=self._sender_context(rule)
        )
        if (
            role_account != rule.account_id
            or not self.decide(trust, statements_of(role.assume_role_policy_document), role_account).allowed
        ):
            raise DeliveryFailure("FAILED_TO_ASSUME_ROLE", f"events.amazonaws.com cannot assume {role_arn}")

    def _as_role(self, rule: Rule, role_arn: str, action: str, resource: str) -> Request:
        """A request made by EventBridge's session of a target's role (session name: the rule's)."""
        return Request(
            action=action,
            resource=resource,
            principal_account=rule.account_id,
            principal_arn=role_arn,
            session_arn=session_arn_of(role_arn, rule.name),
            context=principal_context(rule.account_id, role_arn, self.org_of_account),
        )

    @staticmethod
    def _sender_context(rule: Rule) -> dict[str, str]:
        """What EventBridge puts in the request context when it acts for a rule (deliveries to
        Lambda and SQS, dead letters, assuming a target's role): aws:SourceArn, the rule's ARN,
        and aws:SourceAccount, the rule's account (docs/AWS-BEHAVIOUR.md §11.4, §14)."""
        return {"aws:SourceArn": rule.arn, "aws:SourceAccount": rule.account_id}

    # ------------------------------------------------------------------ dead letters

    def _dead_letter(self, rule: Rule, target: dict[str, Any], event: dict[str, Any], failure: DeliveryFailure) -> None:
        """Send to the target's DLQ with the documented attributes, or drop (docs/AWS-BEHAVIOUR.md §5.4)."""
        bus = rule.event_bus_name
        dlq_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
        if not dlq_arn:
            self._record(event, rule.account_id, rule.region_name, bus, "dropped", rule, target["Arn"], failure)
            return
        _, _, region, account, name = arn_parts(dlq_arn)
        queue = sqs_backends[account][region].queues.get(name)
        # Dead letters are sent by EventBridge for the rule: aws:SourceArn and aws:SourceAccount
        # (docs/AWS-BEHAVIOUR.md §11.4).
        request = Request(
            action="sqs:SendMessage", resource=dlq_arn, service=EVENTS_SERVICE, context=self._sender_context(rule)
        )
        if (
            queue is None
            or not self.decide(request, statements_of(queue.policy), account).allowed
            # ... nor a DLQ whose key EventBridge may not use (docs/AWS-BEHAVIOUR.md §19 item 70).
            or queue_key_refusal(self.decide, request, queue, dlq_arn) is not None
        ):
            # Counted by EventBridge as InvocationsFailedToBeSentToDLQ: the event is lost.
            self._record(event, rule.account_id, rule.region_name, bus, "dlq-refused", rule, target["Arn"], failure)
            return
        _send_sqs(
            dlq_arn,
            json.dumps(event, default=str),
            {
                "RULE_ARN": rule.arn,
                "TARGET_ARN": target["Arn"],
                "ERROR_CODE": failure.error_code,
                "ERROR_MESSAGE": failure.error_message,
            },
        )
        self._record(event, rule.account_id, rule.region_name, bus, "dead-lettered", rule, target["Arn"], failure)

    # ------------------------------------------------------------------ PutTargets

    def check_targets(self, backend: EventsBackend, targets: list[dict[str, Any]]) -> None:
        """PutTargets with another account's event bus as a target: EventBridge is reported to check,
        when the targets are put, that the bus exists and that its policy admits the rule's account
        (docs/AWS-BEHAVIOUR.md §14: reported by others; the sandbox models it strictly). So the
        account that owns the bus must be deployed first."""
        from moto.events.exceptions import ResourceNotFoundException

        for target in targets:
            try:
                _, service, region, account, resource = arn_parts(target.get("Arn", ""))
            except ValueError:
                continue
            if service != "events" or not resource.startswith("event-bus/") or account == backend.account_id:
                continue
            bus_name = resource.split("/", 1)[1]
            bus = events_backends[account][region].event_buses.get(bus_name)
            if bus is None:
                raise ResourceNotFoundException(f"Event bus {bus_name} does not exist.")
            request = Request(
                action="events:PutEvents",
                resource=bus.arn,
                principal_account=backend.account_id,
                principal_arn=f"arn:aws:iam::{backend.account_id}:root",
                context=principal_context(backend.account_id, None, self.org_of_account),
            )
            administrator = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
            decision = self.decide(request, statements_of(bus.policy) if bus.policy else None, account, administrator)
            if not decision.allowed:
                raise AccessDeniedException(
                    f"User: arn:aws:iam::{backend.account_id}:root is not authorized to perform: events:PutEvents "
                    f"on resource: {bus.arn} {decision.reason}"
                )

    # ------------------------------------------------------------------ PutEvents

    def put_events(self, backend: EventsBackend, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """PutEvents as the caller's account sees it; returns the per-entry results."""
        if len(entries) > 10:
            from moto.events.exceptions import ValidationException

            raise ValidationException(
                "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to "
                "satisfy constraint: Member must have length less than or equal to 10"
            )
        return [self._put_one(backend, entry) for entry in entries]

    def _put_one(self, backend: EventsBackend, entry: dict[str, Any]) -> dict[str, Any]:
        for required in ("Source", "DetailType", "Detail"):
            if not entry.get(required):
                return {
                    "ErrorCode": "InvalidArgument",
                    "ErrorMessage": f"Parameter {required} is not valid. Reason: {required} is a required argument.",
                }
        if entry["Source"].startswith("aws."):
            # Sources starting with aws. are reserved for AWS services; this is what keeps
            # a forged "aws.backup" event away from the backup account's function (README: Accounts,
            # regions and stack instances).
            return {"ErrorCode": "NotAuthorizedForSourceException", "ErrorMessage": "Not authorized for the source."}
        try:
            detail = json.loads(entry["Detail"])
        except ValueError:
            return {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
        bus_reference = entry.get("EventBusName") or "default"
        account, region, bus_name = backend.account_id, backend.region_name, bus_reference
        if bus_reference.startswith("arn:"):
            _, _, region, account, resource = arn_parts(bus_reference)
            bus_name = resource.split("/", 1)[1]
        bus = events_backends[account][region].event_buses.get(bus_name)
        if bus is None:
            return {"ErrorCode": "ResourceNotFoundException", "ErrorMessage": f"Event bus {bus_name} does not exist."}
        if account != backend.account_id:
            # The caller is an account's administrator (the sandbox's operator credentials): its own
            # side allows; the bus policy must admit the account (docs/AWS-BEHAVIOUR.md §11.3).
            request = Request(
                action="events:PutEvents",
                resource=bus.arn,
                principal_account=backend.account_id,
                context=principal_context(backend.account_id, None, self.org_of_account),
            )
            administrator = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
            if not self.decide(request, statements_of(bus.policy), account, administrator).allowed:
                return {
                    "ErrorCode": "AccessDeniedException",
                    "ErrorMessage": f"Account {backend.account_id} may not put events on {bus.arn}",
                }
        when = entry.get("Time")
        event = {
            "version": "0",
            "id": self._new_id(),
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "account": backend.account_id,
            "time": envelope_time(when) if isinstance(when, datetime.datetime) else envelope_time(self.clock.now()),
            "region": backend.region_name,
            "resources": entry.get("Resources", []),
            "detail": detail,
        }
        self.deliver(event, account, region, bus_name)
        return {"EventId": event["id"]}
