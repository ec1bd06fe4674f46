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


def _api_event(path: str, tenant: str) -> dict[str, Any]:
    return {
        "resource": "/jobs/{job_id}",
        "path": path,
        "httpMethod": "GET",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "pathParameters": {"job_id": path.rsplit("/", 1)[-1]},
        "requestContext": {"authorizer": {"tenant_id": tenant}, "requestId": tenant},
        "body": None,
        "isBase64Encoded": False,
    }


def test_given_two_concurrent_api_requests_then_each_handler_sees_its_own_request() -> None:
    """Each request to an API routed by Powertools' event handler reads its own event (its
    authorizer's tenant) and path parameters, as in separate sandboxes. The event handler
    keeps the request on a class attribute and the path parameters in the app's context:
    shared, one tenant's request was served as another's. (Our API's router keeps no such
    state: tests/gateway/test_api_routing.py.)"""
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    sandbox_state.install()
    app = APIGatewayRestResolver()
    both_in = threading.Barrier(2)

    @app.get("/jobs/<job_id>")
    def get_job(job_id: str) -> dict[str, Any]:
        both_in.wait(5)  # the other request has been resolved too
        tenant = app.current_event.request_context.authorizer["tenant_id"]
        return {"tenant": tenant, "job_id": job_id, "args": app.context.get("_route_args")}

    answers: dict[str, Any] = {}

    def request(tenant: str, job_id: str) -> None:
        with sandbox_state.invocation_scope():
            answers[tenant] = json.loads(
                app.resolve(_api_event(f"/jobs/{job_id}", tenant), {})["body"]
            )

    threads = [
        threading.Thread(target=request, args=("tenant-a", "job-a")),
        threading.Thread(target=request, args=("tenant-b", "job-b")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers["tenant-a"] == {
        "tenant": "tenant-a",
        "job_id": "job-a",
        "args": {"job_id": "job-a"},
    }
    assert answers["tenant-b"] == {
        "tenant": "tenant-b",
        "job_id": "job-b",
        "args": {"job_id": "job-b"},
    }


def test_given_two_concurrent_invocations_then_each_logs_its_own_keys(capsys: Any) -> None:
    """The Logger's appended keys (the request id, a tenant) are the invocation's own."""
    from aws_lambda_powertools import Logger

    sandbox_state.install()
    logger = Logger(service="sandbox")
    both_appended = threading.Barrier(2)

    def invocation(tenant: str) -> None:
        with sandbox_state.invocation_scope():
            logger.append_keys(tenant_id=tenant)
            both_appended.wait(5)
            logger.info("served", extra={"who": tenant})

    threads = [threading.Thread(target=invocation, args=(t,)) for t in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert sorted((line["who"], line["tenant_id"]) for line in lines) == [("a", "a"), ("b", "b")]
