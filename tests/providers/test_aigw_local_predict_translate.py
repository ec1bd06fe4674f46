"""`aigw local` with its default providers: a churn prediction from the local SageMaker
endpoint (a real model server) and a Spanish review translated by Apertium, then analysed in
English; a language pair without an offline model fails alone, with a clear code."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from aigw.local_gateway.testing import aigw_local, wait_for_job

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "aigw_dev_predict-key-0123456789"
HEADERS = {"x-api-key": API_KEY}
AT_RISK_CUSTOMER = {
    "tenure_months": 2,
    "monthly_charges": 109.9,
    "support_calls": 7,
    "plan": "basic",
    "paperless_billing": True,
}
SPANISH_REVIEW = (
    "El hotel era horrible: la habitación estaba sucia y el personal fue muy maleducado. "
    "Una experiencia terrible."
)


@pytest.fixture(scope="module")
def rest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One gateway for the module, with Apertium in the project's .local (as `make apertium`
    leaves it) and a model cache of its own (so the endpoint trains its model at first use)."""
    installed = subprocess.run(
        [str(ROOT / "scripts" / "install_apertium.sh")], capture_output=True, text=True
    )
    assert installed.returncode == 0, installed.stderr
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIGW_CACHE_DIR", str(tmp_path_factory.mktemp("aigw-cache")))
        patch.delenv("AIGW_APERTIUM_HOME", raising=False)
        with aigw_local("--template", str(ROOT / "template.yaml"), "--api-key", API_KEY) as banner:
            yield banner["REST API"]


def _submit(rest: str, pipeline: str, job_input: dict[str, Any], **options: Any) -> str:
    body: dict[str, Any] = {"pipeline": pipeline, "input": job_input}
    if options:
        body["options"] = options
    submitted = requests.post(f"{rest}/jobs", json=body, headers=HEADERS, timeout=30)
    assert submitted.status_code == 202, submitted.text
    return f"{rest}/jobs/{submitted.json()['job_id']}"


def test_given_jobs_at_once_when_one_asks_for_a_missing_pair_then_only_it_fails(
    rest: str,
) -> None:
    prediction = _submit(rest, "predict", {"model": "churn", "features": AT_RISK_CUSTOMER})
    spanish = _submit(rest, "text-insights", {"text": SPANISH_REVIEW}, target_language="en")
    german = _submit(rest, "text-insights", {"text": SPANISH_REVIEW}, target_language="de")

    predicted, translated, refused = (
        wait_for_job(url, API_KEY) for url in (prediction, spanish, german)
    )

    assert predicted["status"] == "SUCCEEDED", str(predicted)
    churn = predicted["result"]["prediction"]
    assert churn["label"] == "churn"
    assert churn["scores"]["churn"] > 0.9
    assert churn["scores"]["stay"] + churn["scores"]["churn"] == pytest.approx(1, abs=1e-3)

    assert translated["status"] == "SUCCEEDED", str(translated)
    result = translated["result"]
    assert result["language"]["code"] == "es"
    assert result["translation"]["target"] == "en"
    assert "terrible experience" in result["translation"]["text"]
    assert result["sentiment"]["label"] == "NEGATIVE"

    assert refused["status"] == "FAILED"
    assert refused["error"]["code"] == "UnsupportedLanguage"
    assert refused["error"]["retryable"] is False
    assert "no offline model exists for 'es' to 'de'" in refused["error"]["message"]


def test_given_aigw_local_when_a_loyal_customer_is_predicted_synchronously_then_stay(
    rest: str,
) -> None:
    loyal = {
        "tenure_months": 64,
        "monthly_charges": 32.5,
        "support_calls": 0,
        "plan": "enterprise",
        "paperless_billing": False,
    }

    answer = requests.post(
        f"{rest}/run/predict",
        json={"input": {"model": "churn", "features": loyal}},
        headers=HEADERS,
        timeout=30,
    )

    assert answer.status_code == 200, answer.text
    prediction = answer.json()["result"]["prediction"]
    assert prediction["label"] == "stay"
    assert prediction["scores"]["stay"] > 0.9
