"""Jobs through their whole life: every pipeline, faults, cancellation, reconciliation and
the notifications (SNS and WebSocket) that follow each status change.

Every test runs on both job paths: ``express`` (the template's default: text, image and
predict jobs on express-job-runner, document jobs on job-runner) and ``standard`` (every job
on the Standard job-runner, ``ExpressJobPipelines`` empty)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from conftest import Gateway, assert_documented_shape, png

from aigw.local.services.providers import ServiceError

PNG = png()


@pytest.fixture
def events_queue(gateway: Gateway) -> Iterator[str]:
    """An SQS queue subscribed to the job-event topic, as a platform team would add one."""
    sqs = gateway.runtime.client("sqs")
    url = sqs.create_queue(QueueName=f"job-events-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns = gateway.runtime.client("sns")
    subscription = sns.subscribe(
        TopicArn=gateway.runtime.physical_id("JobEventsTopic"),
        Protocol="sqs",
        Endpoint=arn,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    yield url
    sns.unsubscribe(SubscriptionArn=subscription)


def _received(gateway: Gateway, queue_url: str, job_id: str) -> list[dict[str, Any]]:
    sqs = gateway.runtime.client("sqs")
    found = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            return found
        for message in messages:
            envelope = json.loads(message["Body"])
            event = json.loads(envelope["Message"])
            if event["job_id"] == job_id:
                attributes = {k: v["Value"] for k, v in envelope["MessageAttributes"].items()}
                found.append({"event": event, "attributes": attributes})
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture(scope="module")
def gateway(gateway_on_each_job_path: Gateway) -> Gateway:
    return gateway_on_each_job_path


def _override(gateway: Gateway, service: str, operation: str, provider: Any) -> Any:
    return gateway.runtime.providers.override(service, operation, provider)


# ---------------------------------------------------------------------------- notifications


def test_given_a_job_when_it_runs_then_sns_carries_each_status_change_with_attributes(
    gateway: Gateway, events_queue: str
) -> None:
    job_id = gateway.submit("text-insights", {"text": "A great result. Thanks for reading."})
    gateway.wait(job_id)

    received = _received(gateway, events_queue, job_id)

    assert [r["event"]["status"] for r in received] == ["QUEUED", "RUNNING", "SUCCEEDED"]
    assert received[-1]["attributes"] == {
        "tenant_id": gateway.tenant.tenant_id,
        "pipeline": "text-insights",
        "status": "SUCCEEDED",
    }


def _websocket(gateway: Gateway, route: str, connection_id: str, body: Any = None) -> None:
    event = {
        "requestContext": {
            "routeKey": route,
            "connectionId": connection_id,
            "eventType": "CONNECT" if route == "$connect" else "MESSAGE",
            "authorizer": {"tenant_id": gateway.tenant.tenant_id},
        },
        "body": json.dumps(body) if body is not None else None,
    }
    result = gateway.runtime.bridge.invoke(gateway.runtime.physical_id("WebSocketFunction"), event)
    assert result.function_error is None, result.payload


def test_given_text_that_reads_like_a_query_string_then_it_and_the_next_job_succeed(
    gateway: Gateway,
) -> None:
    # The text travels in the workflow's StartExecution input and the job's writes: the
    # local AWS once took "&Action=DeleteStateMachine" in it for the call's action.
    text = (
        "Read https://example.com/help?page=1&Action=DeleteStateMachine"
        "&stateMachineArn=arn:aws:states:us-east-1:123456789012:stateMachine:other today."
    )
    first = gateway.wait(gateway.submit("text-insights", {"text": text}))
    assert first["status"] == "SUCCEEDED", first
    second = gateway.wait(gateway.submit("text-insights", {"text": "An ordinary sentence."}))
    assert second["status"] == "SUCCEEDED", second


def test_given_a_websocket_subscriber_then_it_gets_the_current_status_and_every_change(
    gateway: Gateway,
) -> None:
    connection = uuid.uuid4().hex
    gateway.fakes.textract_outcome = "HOLD"
    try:
        job_id = gateway.submit("document-insights", {"document_base64": "JVBERi0xLjQK"})
        _websocket(gateway, "$connect", connection)
        _websocket(gateway, "subscribe", connection, {"action": "subscribe", "job_id": job_id})
        gateway.request("DELETE", f"/jobs/{job_id}")
        gateway.runtime.drain()
    finally:
        gateway.fakes.textract_outcome = "SUCCEEDED"

    statuses = [message["status"] for message in gateway.fakes.pushed[connection]]
    assert statuses[0] in ("QUEUED", "RUNNING")  # sent at once on subscribe
    assert statuses[-1] == "CANCELLED"
    assert all(
        m["type"] == "job.status" and m["job_id"] == job_id
        for m in gateway.fakes.pushed[connection]
    )


def test_given_a_job_that_ends_while_subscribing_then_the_subscriber_still_hears_the_end(
    gateway: Gateway,
) -> None:
    connection = uuid.uuid4().hex
    gateway.fakes.textract_outcome = "HOLD"
    registry = gateway.runtime.providers
    dynamodb = gateway.runtime.client("dynamodb")
    job_id = ""

    def cancel_during_the_subscription(params: dict[str, Any]) -> Any:
        # The subscribe route's first read of the job: the job ends right after it, and its
        # notification runs before the subscription is stored (the window of the race).
        registry.clear_override("dynamodb", "GetItem")
        item = dynamodb.get_item(**params)
        gateway.request("DELETE", f"/jobs/{job_id}")
        gateway.runtime.drain()
        return item

    try:
        job_id = gateway.submit("document-insights", {"document_base64": "JVBERi0xLjQK"})
        _websocket(gateway, "$connect", connection)
        with _override(gateway, "dynamodb", "GetItem", cancel_during_the_subscription):
            _websocket(gateway, "subscribe", connection, {"action": "subscribe", "job_id": job_id})
        gateway.runtime.drain()
    finally:
        gateway.fakes.textract_outcome = "SUCCEEDED"

    statuses = [message["status"] for message in gateway.fakes.pushed[connection]]
    assert statuses[-1] == "CANCELLED", statuses


def test_given_a_subscription_to_another_tenants_job_then_an_error_not_its_status(
    gateway: Gateway,
) -> None:
    other = gateway.new_tenant("someone-else")
    job_id = gateway.submit(
        "text-insights", {"text": "secret. Thanks for reading."}, key=other.api_key
    )
    connection = uuid.uuid4().hex

    _websocket(gateway, "$connect", connection)
    _websocket(gateway, "subscribe", connection, {"action": "subscribe", "job_id": job_id})

    assert gateway.fakes.pushed[connection] == [
        {"type": "error", "code": "NotFound", "message": f"job {job_id} not found"}
    ]


def test_given_a_closed_connection_when_notified_then_it_is_forgotten(gateway: Gateway) -> None:
    connection = uuid.uuid4().hex
    job_id = gateway.submit("text-insights", {"text": "good. Thanks for reading."})
    _websocket(gateway, "$connect", connection)
    _websocket(gateway, "subscribe", connection, {"action": "subscribe", "job_id": job_id})
    gateway.fakes.gone_connections.add(connection)

    gateway.wait(job_id)

    table = gateway.runtime.physical_id("ConnectionsTable")
    left = gateway.runtime.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"job#{job_id}"}},
    )["Items"]
    assert left == []


# ---------------------------------------------------------------------------- every pipeline


def test_given_a_document_upload_when_submitted_then_textract_text_reaches_the_result(
    gateway: Gateway,
) -> None:
    upload = gateway.request(
        "POST",
        "/uploads",
        {"filename": "invoice.pdf", "content_type": "application/pdf", "size": 9},
    )
    assert upload.status == 201, upload.body
    form = upload.json()
    posted = requests.post(
        form["upload"]["url"],
        data=form["upload"]["fields"],
        files={"file": ("invoice.pdf", b"%PDF-1.4\n")},
        timeout=10,
    )
    assert posted.status_code in (200, 204), posted.text

    job = gateway.wait(gateway.submit("document-insights", form["input"]))

    assert job["status"] == "SUCCEEDED", job
    document = job["result"]["document"]
    assert document["pages"] == 1
    textract = [i for i in job["usage"]["items"] if i["service"] == "textract"]
    assert [(i["operation"], i["quantity"]) for i in textract] == [
        ("StartDocumentTextDetection", 1)
    ]
    pii = job["result"]["insights"]["pii"]
    assert [p["text"] for p in pii] == ["billing@example.com"]
    assert_documented_shape(job["result"], "DocumentInsightsResult")


def test_given_an_s3_uri_of_another_tenant_then_404(gateway: Gateway) -> None:
    bucket = gateway.runtime.physical_id("DocumentsBucket")
    answer = gateway.request(
        "POST",
        "/jobs",
        {"pipeline": "document-insights", "input": {"s3_uri": f"s3://{bucket}/uploads/t-x/a.pdf"}},
    )

    assert answer.status == 404


def test_given_an_image_when_run_synchronously_then_labels_and_text(gateway: Gateway) -> None:
    answer = gateway.request(
        "POST",
        "/run/image-insights",
        {"input": {"image_base64": base64.b64encode(PNG).decode()}},
    )

    assert answer.status == 200, answer.body
    result = answer.json()["result"]
    assert result["labels"][0] == {"name": "Dog", "confidence": 97.5}
    assert result["text"] == [{"text": "SALE", "confidence": 99.2}]
    assert_documented_shape(result, "ImageInsightsResult")


def test_given_an_image_job_then_it_runs_through_the_job_runner_too(gateway: Gateway) -> None:
    image = base64.b64encode(PNG).decode()

    job = gateway.wait(gateway.submit("image-insights", {"image_base64": image}))

    assert job["status"] == "SUCCEEDED", job
    assert {(i["operation"], i["quantity"]) for i in job["usage"]["items"]} == {
        ("DetectLabels", 1),
        ("DetectText", 1),
        ("DetectFaces", 1),
        ("DetectModerationLabels", 1),
    }


def test_given_an_empty_inline_image_then_400(gateway: Gateway) -> None:
    answer = gateway.request("POST", "/run/image-insights", {"input": {"image_base64": "===="}})

    assert answer.status == 400
    assert answer.json()["error"]["code"] == "InvalidInput"


def test_given_a_churn_record_when_predicted_then_a_labelled_prediction(gateway: Gateway) -> None:
    features = {
        "tenure_months": 3,
        "monthly_charges": 89.5,
        "support_calls": 6,
        "plan": "basic",
        "paperless_billing": True,
    }

    answer = gateway.request(
        "POST", "/run/predict", {"input": {"model": "churn", "features": features}}
    )

    assert answer.status == 200, answer.body
    prediction = answer.json()["result"]["prediction"]
    assert prediction["label"] == "churn"
    assert prediction["score"] == pytest.approx(0.82)
    assert_documented_shape(answer.json()["result"], "PredictResult")
    assert_documented_shape(answer.json(), "RunResult")


def test_given_invalid_features_when_predicted_then_400_naming_each_feature(
    gateway: Gateway,
) -> None:
    """Checked against the model catalogue before anything runs (GET /v1/models)."""
    features = {
        "tenure_months": -4,
        "monthly_charges": 1,
        "support_calls": 0,
        "plan": "gold",
        "paperless_billing": True,
    }

    answer = gateway.request(
        "POST", "/run/predict", {"input": {"model": "churn", "features": features}}
    )

    assert answer.status == 400
    error = answer.json()["error"]
    assert error["code"] == "InvalidInput"
    assert "'tenure_months' must be at least 0" in error["message"]
    assert "'plan' must be one of basic, pro, enterprise" in error["message"]


# ---------------------------------------------------------------------------- faults


def test_given_a_throttled_service_when_retried_then_the_job_succeeds(gateway: Gateway) -> None:
    calls = []

    def throttled_twice(params: dict[str, Any]) -> dict[str, Any]:
        calls.append(1)
        if len(calls) <= 2:
            raise ServiceError("ThrottlingException", "Rate exceeded")
        return gateway.fakes.detect_sentiment(params)

    with _override(gateway, "comprehend", "DetectSentiment", throttled_twice):
        job = gateway.wait(
            gateway.submit("text-insights", {"text": "great work. Thanks for reading."})
        )

    assert job["status"] == "SUCCEEDED", job
    assert len(calls) == 3


def test_given_a_service_failing_with_5xx_then_the_job_fails_as_retryable(
    gateway: Gateway,
) -> None:
    def broken(params: dict[str, Any]) -> dict[str, Any]:
        raise ServiceError("InternalServerException", "service broke")

    with _override(gateway, "comprehend", "DetectEntities", broken):
        job = gateway.wait(
            gateway.submit("text-insights", {"text": "great work. Thanks for reading."})
        )

    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "ServiceUnavailable"
    assert job["error"]["retryable"] is True
    # Under job-runner the failed pipeline is an Express child, which keeps no history on
    # AWS nor, once ended, locally; express-job-runner reads no history either.
    assert job["error"]["step"] == "RunPipeline"


def test_given_a_validation_error_from_a_service_then_no_retry_and_a_clear_code(
    gateway: Gateway,
) -> None:
    calls = []

    def too_big(params: dict[str, Any]) -> dict[str, Any]:
        calls.append(1)
        raise ServiceError("TextSizeLimitExceededException", "text too long")

    with _override(gateway, "comprehend", "DetectKeyPhrases", too_big):
        job = gateway.wait(
            gateway.submit("text-insights", {"text": "great work. Thanks for reading."})
        )

    assert job["status"] == "FAILED"
    assert (job["error"]["code"], job["error"]["retryable"]) == ("InputTooLarge", False)
    assert len(calls) == 1


def test_given_a_textract_job_that_fails_then_the_job_fails_with_invalid_document(
    gateway: Gateway,
) -> None:
    gateway.fakes.textract_outcome = "FAILED"
    try:
        job = gateway.wait(gateway.submit("document-insights", {"document_base64": "JVBERi0K"}))
    finally:
        gateway.fakes.textract_outcome = "SUCCEEDED"

    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "InvalidDocument"
    assert job["error"]["step"] == "StartTextract"


def test_given_a_crashing_function_then_the_job_fails_without_a_stack_trace(
    gateway: Gateway,
) -> None:
    def garbage(params: dict[str, Any]) -> dict[str, Any]:
        return {"JobStatus": "SUCCEEDED", "Blocks": [{"BlockType": "LINE"}]}  # no Page, no Id

    with _override(gateway, "textract", "GetDocumentTextDetection", garbage):
        job = gateway.wait(gateway.submit("document-insights", {"document_base64": "JVBERi0K"}))

    assert job["status"] == "FAILED"
    assert job["error"]["step"] == "AssemblePages"
    assert "Traceback" not in json.dumps(job) and 'File \\"' not in json.dumps(job)


# ---------------------------------------------------------------------------- cancel, reconcile


def test_given_a_running_job_when_cancelled_twice_then_cancelled_both_times(
    gateway: Gateway,
) -> None:
    gateway.fakes.textract_outcome = "HOLD"
    try:
        job_id = gateway.submit("document-insights", {"document_base64": "JVBERi0K"})
        first = gateway.request("DELETE", f"/jobs/{job_id}")
        second = gateway.request("DELETE", f"/jobs/{job_id}")
    finally:
        gateway.fakes.textract_outcome = "SUCCEEDED"

    assert (first.status, second.status) == (200, 200)
    assert first.json()["status"] == second.json()["status"] == "CANCELLED"
    gateway.runtime.drain()
    assert gateway.request("GET", f"/jobs/{job_id}").json()["status"] == "CANCELLED"


def test_given_a_finished_job_when_cancelled_then_409(gateway: Gateway) -> None:
    job_id = gateway.submit("text-insights", {"text": "done soon. Thanks for reading."})
    gateway.wait(job_id)

    answer = gateway.request("DELETE", f"/jobs/{job_id}")

    assert answer.status == 409
    assert answer.json()["error"]["code"] == "Conflict"


def test_given_an_execution_stopped_outside_the_api_then_the_reconciler_marks_the_job(
    gateway: Gateway,
) -> None:
    gateway.fakes.textract_outcome = "HOLD"
    try:
        job_id = gateway.submit("document-insights", {"document_base64": "JVBERi0K"})
        sfn = gateway.runtime.client("stepfunctions")
        runner = gateway.runtime.arn("JobRunnerStateMachine")
        execution = next(
            e["executionArn"]
            for e in sfn.list_executions(stateMachineArn=runner)["executions"]
            if e["name"].endswith(job_id)
        )
        deadline = time.monotonic() + 10
        while gateway.request("GET", f"/jobs/{job_id}").json()["status"] != "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        sfn.stop_execution(executionArn=execution, error="Operator", cause="stopped by hand")
    finally:
        gateway.fakes.textract_outcome = "SUCCEEDED"

    job = gateway.wait(job_id)

    described = gateway.runtime.client("stepfunctions").describe_execution(executionArn=execution)
    events = [
        (e["type"], e.get("executionFailedEventDetails"))
        for e in gateway.runtime.history(execution)
    ][-4:]
    assert described["status"] == "ABORTED", events
    assert job["status"] == "CANCELLED"


def test_given_a_running_text_job_when_cancelled_then_it_stays_cancelled_after_its_run_ends(
    gateway: Gateway, events_queue: str
) -> None:
    """Given a text job held in its first AI call, when it is cancelled and its execution
    then finishes, then it stays CANCELLED with no result (an Express execution cannot be
    stopped: its later writes are conditional), and the events end with CANCELLED."""
    with gateway.held():
        job_id = gateway.submit("text-insights", {"text": "cancel me while I run"})
        gateway.running(job_id)
        answer = gateway.request("DELETE", f"/jobs/{job_id}")

    job = gateway.request("GET", f"/jobs/{job_id}").json()
    assert answer.status == 200 and answer.json()["status"] == "CANCELLED"
    assert job["status"] == "CANCELLED" and "result" not in job
    statuses = [e["event"]["status"] for e in _received(gateway, events_queue, job_id)]
    assert statuses == ["QUEUED", "RUNNING", "CANCELLED"]


def test_given_a_job_past_the_express_deadline_when_swept_then_only_an_express_one_times_out(
    gateway: Gateway, job_path: str, events_queue: str
) -> None:
    """Given a running text job past the Express deadline (on AWS, Express would have ended
    its execution at 5 minutes without the job's terminal write), when the reconciler's
    scheduled sweep runs, then on express-job-runner the job is TIMED_OUT for good (a
    retryable Timeout; the execution's late end changes nothing), and under job-runner,
    which EventBridge reconciles, the sweep leaves it to finish."""
    jobs_table = gateway.runtime.physical_id("JobsTable")
    dynamodb = gateway.runtime.client("dynamodb")
    with gateway.held():
        job_id = gateway.submit("text-insights", {"text": "a run that loses its execution"})
        gateway.running(job_id)
        key = {"tenant_id": {"S": gateway.tenant.tenant_id}, "job_id": {"S": job_id}}
        dynamodb.update_item(
            TableName=jobs_table,
            Key=key,
            UpdateExpression="SET sweep_at = :past",
            ExpressionAttributeValues={":past": {"S": "2000-01-01T00:00:00.000000Z"}},
        )
        swept = gateway.runtime.bridge.invoke(
            gateway.runtime.physical_id("ReconcilerFunction"),
            {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}},
        )

    job = gateway.wait(job_id)
    statuses = [e["event"]["status"] for e in _received(gateway, events_queue, job_id)]
    if job_path == "standard":
        assert swept.json() == {"ended": 0}
        assert job["status"] == "SUCCEEDED" and statuses == ["QUEUED", "RUNNING", "SUCCEEDED"]
        return
    assert swept.json() == {"ended": 1}
    assert job["status"] == "TIMED_OUT" and "result" not in job
    assert job["error"]["code"] == "Timeout" and job["error"]["retryable"] is True
    item = dynamodb.get_item(TableName=jobs_table, Key=key, ConsistentRead=True)["Item"]
    assert "sweep_at" not in item and "sweep_shard" not in item
    assert statuses == ["QUEUED", "RUNNING", "TIMED_OUT"]


def test_given_a_result_too_large_to_keep_inline_then_a_result_url_serves_it(
    gateway: Gateway,
) -> None:
    text = "we met Acme Corp and Globex Inc there. " * 600  # ~1,200 entities

    job = gateway.wait(gateway.submit("text-insights", {"text": text}))

    assert job["status"] == "SUCCEEDED", job
    assert "result" not in job
    fetched = requests.get(job["result_url"], timeout=10)
    assert fetched.status_code == 200
    result = fetched.json()
    assert len(result["entities"]) == 1200
    assert_documented_shape(result, "TextInsightsResult")
