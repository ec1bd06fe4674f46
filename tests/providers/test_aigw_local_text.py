"""`aigw local` with its default providers: a text job answered by the real offline models."""

from __future__ import annotations

from pathlib import Path

import requests

from aigw.local_gateway.testing import aigw_local

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "aigw_dev_text-key-0123456789"


def test_given_aigw_local_when_a_negative_review_is_run_then_real_models_answer() -> None:
    text = "The hotel was dirty and the staff were rude. Email me at jane@example.com."
    template = str(ROOT / "template.yaml")
    with aigw_local("--template", template, "--api-key", API_KEY) as banner:
        rest = banner["REST API"]

        answer = requests.post(
            f"{rest}/run/text-insights",
            json={"input": {"text": text}},
            headers={"x-api-key": API_KEY},
            timeout=60,
        )

        assert answer.status_code == 200, answer.text
        result = answer.json()["result"]
        assert result["language"]["code"] == "en"
        assert result["sentiment"]["label"] == "NEGATIVE"
        assert [(p["type"], p["text"]) for p in result["pii"]] == [("EMAIL", "jane@example.com")]
        assert [text[p["begin"] : p["end"]] for p in result["pii"]] == ["jane@example.com"]
