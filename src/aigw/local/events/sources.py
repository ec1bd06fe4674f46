"""Connect moto's event sources to in-process handlers, with the event shapes AWS sends.

moto's own delivery either needs Docker (Lambda) or sends placeholder events (an SNS record
whose ``TopicArn`` is ``arn:aws:sns:EXAMPLE``), and EventBridge has no Lambda target and Step
Functions emits no status-change events at all. Each gap is one small patch here:

- ``LambdaFunction.invoke`` (every Lambda invocation inside moto) → :class:`LambdaBridge`;
- a function's ``DeadLetterConfig``, which moto drops: kept on its function, shown by
  GetFunctionConfiguration; what UpdateFunctionConfiguration changes of it and of the
  ``Environment`` reaches the running function (the bridge never reads moto's config);
- SNS → Lambda subscriptions: the real record (topic, subject, message attributes), async;
- DynamoDB stream → event source mapping: ordered ``Records`` batches up to ``BatchSize``,
  after its ``FilterCriteria``, halved on failure with ``BisectBatchOnFunctionError``,
  retried from the first failed record with ``ReportBatchItemFailures``;
- Kinesis stream → event source mapping: the same batches of Lambda's Kinesis records,
  delivered after ``PutRecord``/``PutRecords`` answered (moto invoked the function, one
  record at a time, inside the call);
- S3 bucket notifications to Lambda: asynchronous, as S3 sends them;
- EventBridge rules: Lambda and Step Functions targets, with ``Input``/``InputPath``/
  ``InputTransformer``;
- Step Functions: "Step Functions Execution Status Change" events for STANDARD machines
  (as AWS: EXPRESS machines emit none), so rules on FAILED/TIMED_OUT/ABORTED executions work.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda import models as lambda_models
from moto.awslambda.exceptions import InvalidParameterValueException
from moto.core.exceptions import JsonRESTError
from moto.events import models as events_models
from moto.s3 import notifications as s3_notifications
from moto.sns import models as sns_models
from moto.stepfunctions.parser.backend import execution as sfn_execution

from aigw.local.events.pipes import PipePoller, PipeSpec
from aigw.local.events.queues import QueueMapping, QueuePoller, matches_filters
from aigw.local.lambdas.bridge import (
    FailureHandler,
    FunctionThrottledError,
    LambdaBridge,
    RequestTooLargeError,
    UnknownFunctionError,
    check_request_size,
)

LOG = logging.getLogger("aigw.local.events")

#: Local stand-in for "retry until the records expire" (MaximumRetryAttempts = -1).
STREAM_ATTEMPTS_WHEN_UNBOUNDED = 10
#: Where a moto function keeps its DeadLetterConfig's TargetArn (moto has no such field).
_DEAD_LETTER = "aigw_dead_letter_target"


def _dead_letter_target(config: dict[str, Any] | None) -> str | None:
    """The TargetArn of a DeadLetterConfig (None: none, or "" to remove it); an ARN that is
    no SQS queue or SNS topic is refused, as Lambda refuses it."""
    target = (config or {}).get("TargetArn") or None
    if target is not None and target.split(":")[2:3] not in (["sqs"], ["sns"]):
        raise InvalidParameterValueException(
            f"DeadLetterConfig TargetArn {target} is neither an SQS queue nor an SNS topic"
        )
    return target


@dataclass
class StreamMapping:
    """The parts of an ``AWS::Lambda::EventSourceMapping`` on a stream that shape delivery."""

    batch_size: int = 100
    maximum_retry_attempts: int = -1
    filters: list[dict[str, Any]] = field(default_factory=list)
    bisect: bool = False
    #: ``FunctionResponseTypes: [ReportBatchItemFailures]``: the function may name the
    #: records that failed, and the batch is retried from the first of them.
    report_batch_item_failures: bool = False
    #: Gets a batch that used up its retries (the mapping's on-failure destination).
    on_failure: FailureHandler | None = None
    #: Whether the mapping is enabled now (``UpdateEventSourceMapping`` can change it).
    enabled: Callable[[], bool] = lambda: True


def _job_of(message: str) -> str | None:
    """The job a JSON message is about (its ``job_id``), if it names one: the local order
    of SNS deliveries to a function is kept per job (a job's status pushes stay in order)."""
    if not message.startswith("{"):
        return None
    try:
        job_id = json.loads(message).get("job_id")
    except ValueError:
        return None
    return job_id if isinstance(job_id, str) else None


def _iso(moment: datetime.datetime | float | None = None) -> str:
    if moment is None:
        moment = datetime.datetime.now(datetime.UTC)
    elif isinstance(moment, int | float):
        moment = datetime.datetime.fromtimestamp(moment, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class EventSources:
    """Installs the patches for one running deployment; ``uninstall`` restores moto."""

    def __init__(self, bridge: LambdaBridge, time_scale: Callable[[], float] = lambda: 1.0) -> None:
        self.bridge = bridge
        self.time_scale = time_scale
        self._pollers: list[QueuePoller] = []
        self.stream_mappings: dict[tuple[str, str], StreamMapping] = {}
        self._streams_paused = False
        self._originals: list[tuple[Any, str, Any]] = []
        self._originals_by_name: dict[str, Any] = {}

    # ------------------------------------------------------------------ patching
    def _patch(self, owner: Any, name: str, replacement: Callable[..., Any]) -> None:
        self._originals.append((owner, name, owner.__dict__[name]))
        self._originals_by_name[name] = owner.__dict__[name]
        setattr(owner, name, replacement)

    def install(self) -> None:
        sources = self
        original_publish = sns_models.Subscription.publish
        original_send_to_targets = events_models.Rule.send_to_targets
        original_terminated = sfn_execution.BaseExecutionWorkerCommunication.terminated
        original_start = sfn_execution.Execution.start
        original_function_init = lambda_models.LambdaFunction.__init__
        original_get_configuration = lambda_models.LambdaFunction.get_configuration
        original_update_configuration = lambda_models.LambdaFunction.update_configuration

        def invoke(function: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
            return sources._invoke(function, body, request_headers, response_headers)

        def publish(subscription: Any, message: str, message_id: str, *args: Any, **kw: Any):
            if subscription.protocol != "lambda":
                return original_publish(subscription, message, message_id, *args, **kw)
            return sources._publish_to_lambda(subscription, message, message_id, *args, **kw)

        def send_dynamodb_items(backend: Any, function_arn: str, items: list, source: str):
            return sources._send_stream_records(backend, function_arn, items, source)

        def send_kinesis_message(backend: Any, function_name: str, kinesis_stream: str, **kw: Any):
            return sources._send_kinesis_record(backend, function_name, kinesis_stream, **kw)

        def send_to_targets(rule: Any, event: dict, transform_input: bool = True) -> None:
            sources._send_to_targets(rule, event, transform_input, original_send_to_targets)

        def start(execution: Any) -> None:
            original_start(execution)
            sources._execution_status_changed(execution, "RUNNING")

        def terminated(communication: Any) -> None:
            original_terminated(communication)
            execution = communication.execution
            status = execution.exec_status
            sources._execution_status_changed(execution, getattr(status, "value", str(status)))

        def function_init(function: Any, account_id: str, spec: dict, *args: Any, **kw: Any):
            setattr(function, _DEAD_LETTER, _dead_letter_target(spec.get("DeadLetterConfig")))
            original_function_init(function, account_id, spec, *args, **kw)

        def get_configuration(function: Any, *args: Any, **kw: Any) -> dict[str, Any]:
            configuration = original_get_configuration(function, *args, **kw)
            target = function.__dict__.get(_DEAD_LETTER)
            if target is not None:
                configuration["DeadLetterConfig"] = {"TargetArn": target}
            return configuration

        def update_configuration(function: Any, updates: dict[str, Any]) -> dict[str, Any]:
            return sources._update_configuration(function, updates, original_update_configuration)

        def invoke_for_s3(
            account_id: str, event_body: Any, function_arn: str, region_name: str
        ) -> None:
            # S3 invokes a notification's function asynchronously, as an event.
            sources.bridge.invoke_async(function_arn, event_body, source="s3")

        self._patch(lambda_models.LambdaFunction, "invoke", invoke)
        self._patch(lambda_models.LambdaFunction, "__init__", function_init)
        self._patch(lambda_models.LambdaFunction, "get_configuration", get_configuration)
        self._patch(lambda_models.LambdaFunction, "update_configuration", update_configuration)
        self._patch(s3_notifications, "_invoke_awslambda", invoke_for_s3)
        self._patch(sns_models.Subscription, "publish", publish)
        self._patch(lambda_models.LambdaBackend, "send_dynamodb_items", send_dynamodb_items)
        self._patch(lambda_models.LambdaBackend, "send_kinesis_message", send_kinesis_message)
        self._patch(events_models.Rule, "send_to_targets", send_to_targets)
        self._patch(sfn_execution.Execution, "start", start)
        self._patch(sfn_execution.BaseExecutionWorkerCommunication, "terminated", terminated)

    def add_queue_mapping(self, mapping: QueueMapping) -> None:
        """Poll a queue for a function (Lambda's SQS poller) instead of moto's delivery."""
        from moto.awslambda.models import lambda_backends
        from moto.sqs.models import sqs_backends

        parts = mapping.queue_arn.split(":")
        queue = sqs_backends[parts[4]][parts[3]].get_queue(parts[5])
        # moto keys a queue's mappings by function: its synchronous delivery stops here.
        queue.lambda_event_source_mappings.pop(mapping.function_arn, None)
        backend = lambda_backends[parts[4]][parts[3]]

        def enabled() -> bool:
            return bool(backend.get_event_source_mapping(mapping.uuid).enabled)

        poller = QueuePoller(mapping, self.bridge, enabled, self.time_scale)
        self._pollers.append(poller)
        poller.start()

    def add_pipe(self, pipe: PipeSpec, running: bool) -> None:
        """Run an EventBridge pipe whose source is an SQS queue."""

        def deliver(arn: str, payload: Any) -> bool:
            return self.deliver(arn, payload, source=f"pipe {pipe.name}")

        def start(arn: str, payload: Any, sync: bool) -> Any:
            from moto.stepfunctions.responses import get_backend

            parts = arn.split(":")
            backend = get_backend(parts[4], parts[3])
            if sync:
                return backend.start_sync_execution(arn, None, json.dumps(payload))
            return backend.start_execution(arn, str(uuid.uuid4()), json.dumps(payload))

        poller = PipePoller(pipe, self.bridge, deliver, start, lambda: running, self.time_scale)
        self._pollers.append(poller)
        poller.start()

    def stop_pollers(self) -> None:
        while self._pollers:
            self._pollers.pop().stop()

    def uninstall(self) -> None:
        self.stop_pollers()
        while self._originals:
            owner, name, original = self._originals.pop()
            setattr(owner, name, original)

    # ------------------------------------------------------------------ Lambda API
    def _invoke(
        self, function: Any, body: Any, request_headers: Any, response_headers: Any
    ) -> bytes:
        event = json.loads(body) if body else {}
        invocation_type = (request_headers or {}).get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            self.bridge.invoke_async(function.function_arn, event)
            return b""
        try:
            # The request's bytes as sent count (the event re-serialised is never larger).
            check_request_size(len(body.encode() if isinstance(body, str) else body or b""))
            result = self.bridge.invoke(function.function_arn, event)
        except RequestTooLargeError as error:
            refused = JsonRESTError(error.code, str(error))
            refused.code = error.status
            raise refused from None
        except FunctionThrottledError as error:
            throttled = JsonRESTError("TooManyRequestsException", str(error))
            throttled.code = 429  # Lambda's status; callers' Retry sees Lambda.TooManyRequests…
            raise throttled from None
        if result.function_error:
            response_headers["x-amz-function-error"] = result.function_error
        return result.payload

    def _update_configuration(
        self, function: Any, updates: dict[str, Any], original: Callable[..., Any]
    ) -> dict[str, Any]:
        """UpdateFunctionConfiguration: moto's, plus what moto drops (DeadLetterConfig),
        and the changes that reach the running function."""
        changes_dead_letter = "DeadLetterConfig" in updates
        if changes_dead_letter:
            setattr(function, _DEAD_LETTER, _dead_letter_target(updates["DeadLetterConfig"]))
        configuration = original(function, updates)
        try:
            if changes_dead_letter:
                self.bridge.set_dead_letter_target(
                    function.function_arn, function.__dict__.get(_DEAD_LETTER)
                )
            if "Environment" in updates:
                self.bridge.set_environment(function.function_arn, function.environment_vars)
        except UnknownFunctionError:
            pass  # created through the API, not the template: not run locally
        return configuration

    # ------------------------------------------------------------------ SNS
    def _publish_to_lambda(
        self,
        subscription: Any,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        message_structure: str | None = None,
    ) -> None:
        matcher = subscription._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return
        if message_structure == "json":
            message = subscription._parse_message_structure(message, subscription.protocol)
        attributes = {
            name: {"Type": value["Type"], "Value": value["Value"]}
            for name, value in (message_attributes or {}).items()
        }
        record = {
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": subscription.arn,
            "Sns": {
                "Type": "Notification",
                "MessageId": message_id,
                "TopicArn": subscription.topic.arn,
                "Subject": subject,
                "Message": message,
                "Timestamp": _iso(),
                "SignatureVersion": "1",
                "Signature": "LOCAL",
                "SigningCertUrl": "",
                "UnsubscribeUrl": "",
                "MessageAttributes": attributes,
            },
        }
        self.bridge.invoke_async(
            subscription.endpoint,
            {"Records": [record]},
            source="sns",
            ordering_key=group_id or _job_of(message),
        )

    # ------------------------------------------------------------------ DynamoDB streams
    @contextmanager
    def streams_paused(self) -> Iterator[None]:
        """Writes made inside do not reach stream consumers (restoring saved state must not
        replay old changes as new ones)."""
        self._streams_paused = True
        try:
            yield
        finally:
            self._streams_paused = False

    def _send_stream_records(
        self, backend: Any, function_arn: str, items: list[Any], source: str
    ) -> str:
        if self._streams_paused:
            return "dropped"
        mapping = self.stream_mappings.get((function_arn, source), StreamMapping())
        region = backend.region_name
        for item in items:
            record = item.to_json()
            dynamodb = dict(record["dynamodb"])
            created = dynamodb.get("ApproximateCreationDateTime")
            if isinstance(created, datetime.datetime):
                dynamodb["ApproximateCreationDateTime"] = created.timestamp()
            stream_record = {
                "eventID": record["eventID"],
                "eventName": record["eventName"],
                "eventVersion": record["eventVersion"],
                "eventSource": "aws:dynamodb",
                "awsRegion": region,
                "dynamodb": dynamodb,
                "eventSourceARN": source,
            }
            if not matches_filters(mapping.filters, stream_record):
                continue  # Lambda's event filtering: dropped without an invocation
            self._submit_stream_record(function_arn, stream_record, source, mapping)
        # A truthy answer tells moto's shard the records were taken (it clears its buffer).
        return "queued"

    # ------------------------------------------------------------------ Kinesis streams
    def add_kinesis_mapping(self, uuid_: str, stream_arn: str) -> None:
        """Keep every mapping of a stream: moto keys a stream's mappings by the stream's ARN,
        so a second function's mapping replaced the first's."""
        from moto.kinesis.models import kinesis_backends

        parts = stream_arn.split(":")
        stream = kinesis_backends[parts[4]][parts[3]].describe_stream(
            stream_arn=stream_arn, stream_name=None
        )
        mappings = stream.lambda_event_source_mappings
        mapping = mappings.pop(stream_arn, None)
        if mapping is not None:
            # The key only has to name the region (moto reads its fourth field).
            mappings[f"{stream_arn}:{uuid_}"] = mapping

    def _send_kinesis_record(
        self,
        backend: Any,
        function_name: str,
        kinesis_stream: str,
        *,
        kinesis_partition_key: str,
        kinesis_sequence_number: str,
        kinesis_data: str,
        kinesis_shard_id: str,
    ) -> None:
        if self._streams_paused:
            return
        mapping = self.stream_mappings.get((function_name, kinesis_stream), StreamMapping())
        if not mapping.enabled():
            return
        role = backend.get_function(function_name).role
        record = {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": kinesis_partition_key,
                "sequenceNumber": kinesis_sequence_number,
                "data": kinesis_data,  # base64, as the PutRecord request carried it
                "approximateArrivalTimestamp": round(time.time(), 3),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{kinesis_shard_id}:{kinesis_sequence_number}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": role,
            "awsRegion": backend.region_name,
            "eventSourceARN": kinesis_stream,
        }
        # Lambda's event filtering reads a Kinesis record's metadata and its data, decoded
        # (and parsed when it is JSON).
        subject = dict(record["kinesis"])
        with contextlib.suppress(ValueError):
            subject["data"] = base64.b64decode(kinesis_data).decode()
            subject["data"] = json.loads(subject["data"])
        if not matches_filters(mapping.filters, subject):
            return
        self._submit_stream_record(function_name, record, kinesis_stream, mapping)

    def _submit_stream_record(
        self, function: str, record: dict[str, Any], source: str, mapping: StreamMapping
    ) -> None:
        """Queue a DynamoDB or Kinesis record for its mapping's batches, retries, halving
        and partial batch responses."""
        # Lambda retries a failing stream batch until the records expire (-1) or the
        # mapping's MaximumRetryAttempts; locally an unbounded retry would wedge the shard.
        retries = mapping.maximum_retry_attempts
        self.bridge.async_invoker.submit(
            function,
            record,
            source=f"stream {source}",
            batch_size=mapping.batch_size,
            attempts=retries + 1 if retries >= 0 else STREAM_ATTEMPTS_WHEN_UNBOUNDED,
            bisect=mapping.bisect,
            on_failure=mapping.on_failure,
            report_item_failures=mapping.report_batch_item_failures,
        )

    # ------------------------------------------------------------------ EventBridge
    def _send_to_targets(
        self,
        rule: Any,
        event: dict[str, Any],
        transform_input: bool,
        original: Callable[..., None],
        scheduled: bool = False,
    ) -> None:
        # A DISABLED rule matches nothing on AWS; moto still delivers to its targets. A
        # scheduled rule has no pattern, which moto takes as matching every event: it only
        # gets its own scheduled events (fire_schedule).
        if rule.state != "ENABLED" or not rule.event_pattern.matches_event(event):
            return
        if rule.scheduled_expression and not scheduled:
            return
        event = dict(event)
        if isinstance(event.get("time"), int | float):
            event["time"] = _iso(event["time"])[:-5] + "Z"
        # An input transformer may read aws.events.event.ingestion-time; targets never see it.
        ingested = {**event, "ingestion-time": event.pop("ingestion-time", None) or _iso()}
        others = []
        for target in rule.targets:
            payload = _target_input(target, event, ingested) if transform_input else event
            if not self.deliver(target["Arn"], payload, source=f"rule {rule.name}", target=target):
                others.append(target)
        if others:
            rest = copy.copy(rule)
            rest.targets = others
            original(rest, event, transform_input)

    def fire_schedule(self, rule: Any, event: dict[str, Any]) -> None:
        """Deliver a scheduled rule's event to its targets."""
        original = self._originals_by_name["send_to_targets"]
        self._send_to_targets(rule, event, True, original, scheduled=True)

    def deliver(
        self, arn: str, payload: Any, *, source: str, target: dict[str, Any] | None = None
    ) -> bool:
        """Send ``payload`` to an EventBridge (or Scheduler) target the way the service does:
        Lambda asynchronously, a state machine execution, an SQS message, an SNS message or
        an event on another bus. False for a target of another kind."""
        parts = arn.split(":")
        service = parts[2] if len(parts) >= 6 else ""
        account, region = parts[4] if service else "", parts[3] if service else ""
        text = payload if isinstance(payload, str) else json.dumps(payload)
        if service == "lambda":
            self.bridge.invoke_async(arn, payload, source=source)
        elif service == "states":
            _start_execution(arn, payload)
        elif service == "sqs":
            from moto.sqs import sqs_backends

            group = ((target or {}).get("SqsParameters") or {}).get("MessageGroupId")
            sqs_backends[account][region].send_message(
                queue_name=parts[5], message_body=text, group_id=group
            )
        elif service == "sns":
            sns_models.sns_backends[account][region].publish(message=text, arn=arn)
        elif service == "events" and parts[5].startswith("event-bus/"):
            if not isinstance(payload, dict):
                LOG.warning("%s: only an event can go to the bus %s", source, arn)
                return True
            events_models.events_backends[account][region].put_events(
                [
                    {
                        "Source": payload.get("source"),
                        "DetailType": payload.get("detail-type"),
                        "Detail": json.dumps(payload.get("detail", {})),
                        "Resources": payload.get("resources", []),
                        "EventBusName": arn,
                    }
                ]
            )
        else:
            return False
        return True

    # ------------------------------------------------------------------ Step Functions
    def _execution_status_changed(self, execution: Any, status: str) -> None:
        machine = execution.state_machine
        if getattr(machine, "sm_type", "STANDARD") != "STANDARD":
            return
        stop = execution.stop_date
        detail = {
            "executionArn": execution.exec_arn,
            "stateMachineArn": machine.arn,
            "name": execution.name,
            "status": status,
            "startDate": int(execution.start_date.timestamp() * 1000),
            "stopDate": int(stop.timestamp() * 1000) if stop and status != "RUNNING" else None,
            "input": json.dumps(execution.input_data),
            "output": json.dumps(execution.output) if execution.output is not None else None,
            "inputDetails": {"included": True},
            "outputDetails": {"included": True} if execution.output is not None else None,
            "error": execution.error,
            "cause": execution.cause,
        }
        backend = events_models.events_backends[execution.account_id][execution.region_name]
        try:
            backend.put_events(
                [
                    {
                        "Source": "aws.states",
                        "DetailType": "Step Functions Execution Status Change",
                        "Detail": json.dumps(detail),
                        "Resources": [execution.exec_arn],
                    }
                ]
            )
        except Exception:
            # A broken rule target must not break the execution that emitted the event.
            LOG.exception("delivering the status change of %s failed", execution.exec_arn)


def _target_input(
    target: dict[str, Any], event: dict[str, Any], ingested: dict[str, Any] | None = None
) -> Any:
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        from jsonpath_ng.ext import parse

        matches = [match.value for match in parse(target["InputPath"]).find(event)]
        return matches[0] if matches else None
    transformer = target.get("InputTransformer")
    if transformer:
        return transform_input(
            transformer.get("InputTemplate", ""),
            transformer.get("InputPathsMap") or {},
            ingested or event,
        )
    return event


_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


def transform_input(template: str, paths: dict[str, str], event: dict[str, Any]) -> Any:
    """An EventBridge input transformer: each ``<name>`` of ``template`` becomes the value at
    ``paths[name]`` in ``event`` (or a predefined ``aws.events.*`` variable). Inside a JSON
    string (or a template that is not JSON) a value goes in as text; elsewhere as JSON, so a
    string is quoted. A JSON template gives the parsed value, any other its text."""
    from jsonpath_ng.ext import parse

    values: dict[str, Any] = {}
    for name, path in paths.items():
        found = [match.value for match in parse(path).find(event)]
        values[name] = found[0] if found else None
    without_detail = {key: value for key, value in event.items() if key != "detail"}
    values["aws.events.event"] = {k: v for k, v in without_detail.items() if k != "ingestion-time"}
    values["aws.events.event.json"] = {k: v for k, v in event.items() if k != "ingestion-time"}
    values["aws.events.event.ingestion-time"] = event.get("ingestion-time")
    out: list[str] = []
    # Text that is not a JSON template takes every value as text.
    in_string = template.lstrip()[:1] not in ("{", "[")
    escaped = False
    index = 0
    while index < len(template):
        char = template[index]
        placeholder = _PLACEHOLDER.match(template, index) if char == "<" else None
        if placeholder and placeholder.group(1) in values:
            value = values[placeholder.group(1)]
            if in_string:
                out.append(value if isinstance(value, str) else json.dumps(value))
            else:
                out.append(json.dumps(value))
            index = placeholder.end()
            continue
        if char == '"' and not escaped:
            in_string = not in_string
        escaped = char == "\\" and not escaped
        out.append(char)
        index += 1
    text = "".join(out)
    if text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            LOG.warning("input template did not give JSON: %s", text[:200])
    return text


def _start_execution(state_machine_arn: str, payload: Any) -> None:
    from moto.stepfunctions.responses import get_backend

    parts = state_machine_arn.split(":")
    backend = get_backend(parts[4], parts[3])
    backend.start_execution(
        state_machine_arn, name=str(uuid.uuid4()), execution_input=json.dumps(payload)
    )
