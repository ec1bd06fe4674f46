"""What the SDK and CLI tests share: `aigw local` run as a subprocess on free ports, as a
user runs it (one gateway per test module), documents, and running the CLI."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aigw.local_gateway.testing import aigw_local

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "aigw_dev_client-tests-0123456789"

_spec = importlib.util.spec_from_file_location("pdfs", ROOT / "tests" / "providers" / "pdfs.py")
assert _spec is not None and _spec.loader is not None
pdfs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pdfs)


@dataclass(frozen=True)
class Gateway:
    url: str
    ws_url: str
    api_key: str
    aws_endpoint: str | None

    def env(self, **changes: str) -> dict[str, str]:
        """The environment of a CLI run against this gateway (no user profile leaks in)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIGW_")}
        env.update(
            AIGW_URL=self.url,
            AIGW_WS_URL=self.ws_url,
            AIGW_API_KEY=self.api_key,
            AIGW_CONFIG_FILE=str(ROOT / "tests" / "client" / "no-such-config.toml"),
        )
        env.update(changes)
        return env

    def cli(self, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "aigw", *args],
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def gateway(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    """`aigw local` for the module (its ``GATEWAY_OPTIONS`` added), stopped with Ctrl-C."""
    options = getattr(request.module, "GATEWAY_OPTIONS", ())
    template = str(ROOT / "template.yaml")
    with aigw_local("--template", template, "--api-key", API_KEY, *options) as banner:
        yield Gateway(banner["REST API"], banner["WebSocket"], API_KEY, banner.get("AWS endpoint"))


@pytest.fixture(scope="module")
def invoice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-page PDF with a text layer: done in well under a second."""
    path = tmp_path_factory.mktemp("documents") / "invoice.pdf"
    path.write_bytes(pdfs.make_pdf(pdfs.INVOICE))
    return path


@pytest.fixture(scope="module")
def long_document(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A thousand pages: reading them takes a second or more, time to cancel or watch."""
    path = tmp_path_factory.mktemp("documents") / "long.pdf"
    pages = [[f"Line {line} of page {page}" for line in range(20)] for page in range(1000)]
    path.write_bytes(pdfs.make_pdf(*pages))
    return path


def closed_port_url(scheme: str) -> str:
    """A URL on localhost where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"{scheme}://127.0.0.1:{port}"
