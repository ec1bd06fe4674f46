"""``make bench``: every benchmark, one report (docs/benchmarks.md and its charts).

1. the offline runtime's own speed (bench/runtime_bench.py's measurements);
2. the cost per job on AWS from real executions, ours vs the usual design generated from
   our ASL (bench/cost_model.py, bench/baseline.py, bench/meter.py, bench/prices.py);
3. local throughput and latency against the gateway as a subprocess (bench/load.py);
4. cold start: handler import times and package sizes (bench/cold_start.py).

Prints a summary table (targets met / NOT met) and writes the report. Results are what
was measured: nothing is tuned after the fact, a miss is reported as a miss.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import math
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import cold_start  # noqa: E402
import cost_model  # noqa: E402
import load  # noqa: E402
import report  # noqa: E402
import runtime_bench  # noqa: E402

from aigw.local.runtime import LocalRuntime  # noqa: E402


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    system = platform.platform()
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = f"{line.split('=', 1)[1].strip(chr(34))} ({platform.release()})"
    memory = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "os": system,
    }


def load_average() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "n/a"


def run_runtime_bench(runs: int, concurrent: int, rounds: int) -> dict[str, Any]:
    with LocalRuntime(runtime_bench.APP) as runtime:
        runtime_bench.measure_single(runtime, 5)
        single = runtime_bench.measure_single(runtime, runs)
        measured = [runtime_bench.measure_concurrent(runtime, concurrent) for _ in range(rounds)]
        runtime.drain(30)
    return {
        "single": single,
        "concurrent": concurrent,
        "rounds": rounds,
        "concurrent_seconds": statistics.median(measured),
    }


@contextlib.contextmanager
def quiet() -> Any:
    """The handlers log to stdout (as on Lambda): keep the summary readable."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield buffer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cost-service-ms", type=float, default=150.0)
    parser.add_argument("--cost-runs", type=int, default=3)
    parser.add_argument("--load-service-ms", type=float, default=50.0)
    parser.add_argument("--load-jobs", type=int, default=1000)
    parser.add_argument("--cold-runs", type=int, default=10)
    parser.add_argument("--skip", action="append", default=[], help="runtime|cost|load|cold")
    parser.add_argument("--out", default=str(ROOT / "docs"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger().setLevel(logging.ERROR)

    started = time.perf_counter()
    results: dict[str, Any] = {
        "machine": machine(),
        "load_average_start": load_average(),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "seconds": {},
    }
    out = Path(args.out)
    charts = out / "benchmarks"

    def section(name: str, function: Any, *call_args: Any, **kwargs: Any) -> None:
        if name in args.skip:
            return
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        begun = time.perf_counter()
        with quiet():
            results[name] = function(*call_args, **kwargs)
        results["seconds"][name] = time.perf_counter() - begun
        print(f"[bench] {name}: {results['seconds'][name]:.0f} s", file=sys.stderr, flush=True)

    section("runtime", run_runtime_bench, 100, 50, 3)
    section(
        "cost",
        cost_model.run,
        service_ms=args.cost_service_ms,
        runs=args.cost_runs,
        out_dir=charts,
    )
    section("cold", cold_start.run, args.cold_runs)
    section(
        "load",
        load.run,
        service_ms=args.load_service_ms,
        jobs=args.load_jobs,
    )
    results["load_average_end"] = load_average()
    results["total_seconds"] = time.perf_counter() - started

    summary = report.write(results, out)
    print(report.summary_text(summary))
    return 0 if not math.isnan(results["total_seconds"]) else 1


if __name__ == "__main__":
    sys.exit(main())
