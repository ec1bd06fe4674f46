"""pytest helpers for testing a SAM app on the offline runtime.

In a ``conftest.py``::

    from aigw.local.testing import runtime_fixture

    app = runtime_fixture("template.yaml", time_scale=0.001)

    def test_pipeline(app):
        result = app.run("PipelineMachine", {"id": "1"})
        assert result["status"] == "SUCCEEDED"

The fixture deploys the template once per module (deploying takes a fraction of a second
but there is no reason to repeat it), yields the :class:`LocalRuntime` (``app.client(...)``
gives boto3 clients), and tears everything down afterwards. ``time_scale`` shrinks Wait
states and Retry back-off so retry paths run in milliseconds; timeouts keep their real length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aigw.local.runtime import LocalRuntime


def runtime_fixture(
    template: str | Path,
    *,
    scope: str = "module",
    time_scale: float = 0.001,
    name: str | None = None,
    **options: Any,
) -> Callable[..., Iterator[LocalRuntime]]:
    """A pytest fixture that yields a started :class:`LocalRuntime` for ``template``."""

    @pytest.fixture(scope=scope, name=name)  # type: ignore[call-overload]
    def _runtime() -> Iterator[LocalRuntime]:
        with LocalRuntime(template, time_scale=time_scale, **options) as runtime:
            yield runtime

    return _runtime
