"""`aigw local` as a user runs it: a subprocess on free ports, talked to over HTTP."""

from __future__ import annotations

import socket
from pathlib import Path

import requests

from aigw.local_gateway.testing import aigw_local

ROOT = Path(__file__).resolve().parents[2]


def _listening(url: str) -> bool:
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, int(port))) == 0


def test_given_aigw_local_when_started_then_it_serves_the_api_and_stops_cleanly() -> None:
    template = str(ROOT / "template.yaml")
    with aigw_local("--template", template, "--api-key", "aigw_dev_test-key-0123456789") as banner:
        rest = banner["REST API"]

        listed = requests.get(
            f"{rest}/pipelines", headers={"x-api-key": banner["API key"]}, timeout=10
        )
        refused = requests.get(f"{rest}/pipelines", timeout=10)

        assert listed.status_code == 200
        assert {p["name"] for p in listed.json()["pipelines"]} >= {"text-insights", "predict"}
        assert refused.status_code == 401
        assert banner["API key"] == "aigw_dev_test-key-0123456789"
        assert banner["WebSocket"].startswith("ws://127.0.0.1:")
    # Ctrl-C has stopped it: every port it listened on is released.
    assert not _listening(rest)
    assert not _listening(banner["WebSocket"])
    assert not _listening(banner["AWS endpoint"])
