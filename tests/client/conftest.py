"""Fixtures of the SDK and CLI tests (most are defined in client_helpers)."""

from __future__ import annotations

import os

import pytest
from client_helpers import ROOT, gateway, invoice, long_document

__all__ = ["gateway", "invoice", "long_document"]


@pytest.fixture(autouse=True)
def _no_user_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own AIGW_* variables and profiles stay out of the tests."""
    for name in [name for name in os.environ if name.startswith("AIGW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AIGW_CONFIG_FILE", str(ROOT / "tests" / "client" / "no-such-config.toml"))
