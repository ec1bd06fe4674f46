"""`aigw local` as a user runs it: a subprocess on free ports, talked to over HTTP."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


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


def _listening(url: str) -> bool:
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, int(port))) == 0


def test_given_aigw_local_when_started_then_it_serves_the_api_and_stops_cleanly() -> None:
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
            "aigw_dev_test-key-0123456789",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        banner = _read_banner(process)
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
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    assert not _listening(rest)
    assert not _listening(banner["WebSocket"])
