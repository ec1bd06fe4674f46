"""EventBridge Pipes from an SQS queue, run by the runtime (``AWS::Pipes::Pipe``).

A pipe polls its source like an event source mapping (batches of ``BatchSize`` SQS
records), drops records its ``FilterCriteria`` do not match, passes the batch (a JSON
array) to its enrichment function, whose answer becomes the batch, applies the target's
``InputTemplate`` to each event (``<$.json.path>`` placeholders, quoted where they stand
for a JSON value, and ``<aws.pipes.event.json>``), and delivers the batch to its target:
a state machine (``FIRE_AND_FORGET``: StartExecution; ``REQUEST_RESPONSE``:
StartSyncExecution), a Lambda function, an SQS queue, an SNS topic or an event bus. A
failed delivery leaves the batch to return after the queue's visibility timeout.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aigw.local.events.queues import QueueMapping, QueuePoller
from aigw.local.lambdas.bridge import FunctionThrottledError, LambdaBridge

LOG = logging.getLogger("aigw.local.events")

_PLACEHOLDER = re.compile(r"<(\$[^<>]*|aws\.pipes\.event\.json)>")


@dataclass
class PipeSpec:
    name: str
    source: str
    target: str
    batch_size: int = 1
    filters: list[dict[str, Any]] | None = None
    enrichment: str | None = None
    input_template: str | None = None
    invocation_type: str = "FIRE_AND_FORGET"


def render_input(template: str, event: Any) -> Any:
    """A Pipes InputTemplate applied to one event."""
    from jsonpath_ng.ext import parse

    is_json = template.lstrip()[:1] in ("{", "[")
    out: list[str] = []
    in_string, escaped, index = not is_json, False, 0
    while index < len(template):
        char = template[index]
        match = _PLACEHOLDER.match(template, index) if char == "<" else None
        if match:
            name = match.group(1)
            if name == "aws.pipes.event.json":
                value: Any = event
            else:
                found = [m.value for m in parse(name).find(event)]
                value = found[0] if found else None
            text = value if isinstance(value, str) and in_string else json.dumps(value)
            out.append(text)
            index = match.end()
            continue
        if char == '"' and not escaped:
            in_string = not in_string
        escaped = char == "\\\\" and not escaped
        out.append(char)
        index += 1
    text = "".join(out)
    return json.loads(text) if is_json else text


class PipePoller(QueuePoller):
    """One pipe with an SQS source, until :meth:`stop`."""

    def __init__(
        self,
        pipe: PipeSpec,
        bridge: LambdaBridge,
        deliver: Callable[[str, Any], bool],
        start_execution: Callable[[str, Any, bool], Any],
        enabled: Callable[[], bool],
        time_scale: Callable[[], float],
    ) -> None:
        mapping = QueueMapping(
            uuid=pipe.name,
            function_arn="",
            queue_arn=pipe.source,
            batch_size=pipe.batch_size,
            filters=pipe.filters or [],
        )
        super().__init__(mapping, bridge, enabled, time_scale)
        self.pipe = pipe
        self._deliver_to = deliver
        self._start_execution = start_execution

    def _handle(self, records: list[dict[str, Any]]) -> set[str] | None:
        batch: Any = records
        try:
            if self.pipe.enrichment:
                result = self.bridge.invoke(self.pipe.enrichment, batch)
                if result.function_error is not None:
                    LOG.warning("pipe %s: enrichment failed: %s", self.pipe.name, result.payload)
                    return None
                batch = result.json()
            if self.pipe.input_template is not None:
                events = batch if isinstance(batch, list) else [batch]
                batch = [render_input(self.pipe.input_template, event) for event in events]
            if ":states:" in self.pipe.target:
                sync = self.pipe.invocation_type == "REQUEST_RESPONSE"
                self._start_execution(self.pipe.target, batch, sync)
            elif not self._deliver_to(self.pipe.target, batch):
                LOG.error("pipe %s: target %s is not run locally", self.pipe.name, self.pipe.target)
                return None
        except FunctionThrottledError:
            return None
        except Exception:
            LOG.exception("pipe %s: delivery to %s failed", self.pipe.name, self.pipe.target)
            return None
        return set()
