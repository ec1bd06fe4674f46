"""`aigw local` with its default providers: a text job answered by the real offline models."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "aigw_dev_text-key-0123456789"


def _read_banner(process: subprocess.Popen[str], timeout: float = 60.0) -> dict[str, str]:
    banner: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        name, _, value = line.strip().partition(": ")
        banner[name] = value
        if line.startswith("Ctrl-C"):
            return banner
    raise AssertionError(f"aigw local did not start: {banner}")


def test_given_aigw_local_when_a_negative_review_is_run_then_real_models_answer() -> None:
    text = "The hotel was dirty and the staff were rude. Email me at jane@example.com."
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aigw",
            "local",
            "--template",
            str(ROOT / "template.yaml"),
            "--port",
            "0",
            "--ws-port",
            "0",
            "--api-key",
            API_KEY,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        rest = _read_banner(process)["REST API"]

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
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
