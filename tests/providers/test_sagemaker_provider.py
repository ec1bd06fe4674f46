"""The local SageMaker endpoint: the churn model, its server (the SageMaker container
contract) and InvokeEndpoint as a boto3 caller sees it."""

from __future__ import annotations

import importlib.util
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
import requests
from moto import mock_aws

from aigw.local.engine.service_time import TaskClock, timing
from aigw.local.services.providers import registry
from aigw.providers import churn, install_default_providers, sagemaker
from aigw.providers.model_server import ModelServer

_spec = importlib.util.spec_from_file_location(
    "aws_shapes", Path(__file__).parents[1] / "gateway" / "aws_shapes.py"
)
assert _spec is not None and _spec.loader is not None
aws_shapes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(aws_shapes)

# The encoded vectors the predict pipeline sends (tenure, charges, calls, plan one-hot
# basic/pro/enterprise, paperless), for a customer about to leave and one who stays.
AT_RISK = "2,109.9,7,1,0,0,1"
LOYAL = "64,32.5,0,0,0,1,0"


@pytest.fixture(scope="module", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A model cache of the module's own, so the first start really trains."""
    cache = tmp_path_factory.mktemp("aigw-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIGW_CACHE_DIR", str(cache))
        yield cache


@pytest.fixture(scope="module")
def server(model_cache: Path) -> Iterator[ModelServer]:
    with sagemaker.churn_server() as started:
        assert started.wait_ready(60)
        yield started


@pytest.fixture(scope="module")
def runtime_client(model_cache: Path) -> Iterator[Any]:
    """A boto3 client answered by the provider; the registry is restored after."""
    saved = registry.lookup("sagemaker-runtime", "InvokeEndpoint")
    try:
        with sagemaker.install(registry), mock_aws():
            yield boto3.client("sagemaker-runtime", region_name="us-east-1")
    finally:
        if saved is None:
            registry.unregister("sagemaker-runtime", "InvokeEndpoint")
        else:
            registry.register("sagemaker-runtime", "InvokeEndpoint", saved)


def _invoke(client: Any, body: str, **params: Any) -> dict[str, Any]:
    response = client.invoke_endpoint(
        EndpointName="aigw-churn",
        ContentType=params.pop("ContentType", "text/csv"),
        Body=body,
        **params,
    )
    response.pop("ResponseMetadata")
    aws_shapes.assert_output_shape("sagemaker-runtime", "InvokeEndpoint", response)
    return response


def _alive() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.is_alive()}


# --------------------------------------------------------------------------- the model


def test_given_the_shipped_data_when_trained_then_the_hold_out_scores_are_good(
    model_cache: Path,
) -> None:
    model = churn.load_model()

    assert model.metrics["accuracy"] >= 0.75
    assert model.metrics["roc_auc"] >= 0.8
    assert model.metrics["test_rows"] == 800


def test_given_a_trained_model_when_started_again_then_it_comes_from_the_cache(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = churn.load_model()
    assert list(model_cache.glob("churn-model-*.json"))

    def no_training(*_: Any) -> churn.ChurnModel:
        raise AssertionError("trained again despite the cache")

    monkeypatch.setattr(churn, "train", no_training)  # training again fails the test
    again = churn.load_model()

    assert again == first


def test_given_the_same_data_when_trained_twice_then_the_model_is_identical() -> None:
    first, second = churn.train(), churn.train()

    assert (first.mean, first.scale, first.coef, first.intercept) == (
        second.mean,
        second.scale,
        second.coef,
        second.intercept,
    )
    assert first.metrics["roc_auc"] == second.metrics["roc_auc"]


# --------------------------------------------------------------------------- the container contract


def test_given_a_started_server_when_pinged_then_it_is_ready(server: ModelServer) -> None:
    answer = requests.get(f"{server.url}/ping", timeout=5)

    assert answer.status_code == 200


def test_given_csv_rows_when_invoked_then_each_row_gets_its_label_probabilities(
    server: ModelServer,
) -> None:
    answer = requests.post(
        f"{server.url}/invocations",
        data=f"{AT_RISK}\n{LOYAL}\n",
        headers={"Content-Type": "text/csv", "Accept": "application/json"},
        timeout=5,
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    (at_risk_stay, at_risk_churn), (loyal_stay, loyal_churn) = answer.json()["predictions"]
    assert at_risk_churn > 0.9
    assert loyal_stay > 0.9 > loyal_churn
    assert at_risk_stay + at_risk_churn == pytest.approx(1)


def test_given_json_instances_and_csv_accept_when_invoked_then_the_answer_is_csv(
    server: ModelServer,
) -> None:
    rows = [[float(v) for v in AT_RISK.split(",")], [float(v) for v in LOYAL.split(",")]]

    answer = requests.post(
        f"{server.url}/invocations",
        json={"instances": rows},
        headers={"Accept": "text/csv"},
        timeout=5,
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "text/csv"
    lines = [[float(cell) for cell in line.split(",")] for line in answer.text.splitlines()]
    assert len(lines) == 2
    assert lines[0][1] > 0.9 and lines[1][0] > 0.9


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        ("24,70.5,3,0,1,0", "text/csv", 400, "has 6 values; expected 7"),
        ("24,lots,3,0,1,0,1", "text/csv", 400, "'lots' is not a number"),
        ("24,70.5,3,1,1,0,1", "text/csv", 400, "must be one-hot"),
        ("-1,70.5,3,0,1,0,1", "text/csv", 400, "must not be negative"),
        ("", "text/csv", 400, "no rows"),
        ("{not json", "application/json", 400, "not JSON"),
        ('{"rows": [[1]]}', "application/json", 400, '"instances"'),
        ("24,70.5,3,0,1,0,1", "application/x-protobuf", 415, "not supported"),
    ],
)
def test_given_malformed_input_when_invoked_then_a_4xx_says_what_is_wrong(
    server: ModelServer, body: str, content_type: str, status: int, message: str
) -> None:
    answer = requests.post(
        f"{server.url}/invocations", data=body, headers={"Content-Type": content_type}, timeout=5
    )

    assert answer.status_code == status
    assert message in answer.json()["error"]


def test_given_an_accept_the_model_cannot_answer_when_invoked_then_406(
    server: ModelServer,
) -> None:
    answer = requests.post(
        f"{server.url}/invocations",
        data=AT_RISK,
        headers={"Content-Type": "text/csv", "Accept": "application/x-recordio-protobuf"},
        timeout=5,
    )

    assert answer.status_code == 406


def test_given_a_model_still_loading_when_pinged_then_503_and_invocations_wait_for_it() -> None:
    loaded = threading.Event()

    def slow_loader() -> churn.ChurnModel:
        loaded.wait(10)
        return churn.load_model()

    with ModelServer(slow_loader) as loading:
        assert requests.get(f"{loading.url}/ping", timeout=5).status_code == 503
        pending: dict[str, Any] = {}
        caller = threading.Thread(
            target=lambda: pending.update(
                answer=requests.post(
                    f"{loading.url}/invocations",
                    data=LOYAL,
                    headers={"Content-Type": "text/csv"},
                    timeout=10,
                )
            )
        )
        caller.start()

        loaded.set()
        caller.join(10)

        assert pending["answer"].status_code == 200
        assert requests.get(f"{loading.url}/ping", timeout=5).status_code == 200


def test_given_a_model_still_loading_when_a_task_invokes_it_then_the_load_is_not_its_time() -> None:
    """A task's TimeoutSeconds counts the endpoint's answer, not the model's first load (on
    AWS the endpoint is InService first): a load slower than the task's timeout must not
    time the task out (it did for predict jobs on a busy machine)."""

    def slow_loader() -> churn.ChurnModel:
        threading.Event().wait(1.0)
        return churn.load_model()

    endpoints = sagemaker.LocalEndpoints({"slow": lambda: ModelServer(slow_loader)})
    try:
        with timing(TaskClock()) as clock:
            answer = endpoints.invoke_endpoint(
                {"EndpointName": "slow", "Body": LOYAL, "ContentType": "text/csv"}
            )
        assert answer["ContentType"] == "application/json"
        assert clock.service_seconds() < 0.5
    finally:
        endpoints.close()


def test_given_many_concurrent_invocations_then_each_gets_its_own_answer(
    server: ModelServer,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    bodies = [AT_RISK, LOYAL] * 20

    def call(body: str) -> float:
        answer = requests.post(
            f"{server.url}/invocations", data=body, headers={"Content-Type": "text/csv"}, timeout=10
        )
        return float(answer.json()["predictions"][0][1])

    with ThreadPoolExecutor(max_workers=8) as pool:
        churn_probabilities = list(pool.map(call, bodies))

    assert all(
        (p > 0.9) == (body == AT_RISK) for p, body in zip(churn_probabilities, bodies, strict=True)
    )


def test_given_a_stopped_server_then_its_port_and_threads_are_released(model_cache: Path) -> None:
    before = _alive()
    server = sagemaker.churn_server()
    url = server.start()
    assert server.wait_ready(60)
    requests.post(f"{url}/invocations", data=AT_RISK, headers={"Content-Type": "text/csv"})

    server.stop()

    assert _alive() <= before
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass  # nothing listens there any more


# --------------------------------------------------------------------------- InvokeEndpoint


def test_given_the_pipelines_request_when_invoking_the_endpoint_then_the_answer_has_aws_shape(
    runtime_client: Any,
) -> None:
    response = _invoke(runtime_client, AT_RISK, Accept="application/json")

    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    [[stay, churned]] = json.loads(response["Body"])["predictions"]
    assert churned > 0.9 > stay


def test_given_a_loyal_customer_when_invoking_the_endpoint_then_they_stay(
    runtime_client: Any,
) -> None:
    response = _invoke(runtime_client, LOYAL, Accept="text/csv")

    stay, churned = (float(cell) for cell in response["Body"].decode().split(","))
    assert stay > 0.9 > churned


def test_given_an_unknown_endpoint_when_invoked_then_validation_error_as_aws_words_it(
    runtime_client: Any,
) -> None:
    with pytest.raises(runtime_client.exceptions.ValidationError) as raised:
        runtime_client.invoke_endpoint(EndpointName="aigw-fraud", Body=AT_RISK)

    assert raised.value.response["Error"]["Message"] == (
        "Endpoint aigw-fraud of account 123456789012 not found."
    )


def test_given_rows_the_model_refuses_when_invoked_then_model_error_quotes_the_container(
    runtime_client: Any,
) -> None:
    with pytest.raises(runtime_client.exceptions.ModelError) as raised:
        runtime_client.invoke_endpoint(
            EndpointName="aigw-churn", ContentType="text/csv", Body="24,70.5,3"
        )

    message = raised.value.response["Error"]["Message"]
    assert message.startswith("Received client error (400) from primary with message")
    assert "has 3 values; expected 7" in message
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424


def test_given_the_default_providers_when_closed_then_started_model_servers_stop(
    model_cache: Path,
) -> None:
    saved = {key: registry.lookup(*key) for key in registry.registered()}
    before = _alive()
    try:
        resources = install_default_providers(registry)
        with mock_aws():
            client = boto3.client("sagemaker-runtime", region_name="us-east-1")
            assert _invoke(client, LOYAL)["ContentType"] == "application/json"
        assert _alive() - before, "the endpoint's server did not start"

        resources.close()

        assert _alive() <= before
    finally:
        registry.clear()
        for (service, operation), provider in saved.items():
            if provider is not None:
                registry.register(service, operation, provider)


def test_given_the_served_model_then_it_matches_scikit_learns_own_predictions() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features, labels = churn.read_data()
    x_train, x_test, y_train, _ = train_test_split(
        features, labels, test_size=0.2, random_state=churn.SEED, stratify=labels
    )
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    pipeline.fit(x_train, y_train)

    served = churn.load_model().predict_proba(x_test)

    assert np.allclose(served, pipeline.predict_proba(x_test), atol=1e-6)
