"""Offline runtime speed: one 5-state execution, and 50 at once.

The execution is the sample app's PipelineMachine on its happy path — Pass, Lambda task,
Choice, DynamoDB task, Succeed — with the handler running in-process. Reported:
- median / p95 wall time from StartExecution to the terminal status being visible
  (target: median <= 60 ms), and the engine's own start-to-stop time;
- wall time for 50 executions started together to all finish (target: <= 2.5 s).

Run with `make bench`; prints a table (and JSON with --json).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import statistics
import time
import uuid
from pathlib import Path

from aigw.local.runtime import LocalRuntime

APP = Path(__file__).resolve().parent.parent / "tests" / "runtime" / "app" / "template.yaml"


def _job() -> dict[str, str]:
    return {"id": f"bench-{uuid.uuid4().hex[:10]}", "action": "echo", "value": "x"}


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure_single(runtime: LocalRuntime, runs: int) -> dict[str, float]:
    wall, engine = [], []
    for _ in range(runs):
        started = time.perf_counter()
        result = runtime.run("PipelineMachine", _job(), timeout=10)
        wall.append((time.perf_counter() - started) * 1000)
        assert result["status"] == "SUCCEEDED", result
        engine.append((result["stopDate"] - result["startDate"]).total_seconds() * 1000)
    return {
        "median_ms": statistics.median(wall),
        "p95_ms": _percentile(wall, 0.95),
        "engine_median_ms": statistics.median(engine),
    }


def measure_concurrent(runtime: LocalRuntime, count: int) -> float:
    started = time.perf_counter()
    arns = [runtime.start_execution("PipelineMachine", _job()) for _ in range(count)]
    for arn in arns:
        result = runtime.wait_for_execution(arn, timeout=60)
        assert result["status"] == "SUCCEEDED", result
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    with LocalRuntime(APP) as runtime:
        measure_single(runtime, 5)  # warm: imports, first clients, parsed definitions
        single = measure_single(runtime, args.runs)
        rounds = [measure_concurrent(runtime, args.concurrent) for _ in range(args.rounds)]
        runtime.drain(30)

    results = {
        "machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}",
        "single": single,
        "concurrent_seconds": statistics.median(rounds),
        "concurrent_rounds": rounds,
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    verdict = {True: "met", False: "NOT met"}
    print(f"offline runtime, {results['machine']}")
    print("| measure | value | target |")
    print("|---|---|---|")
    print(
        f"| 5-state execution, median wall | {single['median_ms']:.1f} ms | <= 60 ms "
        f"({verdict[single['median_ms'] <= 60]}) |"
    )
    print(f"| 5-state execution, p95 wall | {single['p95_ms']:.1f} ms | |")
    print(f"| 5-state execution, engine start→stop | {single['engine_median_ms']:.1f} ms | |")
    seconds = results["concurrent_seconds"]
    print(
        f"| {args.concurrent} concurrent executions, median of {args.rounds} | {seconds:.2f} s "
        f"| <= 2.5 s ({verdict[seconds <= 2.5]}) |"
    )


if __name__ == "__main__":
    main()
