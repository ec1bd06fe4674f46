"""Step Functions Local MockConfigFile support for moto's engine.

The format is AWS Step Functions Local's::

    {
      "StateMachines": {"<StateMachineName>": {"TestCases": {"<TestCase>": {"<State>": "<Mock>"}}}},
      "MockedResponses": {
        "<Mock>": {"0": {"Throw": {"Error": "...", "Cause": "..."}}, "1-2": {"Return": {...}}}
      }
    }

After `use_mock_config(config)`, StartExecution with
`stateMachineArn="arn:...:stateMachine:<StateMachineName>#<TestCase>"` runs that test case:
each listed Task state answers with its mocked response for the current attempt ("0" is
the first try, "1-2" the first two retries) instead of calling the service.

moto's engine already evaluates mocked responses and parses the file's structure
(`moto.stepfunctions.parser.mocking.mock_config`), but its loader is a stub and its
backend never reads the `#TestCase` suffix; this module supplies both (for StartExecution;
StartSyncExecution does not take test cases).
"""

from __future__ import annotations

import contextvars
import json
import os
import threading
from collections.abc import Mapping
from typing import Any, Final

from moto.core.responses import ActionResult
from moto.stepfunctions.exceptions import InvalidName
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.mocking.mock_config import MockTestCase, _mock_test_case_from_raw
from moto.stepfunctions.responses import StepFunctionResponse
from pydantic import BaseModel, ConfigDict, RootModel, ValidationError, model_validator


class MockConfigError(ValueError):
    """The mock configuration is not a valid Step Functions Local MockConfigFile."""


# -- The file's shape (the attribute names are the ones moto's parser reads) -----------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Throw(_Strict):
    Error: str
    Cause: str


class _Return(RootModel[Any]):
    model_config = ConfigDict(frozen=True)


class _MockedResponse(_Strict):
    Return: _Return | None = None
    Throw: _Throw | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> _MockedResponse:
        if (self.Return is None) == (self.Throw is None):
            raise ValueError("a mocked response needs exactly one of 'Return' or 'Throw'")
        return self


class _TestCase(RootModel[dict[str, str]]):
    model_config = ConfigDict(frozen=True)


class _StateMachine(_Strict):
    TestCases: dict[str, _TestCase]


class _MockConfigFile(_Strict):
    StateMachines: dict[str, _StateMachine]
    MockedResponses: dict[str, dict[str, _MockedResponse]]


def _load(
    config: Mapping[str, Any] | str | os.PathLike[str],
) -> dict[tuple[str, str], MockTestCase]:
    if isinstance(config, str | os.PathLike):
        with open(config, encoding="utf-8") as file:
            try:
                config = json.load(file)
            except json.JSONDecodeError as error:
                raise MockConfigError(f"mock config {os.fspath(config)!r}: {error}") from None
    try:
        raw = _MockConfigFile.model_validate(config)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, problem['loc'])) or '<root>'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise MockConfigError(f"invalid mock config: {problems}") from None
    # Build every test case now, so that a dangling response name or a gap in the
    # attempt numbers ("0", then "2") is reported here rather than mid-execution.
    test_cases = {}
    for machine_name, machine in raw.StateMachines.items():
        for case_name in machine.TestCases:
            try:
                test_cases[machine_name, case_name] = _mock_test_case_from_raw(
                    state_machine_name=machine_name, test_case_name=case_name, raw_mock_config=raw
                )
            except (RuntimeError, ValueError) as error:
                raise MockConfigError(
                    f"invalid mock config, test case {machine_name}#{case_name}: {error}"
                ) from None
    return test_cases


# -- Wiring it into moto ----------------------------------------------------------------

_test_cases: dict[tuple[str, str], MockTestCase] = {}
# The test case of the StartExecution call in progress, picked up by its execution worker.
_starting_test_case: contextvars.ContextVar[MockTestCase | None] = contextvars.ContextVar(
    "aigw_starting_test_case", default=None
)

_ORIGINAL_START_EXECUTION: Final = StepFunctionResponse.start_execution
_ORIGINAL_START_WORKER: Final = Execution._get_start_execution_worker
_install_lock = threading.Lock()


def _start_execution(self: StepFunctionResponse) -> ActionResult:
    arn, _, case_name = self._get_param("stateMachineArn").partition("#")
    backend = self.stepfunction_backend
    test_case = None
    if case_name:
        machine_name = backend.describe_state_machine(arn).name
        test_case = _test_cases.get((machine_name, case_name))
        if test_case is None:
            raise InvalidName(
                f"Invalid mock test case name '{case_name}' for state machine "
                f"'{machine_name}': it is not in the mock config in use."
            )
    token = _starting_test_case.set(test_case)
    try:
        execution = backend.start_execution(
            arn, self._get_param("name"), self._get_param("input", if_none="{}")
        )
    finally:
        _starting_test_case.reset(token)
    return ActionResult(
        {"executionArn": execution.execution_arn, "startDate": execution.start_date}
    )


def _start_worker(self: Execution) -> ExecutionWorker:
    worker = _ORIGINAL_START_WORKER(self)
    test_case = _starting_test_case.get()
    if test_case is not None:
        worker._mock_test_case = test_case  # read when the worker builds its Environment
    return worker


def use_mock_config(config: Mapping[str, Any] | str | os.PathLike[str] | None) -> None:
    """Use this MockConfigFile (a dict or a JSON file path) for `<arn>#<TestCase>` starts.

    `None` turns mocking off and restores moto's StartExecution.
    """
    global _test_cases
    with _install_lock:
        if config is None:
            _test_cases = {}
            StepFunctionResponse.start_execution = _ORIGINAL_START_EXECUTION
            Execution._get_start_execution_worker = _ORIGINAL_START_WORKER
            return
        _test_cases = _load(config)
        StepFunctionResponse.start_execution = _start_execution
        Execution._get_start_execution_worker = _start_worker
