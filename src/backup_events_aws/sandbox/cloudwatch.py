"""CloudWatch for the sandbox: metrics from SQS and from Embedded Metric Format logs, and alarms
evaluated on the simulated clock that emit "CloudWatch Alarm State Change" events.

moto 5.2.5 stores metric data and alarms but never evaluates an alarm, has no
AWS::CloudWatch::Alarm for CloudFormation, publishes no AWS/SQS metric and extracts no
metric from logs. This module models what the alert path needs (docs/AWS-BEHAVIOUR.md §18):

* AWS/SQS NumberOfMessagesSent: every SendMessage (API, EventBridge target or dead letter,
  Lambda on-failure record) counts 1 for its queue (dimension QueueName) in its minute. SQS
  pushes its metrics at one-minute intervals; how late a datapoint becomes visible is not
  documented (others report up to 15 minutes), so the sandbox makes it visible
  `SQS_METRIC_DELAY_SECONDS` after its minute ends: the stricter choice (§19).
* Embedded Metric Format: a log event whose text is a JSON object with a valid `_aws`
  member (Timestamp in ms, CloudWatchMetrics with Namespace, Dimensions and Metrics whose
  values are top-level numbers) becomes metric datapoints; an invalid one stays a log line
  and makes no metric (the EMF specification). Visible at once.
* Alarms (AWS::CloudWatch::Alarm, one metric): Statistic Sum / Maximum / Minimum /
  Average / SampleCount over Period; ALARM when at least DatapointsToAlarm of the last
  EvaluationPeriods periods breach, else OK; TreatMissingData notBreaching / breaching
  (missing / ignore keep the state when every period is missing). Evaluated once a minute,
  only while datapoints can still change the state (so an idle sandbox stays idle). Each
  state change emits the documented event on the alarm's account and region default bus.

Datapoints also go to moto's CloudWatch store, so GetMetricStatistics sees them.
"""

from __future__ import annotations

import datetime
import json
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from moto.cloudwatch.models import MetricDatum, cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.logs.models import LogsBackend
from moto.sqs.models import SQSBackend

from .clock import Clock
from .cloudformation import SandboxResource
from .patches import Patches

SQS_METRIC_DELAY_SECONDS = 300  # stricter than the documented one-minute push (§19)
EVALUATION_SECONDS = 60  # CloudWatch evaluates a one-minute-or-longer alarm every minute
UTC = datetime.UTC
COMPARISONS: Mapping[str, Callable[[float, float], bool]] = MappingProxyType(
    {
        "GreaterThanOrEqualToThreshold": operator.ge,
        "GreaterThanThreshold": operator.gt,
        "LessThanThreshold": operator.lt,
        "LessThanOrEqualToThreshold": operator.le,
    }
)


@dataclass
class Datapoint:
    namespace: str
    name: str
    dimensions: dict[str, str]
    at: datetime.datetime
    value: float
    visible_at: datetime.datetime


@dataclass
class SandboxAlarm:
    account: str
    region: str
    name: str
    namespace: str
    metric: str
    dimensions: dict[str, str]
    statistic: str
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing_data: str
    state: str = "INSUFFICIENT_DATA"
    state_reason: str = "Unchecked: Initial alarm creation"
    state_timestamp: str = ""
    history: list[str] = field(default_factory=list)  # every state it entered, in order

    @property
    def arn(self) -> str:
        return f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{self.name}"


class CloudWatch:
    """Metrics and alarm evaluation of every account and region of the sandbox."""

    def __init__(self, clock: Clock, emit: Callable[[dict[str, Any], str, str], None], new_id: Callable[[], str]):
        self.clock, self.emit, self.new_id = clock, emit, new_id
        self.datapoints: dict[tuple[str, str], list[Datapoint]] = {}
        self.alarms: dict[tuple[str, str, str], SandboxAlarm] = {}
        self._scheduled: set[tuple[tuple[str, str, str], datetime.datetime]] = set()
        self.patches = Patches()

    # ------------------------------------------------------------------ install

    def install(self) -> CloudWatch:
        """Count SQS sends, extract EMF from log events, evaluate the alarms templates create."""
        if self.patches.active:
            return self
        cloudwatch = self

        def send_message(moto_send: Any, backend: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
            # SendMessageBatch sends each entry through here too.
            message = moto_send(backend, queue_name, *args, **kwargs)
            cloudwatch.sqs_message_sent(backend.account_id, backend.region_name, queue_name)
            return message

        def put_log_events(
            moto_put: Any,
            backend: LogsBackend,
            log_group_name: str,
            log_stream_name: str,
            log_events: list[dict[str, Any]],
        ) -> Any:
            if log_group_name in backend.groups:
                for log_event in log_events:
                    cloudwatch.log_event(backend.account_id, backend.region_name, log_event["message"])
            return moto_put(backend, log_group_name, log_stream_name, log_events)

        def create_alarm(moto_create: Any, cls: Any, *args: Any, **kwargs: Any) -> AlarmResource:
            resource: AlarmResource = moto_create(cls, *args, **kwargs)
            cloudwatch.add_alarm(resource.alarm)
            return resource

        def delete_alarm(
            moto_delete: Any,
            cls: Any,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> None:
            moto_delete(cls, resource_name, cloudformation_json, account_id, region_name)
            name = (cloudformation_json.get("Properties") or {}).get("AlarmName", resource_name)
            cloudwatch.remove_alarm(account_id, region_name, name)

        self.patches.wrap(SQSBackend, "send_message", send_message)
        self.patches.wrap(LogsBackend, "put_log_events", put_log_events)
        self.patches.wrap(AlarmResource, "create_from_cloudformation_json", create_alarm)
        self.patches.wrap(AlarmResource, "delete_from_cloudformation_json", delete_alarm)
        return self

    def uninstall(self) -> None:
        self.patches.undo()

    # ------------------------------------------------------------------ metrics

    def put(
        self,
        account: str,
        region: str,
        namespace: str,
        name: str,
        dimensions: dict[str, str],
        value: float,
        at: datetime.datetime,
        delay_seconds: float = 0.0,
    ) -> None:
        visible = at + datetime.timedelta(seconds=delay_seconds)
        self.datapoints.setdefault((account, region), []).append(
            Datapoint(namespace, name, dict(dimensions), at, float(value), visible)
        )
        cloudwatch_backends[account][region].metric_data.append(
            MetricDatum(namespace, name, float(value), [{"Name": k, "Value": v} for k, v in dimensions.items()], at)
        )
        for key, alarm in list(self.alarms.items()):
            if (alarm.account, alarm.region, alarm.namespace, alarm.metric, alarm.dimensions) == (
                account,
                region,
                namespace,
                name,
                dimensions,
            ):
                self._schedule_evaluations(key, alarm, visible)

    def sqs_message_sent(self, account: str, region: str, queue_name: str) -> None:
        now = self.clock.now()
        minute_end = now.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
        delay = (minute_end - now).total_seconds() + SQS_METRIC_DELAY_SECONDS
        self.put(account, region, "AWS/SQS", "NumberOfMessagesSent", {"QueueName": queue_name}, 1, now, delay)

    def log_event(self, account: str, region: str, text: str) -> int:
        """Extract the metrics of one log event if it is valid EMF; returns how many."""
        document = embedded_metrics(text)
        if document is None:
            return 0
        at = datetime.datetime.fromtimestamp(document["_aws"]["Timestamp"] / 1000, UTC)
        made = 0
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = {name: document[name] for name in dimension_set}
                for metric in directive["Metrics"]:
                    self.put(
                        account,
                        region,
                        directive["Namespace"],
                        metric["Name"],
                        dimensions,
                        document[metric["Name"]],
                        at,
                    )
                    made += 1
        return made

    def metric_sum(
        self, account: str, region: str, namespace: str, name: str, dimensions: dict[str, str] | None = None
    ) -> float:
        return sum(
            p.value
            for p in self.datapoints.get((account, region), [])
            if (p.namespace, p.name) == (namespace, name) and (dimensions is None or p.dimensions == dimensions)
        )

    def latest(self, account: str, region: str, namespace: str, name: str) -> Datapoint | None:
        points = [p for p in self.datapoints.get((account, region), []) if (p.namespace, p.name) == (namespace, name)]
        return max(points, key=lambda p: p.at) if points else None

    # ------------------------------------------------------------------ alarms

    def add_alarm(self, alarm: SandboxAlarm) -> None:
        self.alarms[(alarm.account, alarm.region, alarm.name)] = alarm

    def remove_alarm(self, account: str, region: str, name: str) -> None:
        self.alarms.pop((account, region, name), None)

    def _schedule_evaluations(self, key: tuple[str, str, str], alarm: SandboxAlarm, visible: datetime.datetime) -> None:
        """Evaluate every minute from when the datapoint is visible until it has left the window."""
        first = _ceil_minute(max(visible, self.clock.now()))
        window = alarm.period * alarm.evaluation_periods + EVALUATION_SECONDS
        for step in range(0, window + 1, EVALUATION_SECONDS):
            at = first + datetime.timedelta(seconds=step)
            if (key, at) in self._scheduled:
                continue
            self._scheduled.add((key, at))
            delay = (at - self.clock.now()).total_seconds()
            self.clock.schedule(delay, lambda k=key, t=at: self._evaluate(k, t))

    def _evaluate(self, key: tuple[str, str, str], at: datetime.datetime) -> None:
        self._scheduled.discard((key, at))
        alarm = self.alarms.get(key)
        if alarm is None:
            return
        values = self.period_values(alarm, at)
        compare = COMPARISONS[alarm.comparison]
        known = [v for v in values if v is not None]
        if not known and alarm.treat_missing_data in ("missing", "ignore"):
            return
        missing_breaches = alarm.treat_missing_data == "breaching"
        breaching = sum(1 for v in values if (compare(v, alarm.threshold) if v is not None else missing_breaches))
        state = "ALARM" if breaching >= alarm.datapoints_to_alarm else "OK"
        if state != alarm.state:
            self._change(alarm, state, values, at)

    def period_values(self, alarm: SandboxAlarm, at: datetime.datetime) -> list[float | None]:
        """The statistic of each of the last EvaluationPeriods periods ending at `at`, newest
        first, from the datapoints visible by then (None: no data)."""
        points = [
            p
            for p in self.datapoints.get((alarm.account, alarm.region), [])
            if (p.namespace, p.name, p.dimensions) == (alarm.namespace, alarm.metric, alarm.dimensions)
            and p.visible_at <= at
        ]
        end = _floor(at, alarm.period)
        values: list[float | None] = []
        for index in range(alarm.evaluation_periods):
            stop = end - datetime.timedelta(seconds=alarm.period * index)
            start = stop - datetime.timedelta(seconds=alarm.period)
            inside = [p.value for p in points if start <= p.at < stop]
            values.append(_statistic(alarm.statistic, inside) if inside else None)
        return values

    def _change(self, alarm: SandboxAlarm, state: str, values: list[float | None], at: datetime.datetime) -> None:
        previous = {"value": alarm.state, "reason": alarm.state_reason, "timestamp": alarm.state_timestamp}
        shown = [v for v in values if v is not None]
        reason = (
            f"Threshold Crossed: {sum(1 for v in shown if COMPARISONS[alarm.comparison](v, alarm.threshold))}"
            f" out of the last {alarm.evaluation_periods} datapoints {shown} was "
            f"{'' if state == 'ALARM' else 'not '}{_words(alarm.comparison)} the threshold "
            f"({alarm.threshold}) (minimum {alarm.datapoints_to_alarm} datapoint for OK -> ALARM transition)."
        )
        stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        alarm.state, alarm.state_reason, alarm.state_timestamp = state, reason, stamp
        alarm.history.append(state)
        moto_alarm = cloudwatch_backends[alarm.account][alarm.region].alarms.get(alarm.name)
        if moto_alarm is not None:
            moto_alarm.update_state(reason, json.dumps({"recentDatapoints": shown}), state)
        # The documented "CloudWatch Alarm State Change" event of a single-metric alarm (§18).
        event = {
            "version": "0",
            "id": self.new_id(),
            "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch",
            "account": alarm.account,
            "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": alarm.region,
            "resources": [alarm.arn],
            "detail": {
                "alarmName": alarm.name,
                "state": {
                    "value": state,
                    "reason": reason,
                    "timestamp": stamp,
                    "reasonData": json.dumps(
                        {
                            "version": "1.0",
                            "queryDate": stamp,
                            "statistic": alarm.statistic,
                            "period": alarm.period,
                            "recentDatapoints": shown,
                            "threshold": alarm.threshold,
                        }
                    ),
                },
                "previousState": previous,
                "configuration": {
                    "metrics": [
                        {
                            "id": "m1",
                            "returnData": True,
                            "metricStat": {
                                "metric": {
                                    "namespace": alarm.namespace,
                                    "name": alarm.metric,
                                    "dimensions": alarm.dimensions,
                                },
                                "period": alarm.period,
                                "stat": alarm.statistic,
                            },
                        }
                    ]
                },
            },
        }
        self.emit(event, alarm.account, alarm.region)


def _ceil_minute(moment: datetime.datetime) -> datetime.datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + datetime.timedelta(minutes=1)


def _floor(moment: datetime.datetime, seconds: int) -> datetime.datetime:
    epoch = moment.timestamp()
    return datetime.datetime.fromtimestamp(math.floor(epoch / seconds) * seconds, UTC)


def _statistic(name: str, values: list[float]) -> float:
    return {"Sum": sum, "Maximum": max, "Minimum": min, "SampleCount": len, "Average": lambda v: sum(v) / len(v)}[name](
        values
    )


def _words(comparison: str) -> str:
    return {
        "GreaterThanOrEqualToThreshold": "greater than or equal to",
        "GreaterThanThreshold": "greater than",
        "LessThanThreshold": "less than",
        "LessThanOrEqualToThreshold": "less than or equal to",
    }[comparison]


def embedded_metrics(text: str) -> dict[str, Any] | None:
    """The EMF document in a log event's text, or None if it is not valid EMF (the EMF
    specification: `_aws.Timestamp` a number of ms, each CloudWatchMetrics directive with a
    Namespace, Dimensions as lists of top-level string members, at most 30 per set, and Metrics
    naming top-level numeric members, at most 100)."""
    try:
        document = json.loads(text)
    except (TypeError, ValueError):
        return None
    meta = document.get("_aws") if isinstance(document, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get("Timestamp"), (int, float)):
        return None
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return None
    for directive in directives:
        if not isinstance(directive, dict) or not isinstance(directive.get("Namespace"), str):
            return None
        sets, metrics = directive.get("Dimensions", []), directive.get("Metrics")
        if not isinstance(metrics, list) or not 0 < len(metrics) <= 100:
            return None
        for dimension_set in sets:
            if len(dimension_set) > 30 or any(not isinstance(document.get(name), str) for name in dimension_set):
                return None
        for metric in metrics:
            value = document.get(metric.get("Name")) if isinstance(metric, dict) else None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return None
    return document


# --------------------------------------------------------------------------- CloudFormation


class AlarmResource(SandboxResource, CloudFormationModel):
    """AWS::CloudWatch::Alarm (one metric), in moto's store. Ref = name; GetAtt Arn. The
    CloudWatch that is installed evaluates it (`CloudWatch.install`)."""

    resource_type, name_property, physical_id_attribute = "AWS::CloudWatch::Alarm", "AlarmName", "name"
    get_att = {"Arn": "arn"}

    def __init__(self, alarm: SandboxAlarm):
        self.alarm = alarm

    @property
    def name(self) -> str:
        return self.alarm.name

    @property
    def arn(self) -> str:
        return self.alarm.arn

    @classmethod
    def create(
        cls, name: str, properties: dict[str, Any], account_id: str, region: str, logical_id: str
    ) -> AlarmResource:
        p = properties
        for required in ("ComparisonOperator", "EvaluationPeriods"):
            if required not in p:
                raise ValueError(f"Property {required} cannot be empty.")
        period = int(p["Period"])
        if period not in (10, 30) and period % 60:
            # PutMetricAlarm: Period is 10, 30, or a multiple of 60 (§18).
            raise ValueError("Period must be 10, 30 or a multiple of 60")
        evaluations = int(p["EvaluationPeriods"])
        alarm = SandboxAlarm(
            account_id,
            region,
            p.get("AlarmName", name),
            p["Namespace"],
            p["MetricName"],
            {d["Name"]: str(d["Value"]) for d in p.get("Dimensions", [])},
            p["Statistic"],
            period,
            evaluations,
            int(p.get("DatapointsToAlarm", evaluations)),
            float(p["Threshold"]),
            p["ComparisonOperator"],
            p.get("TreatMissingData", "missing"),
        )
        if alarm.comparison not in COMPARISONS or not 1 <= alarm.datapoints_to_alarm <= evaluations:
            raise ValueError(f"Unsupported alarm {alarm.name}: {alarm.comparison}, {alarm.datapoints_to_alarm}")
        cloudwatch_backends[account_id][region].put_metric_alarm(
            name=alarm.name,
            namespace=alarm.namespace,
            metric_name=alarm.metric,
            comparison_operator=alarm.comparison,
            evaluation_periods=evaluations,
            period=period,
            threshold=alarm.threshold,
            statistic=alarm.statistic,
            description=p.get("AlarmDescription", ""),
            dimensions=[{"Name": k, "Value": v} for k, v in alarm.dimensions.items()],
            alarm_actions=[],
            datapoints_to_alarm=alarm.datapoints_to_alarm,
            treat_missing_data=alarm.treat_missing_data,
        )
        return cls(alarm)

    @classmethod
    def delete(cls, name: str, properties: dict[str, Any], account_id: str, region: str) -> None:
        cloudwatch_backends[account_id][region].alarms.pop(properties.get("AlarmName", name), None)
