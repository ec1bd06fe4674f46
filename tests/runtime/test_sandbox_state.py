"""Per-invocation module state in the local runtime: concurrent invocations of functions
that use Powertools Metrics publish their own metrics, as separate Lambda sandboxes do."""

from __future__ import annotations

import json
import threading
from typing import Any

from aws_lambda_powertools import Metrics

from aigw.local.lambdas import sandbox_state


def _invocation(
    metrics: Metrics,
    name: str,
    start: threading.Event,
    done: threading.Event,
    published: dict[str, Any],
) -> None:
    with sandbox_state.invocation_scope():
        metrics.add_metric(name=name, unit="Count", value=1)
        start.set()
        done.wait(5)
        published[name] = metrics.serialize_metric_set()


def test_given_two_concurrent_invocations_when_one_flushes_then_the_other_keeps_its_metric(
    capsys: Any,
) -> None:
    sandbox_state.install()
    metrics = Metrics(namespace="aigw-test", service="sandbox")
    published: dict[str, Any] = {}
    a_added, b_flushed = threading.Event(), threading.Event()

    def b() -> None:
        with sandbox_state.invocation_scope():
            a_added.wait(5)
            metrics.add_metric(name="B", unit="Count", value=2)
            metrics.flush_metrics()  # publishes B and clears this invocation's set
            b_flushed.set()

    threads = [
        threading.Thread(target=_invocation, args=(metrics, "A", a_added, b_flushed, published)),
        threading.Thread(target=b),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Shared sets (moto's one process, Powertools' class attributes) would have lost A to
    # B's flush, and B's published line would have carried A as well.
    assert published["A"]["A"] == [1.0]
    assert "B" not in published["A"]
    flushed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert flushed["B"] == [2.0]
    assert "A" not in flushed


def test_given_state_written_at_import_then_every_invocation_starts_from_it() -> None:
    shared = sandbox_state.InvocationLocalDict({"service": "payments"})

    with sandbox_state.invocation_scope():
        shared["request"] = "r-1"
        inside = dict(shared)
    with sandbox_state.invocation_scope():
        second = dict(shared)

    assert inside == {"service": "payments", "request": "r-1"}
    assert second == {"service": "payments"}
    assert dict(shared) == {"service": "payments"}
