"""A function's own configuration, as the handler and the Lambda API see it, run by the
offline runtime from the template (tests/runtime/function_config_app).

Given a function whose environment holds YAML booleans and a number and whose failed
asynchronous events go to a dead-letter queue, one whose dead-letter topic sits beside an
on-failure destination, and two functions (one in-process, one in a worker process of a
newer Python) whose environment is changed with UpdateFunctionConfiguration.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aigw.local.runtime import LocalRuntime
from aigw.local.testing import runtime_fixture

APP = Path(__file__).parent / "function_config_app"

app = runtime_fixture(APP / "template.yaml", name="app")


def _invoke(runtime: LocalRuntime, function: str, event: Any = None) -> dict[str, Any]:
    answer = runtime.client("lambda").invoke(
        FunctionName=runtime.physical_id(function), Payload=json.dumps(event or {}).encode()
    )
    return {"error": answer.get("FunctionError"), "payload": json.loads(answer["Payload"].read())}


def test_given_yaml_booleans_in_the_environment_then_the_handler_reads_true_and_false(
    app: LocalRuntime,
) -> None:
    answer = _invoke(app, "ConfiguredFunction")
    configuration = app.client("lambda").get_function_configuration(
        FunctionName=app.physical_id("ConfiguredFunction")
    )

    assert answer["payload"] == {"FLAG": "false", "ENABLED": "true", "COUNT": "3"}
    assert configuration["Environment"]["Variables"] == answer["payload"]
