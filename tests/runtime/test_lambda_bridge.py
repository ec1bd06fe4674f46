"""The Lambda bridge on its own: handlers from CodeUri, per-function environments, errors."""

from __future__ import annotations

import os
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from aigw.local.lambdas.bridge import (
    ORDERED_SHARDS,
    SYNC_REQUEST_PAYLOAD_BYTES,
    FunctionConflictError,
    FunctionSpec,
    LambdaBridge,
    RequestTooLargeError,
    UnknownFunctionError,
)


def _function(root: Path, name: str, source: str, **spec: object) -> FunctionSpec:
    code_dir = root / name
    code_dir.mkdir(parents=True, exist_ok=True)
    (code_dir / "app.py").write_text(source)
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    return FunctionSpec(name=name, arn=arn, code_dir=code_dir, handler="app.handler", **spec)  # type: ignore[arg-type]


# Both handlers wait at one barrier (shared through builtins, the one namespace two separately
# loaded handler modules have in common) so their invocations are certainly concurrent.
READS_COLOUR = """
import builtins
import os

AT_IMPORT = os.environ["COLOUR"]


def handler(event, context):
    builtins.aigw_test_barrier.wait(timeout=5)
    return {"import": AT_IMPORT, "invoke": os.environ["COLOUR"]}
"""


def test_given_two_functions_with_one_variable_when_run_together_then_each_sees_its_own(
    tmp_path: Path,
) -> None:
    bridge = LambdaBridge()
    bridge.register(_function(tmp_path / "a", "red", READS_COLOUR, environment={"COLOUR": "red"}))
    bridge.register(_function(tmp_path / "b", "blue", READS_COLOUR, environment={"COLOUR": "blue"}))
    import builtins

    builtins.aigw_test_barrier = threading.Barrier(2)  # type: ignore[attr-defined]
    results: dict[str, object] = {}

    def call(name: str) -> None:
        results[name] = bridge.invoke(name, {}).json()

    threads = [threading.Thread(target=call, args=(n,)) for n in ("red", "blue")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    del builtins.aigw_test_barrier  # type: ignore[attr-defined]

    assert results == {
        "red": {"import": "red", "invoke": "red"},
        "blue": {"import": "blue", "invoke": "blue"},
    }
    assert "COLOUR" not in os.environ  # nothing leaks into the process


def test_given_a_handler_when_invoked_then_it_gets_a_lambda_context(tmp_path: Path) -> None:
    source = """
def handler(event, context):
    return {
        "name": context.function_name,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "request_id": context.aws_request_id,
        "remaining": context.get_remaining_time_in_millis(),
    }
"""
    bridge = LambdaBridge()
    bridge.register(_function(tmp_path, "ctx", source, timeout=7, memory_size=512))

    first = bridge.invoke("ctx", {}).json()
    second = bridge.invoke("arn:aws:lambda:us-east-1:123456789012:function:ctx", {}).json()

    assert first["name"] == "ctx"
    assert first["arn"].endswith(":function:ctx")
    assert first["memory"] == 512
    assert 6000 < first["remaining"] <= 7000
    assert first["request_id"] != second["request_id"]


def test_given_a_handler_that_raises_then_the_error_type_is_the_class_name(
    tmp_path: Path,
) -> None:
    source = """
class QuotaExceeded(Exception):
    pass

def handler(event, context):
    raise QuotaExceeded("over the limit")
"""
    bridge = LambdaBridge()
    bridge.register(_function(tmp_path, "raiser", source))

    result = bridge.invoke("raiser", {})

    assert result.function_error == "Unhandled"
    error = result.json()
    assert (error["errorType"], error["errorMessage"]) == ("QuotaExceeded", "over the limit")
    assert any("raise QuotaExceeded" in line for line in error["stackTrace"])


def test_given_a_handler_returning_something_unserialisable_then_a_marshal_error(
    tmp_path: Path,
) -> None:
    bridge = LambdaBridge()
    bridge.register(_function(tmp_path, "sets", "def handler(e, c):\n    return {1, 2}\n"))

    result = bridge.invoke("sets", {})

    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == "Runtime.MarshalError"


def test_given_a_module_that_fails_to_import_then_an_import_error_not_a_crash(
    tmp_path: Path,
) -> None:
    bridge = LambdaBridge()
    bridge.register(_function(tmp_path, "broken", "import no_such_module_anywhere\n"))

    result = bridge.invoke("broken", {})

    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == "Runtime.ImportModuleError"


def test_given_two_functions_with_different_sibling_modules_of_one_name_then_a_conflict(
    tmp_path: Path,
) -> None:
    bridge = LambdaBridge()
    first = _function(tmp_path / "a", "first", "def handler(e, c):\n    return 1\n")
    second = _function(tmp_path / "b", "second", "def handler(e, c):\n    return 2\n")
    (first.code_dir / "helpers.py").write_text("X = 1\n")
    (second.code_dir / "helpers.py").write_text("X = 2\n")
    bridge.register(first)

    with pytest.raises(FunctionConflictError, match="helpers"):
        bridge.register(second)


def test_given_every_function_has_an_app_module_then_each_runs_its_own(tmp_path: Path) -> None:
    bridge = LambdaBridge()
    bridge.register(_function(tmp_path / "a", "one", "def handler(e, c):\n    return 'one'\n"))
    bridge.register(_function(tmp_path / "b", "two", "def handler(e, c):\n    return 'two'\n"))

    assert [bridge.invoke(n, {}).json() for n in ("one", "two")] == ["one", "two"]


def test_given_a_failing_async_invocation_then_it_is_tried_three_times_and_recorded(
    tmp_path: Path,
) -> None:
    source = """
def handler(event, context):
    with open(event["log"], "a") as log:
        log.write("called\\n")
    raise RuntimeError("always")
"""
    log = tmp_path / "calls.log"
    bridge = LambdaBridge()
    bridge.register(_function(tmp_path, "failing", source))

    bridge.invoke_async("failing", {"log": str(log)})
    assert bridge.async_invoker.drain(5)

    (target, event, payload) = bridge.async_invoker.failures[0]
    assert (target, event) == ("failing", {"log": str(log)})
    assert b"RuntimeError" in payload
    assert log.read_text().splitlines() == ["called"] * 3
    bridge.shutdown()


# Records each call; a call with "hold" waits until the test opens the gate.
RECORDS_CALLS = """
import builtins


def handler(event, context):
    if event.get("hold"):
        builtins.aigw_test_gate.wait(timeout=10)
    builtins.aigw_test_calls.append((event["key"], event["n"]))
"""


def _other_shard(key: str) -> str:
    shard = zlib.crc32(key.encode()) % ORDERED_SHARDS
    return next(
        other
        for other in (f"job-{n}" for n in range(100))
        if zlib.crc32(other.encode()) % ORDERED_SHARDS != shard
    )


def test_given_keyed_async_invocations_when_one_key_is_slow_then_others_do_not_wait_behind_it(
    tmp_path: Path,
) -> None:
    import builtins

    bridge = LambdaBridge()
    bridge.register(_function(tmp_path, "recorder", RECORDS_CALLS))
    calls: list[tuple[str, int]] = []
    gate = threading.Event()
    builtins.aigw_test_calls = calls  # type: ignore[attr-defined]
    builtins.aigw_test_gate = gate  # type: ignore[attr-defined]
    slow, other = "job-slow", _other_shard("job-slow")

    bridge.invoke_async("recorder", {"key": slow, "n": 1, "hold": True}, ordering_key=slow)
    bridge.invoke_async("recorder", {"key": slow, "n": 2}, ordering_key=slow)
    for n in range(1, 4):
        bridge.invoke_async("recorder", {"key": other, "n": n}, ordering_key=other)
    deadline = time.monotonic() + 10
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    ran_while_held = list(calls)
    gate.set()
    assert bridge.async_invoker.drain(10)
    bridge.shutdown()

    assert ran_while_held == [(other, 1), (other, 2), (other, 3)]
    assert [n for key, n in calls if key == slow] == [1, 2]


def test_given_many_async_invocations_of_one_key_then_they_run_in_order(tmp_path: Path) -> None:
    import builtins

    bridge = LambdaBridge()
    bridge.register(_function(tmp_path, "recorder", RECORDS_CALLS))
    calls: list[tuple[str, int]] = []
    builtins.aigw_test_calls = calls  # type: ignore[attr-defined]
    keys = ["job-a", _other_shard("job-a")]

    for n in range(30):
        for key in keys:
            bridge.invoke_async("recorder", {"key": key, "n": n}, ordering_key=key)
    assert bridge.async_invoker.drain(10)
    bridge.shutdown()

    for key in keys:
        assert [n for k, n in calls if k == key] == list(range(30))


def test_given_an_unknown_function_then_unknown_function_error(tmp_path: Path) -> None:
    with pytest.raises(UnknownFunctionError):
        LambdaBridge().invoke("nobody", {})


# --- Functions on a newer Python, in worker processes -------------------------------------


@pytest.fixture(scope="module")
def newer_python() -> Path:
    """The python3.13 the machine has (this machine kind has it in pyenv's versions)."""
    from aigw.local.lambdas.worker import find_interpreter

    interpreter = find_interpreter((3, 13))
    assert interpreter is not None, "python3.13 is needed: on PATH or in pyenv's versions"
    return interpreter


EXITS_OR_ANSWERS = """
import os


def handler(event, context):
    if event.get("exit"):
        os._exit(3)
    return {"pid": os.getpid(), "colour": os.environ["COLOUR"]}
"""


def test_given_a_worker_function_when_its_process_dies_then_exit_error_and_a_new_one_serves(
    tmp_path: Path, newer_python: Path
) -> None:
    bridge = LambdaBridge()
    spec = _function(
        tmp_path, "w", EXITS_OR_ANSWERS, interpreter=newer_python, environment={"COLOUR": "red"}
    )
    bridge.register(spec)
    try:
        first = bridge.invoke("w", {}).json()
        warm = bridge.invoke("w", {}).json()
        died = bridge.invoke("w", {"exit": True})
        after = bridge.invoke("w", {}).json()
    finally:
        bridge.shutdown()

    assert first["colour"] == "red" and warm["pid"] == first["pid"]  # a warm start
    assert died.function_error == "Unhandled"
    assert died.json()["errorType"] == "Runtime.ExitError"
    assert died.json()["errorMessage"] == "Runtime exited with error: exit status 3"
    assert after["pid"] != first["pid"]


def test_given_a_worker_function_that_fails_to_import_then_an_import_module_error(
    tmp_path: Path, newer_python: Path
) -> None:
    bridge = LambdaBridge()
    bridge.register(_function(tmp_path, "w", "import no_such_module\n", interpreter=newer_python))
    try:
        result = bridge.invoke("w", {})
    finally:
        bridge.shutdown()

    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == "Runtime.ImportModuleError"
    assert "No module named 'no_such_module'" in result.json()["errorMessage"]


COUNTS_CALLS = """
CALLS = []


def handler(event, context):
    CALLS.append(1)
    return {"calls": len(CALLS)}
"""


def test_given_an_event_over_6_mb_then_it_is_refused_and_the_handler_never_runs(
    tmp_path: Path,
) -> None:
    bridge = LambdaBridge()
    bridge.register(_function(tmp_path, "counter", COUNTS_CALLS))
    # {"s":"…"} in compact JSON: 8 bytes around the string.
    fits = {"s": "x" * (SYNC_REQUEST_PAYLOAD_BYTES - 8)}
    over = {"s": "x" * (SYNC_REQUEST_PAYLOAD_BYTES - 7)}

    assert bridge.invoke("counter", fits).json() == {"calls": 1}
    with pytest.raises(RequestTooLargeError) as refused:
        bridge.invoke("counter", over)
    assert (refused.value.code, refused.value.status) == ("RequestEntityTooLargeException", 413)
    assert bridge.invoke("counter", {}).json() == {"calls": 2}


# Records each batch's record numbers; reports record 2 failed whenever it gets it.
REPORTS_RECORD_2 = """
import builtins


def handler(event, context):
    numbers = [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]
    builtins.aigw_test_calls.append(numbers)
    return {"batchItemFailures": [{"itemIdentifier": n} for n in numbers if n == "2"]}
"""


@pytest.mark.parametrize(
    ("bisect", "calls"),
    [
        # Each retry from the failed record on uses up one of the two tries.
        (False, [["0", "1", "2", "3"], ["2", "3"]]),
        # Split at the failed record (AWS: "bisected at the returned sequence number"),
        # using up no try; then the rest is tried twice.
        (True, [["0", "1", "2", "3"], ["2", "3"], ["2", "3"]]),
    ],
    ids=["retried", "bisected"],
)
def test_given_a_stream_batch_with_a_reported_failure_then_it_is_retried_from_that_record(
    tmp_path: Path, bisect: bool, calls: list[list[str]]
) -> None:
    import builtins

    bridge = LambdaBridge()
    bridge.register(_function(tmp_path, "reporting", REPORTS_RECORD_2))
    builtins.aigw_test_calls = seen = []  # type: ignore[attr-defined]
    given_up: list[tuple[list[str], int]] = []

    def on_failure(event: Any, result: object, attempts: int) -> None:
        given_up.append(([r["dynamodb"]["SequenceNumber"] for r in event["Records"]], attempts))

    with bridge.async_invoker.held():
        for n in range(4):
            bridge.async_invoker.submit(
                "reporting",
                {"dynamodb": {"SequenceNumber": str(n)}},
                source="stream",
                batch_size=10,
                attempts=2,
                bisect=bisect,
                on_failure=on_failure,
                report_item_failures=True,
            )
    assert bridge.async_invoker.drain(5)
    bridge.shutdown()

    assert seen == calls
    assert given_up == [(["2", "3"], 2)]
