from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from aigw.local.engine import apply_engine_fixes
from aigw.local.testing import runtime_fixture

APP_TEMPLATE = Path(__file__).parent / "app" / "template.yaml"

app = runtime_fixture(APP_TEMPLATE, time_scale=0.001)


@pytest.fixture
def in_moto() -> Iterator[None]:
    """moto's in-process AWS, with the engine fixes installed."""
    apply_engine_fixes()
    with mock_aws():
        yield
