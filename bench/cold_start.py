"""Cold start: each function's handler import time, and its deployment package size.

Every function of template.yaml is imported the way Lambda imports it on a cold start: a
fresh interpreter, the function's CodeUri as the working directory and first on the path,
the common layer (``layers/common``, Lambda's /opt/python) next, the function's environment
(Globals and its own, placeholders for values CloudFormation would fill in, tracing on as
in the template). The import of the handler module is timed inside the process (interpreter
start-up excluded), median of ``runs`` processes, interleaved with a bare ``import boto3``
so both see the same machine load. Package sizes are what ``sam build`` wrote to
``.aws-sam/build/<Function>/`` (the layer separately).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "common"
BUILD = ROOT / ".aws-sam" / "build"

_PROBE = """
import json, sys, time
sys.path[:0] = {paths!r}
started = time.perf_counter()
import {module}
elapsed = time.perf_counter() - started
print(json.dumps({{"ms": elapsed * 1000, "modules": len(sys.modules)}}))
"""


def functions(template_path: Path = ROOT / "template.yaml") -> list[dict[str, Any]]:
    template = yaml_parse(template_path.read_text())
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    found = []
    for logical_id, spec in template["Resources"].items():
        if spec.get("Type") != "AWS::Serverless::Function":
            continue
        properties = spec["Properties"]
        environment = {
            **((globals_.get("Environment") or {}).get("Variables") or {}),
            **((properties.get("Environment") or {}).get("Variables") or {}),
        }
        found.append(
            {
                "name": logical_id,
                "code_dir": (ROOT / properties["CodeUri"]).resolve(),
                "module": properties["Handler"].rpartition(".")[0],
                "memory_mb": properties.get("MemorySize", globals_.get("MemorySize", 128)),
                "environment": {
                    name: value if isinstance(value, str) else _placeholder(name)
                    for name, value in environment.items()
                },
            }
        )
    return found


def _placeholder(name: str) -> str:
    """A value of the right form for a variable CloudFormation would fill in."""
    if "ENDPOINT" in name or name.endswith("_URL"):
        return "https://abcdef1234.execute-api.us-east-1.amazonaws.com/v1"
    if name.endswith("_REGION"):
        return "us-east-1"
    if name.endswith("_ARN"):
        return f"arn:aws:states:us-east-1:123456789012:stateMachine:{name.lower()}"
    return f"aigw-{name.lower().replace('_', '-')}"


def _lambda_environment(variables: dict[str, str]) -> dict[str, str]:
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    return {
        **keep,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        # Lambda hands a function its role's credentials in the environment.
        "AWS_ACCESS_KEY_ID": "ASIACOLDSTART",
        "AWS_SECRET_ACCESS_KEY": "cold-start",
        "AWS_SESSION_TOKEN": "cold-start",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_NAME": "cold-start",
        "PYTHONDONTWRITEBYTECODE": "1",
        **variables,
    }


def _probe(module: str, paths: list[str], cwd: Path, environment: dict[str, str]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE.format(paths=paths, module=module)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"import {module} in {cwd} failed: {completed.stderr[-500:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def import_breakdown(target: dict[str, Any]) -> list[tuple[str, float]]:
    """What the handler module's import spends its time on, from ``python -X importtime``:
    its direct imports (cumulative ms, largest first) and its own body (``<module body>``:
    module-level work such as creating boto3 clients)."""
    completed = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            _PROBE.format(paths=[str(target["code_dir"]), str(LAYER)], module=target["module"]),
        ],
        cwd=target["code_dir"],
        env=_lambda_environment(target["environment"]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in completed.stderr.splitlines() if line.startswith("import time:")]
    entries = []
    for line in lines[1:]:
        head, cumulative_us, name = line.split("|")
        self_us = head.removeprefix("import time:")
        name = name[1:]  # one space, then two per level of nesting
        depth = (len(name) - len(name.lstrip())) // 2
        entries.append((name.strip(), int(self_us), int(cumulative_us), depth))
    handler = next(
        (i for i in range(len(entries) - 1, -1, -1) if entries[i][0] == target["module"]), None
    )
    if handler is None:
        return []
    base = entries[handler][3]
    children: list[tuple[str, float]] = []
    index = handler - 1
    while index >= 0 and entries[index][3] > base:
        name, _, cumulative, depth = entries[index]
        if depth == base + 1:
            children.append((name, cumulative / 1000))
        index -= 1
    children.append(("<module body>", entries[handler][1] / 1000))
    return sorted(children, key=lambda item: -item[1])


def directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run(runs: int = 10) -> dict[str, Any]:
    targets = functions()
    boto3_ms: list[float] = []
    samples: dict[str, list[float]] = {t["name"]: [] for t in targets}
    modules: dict[str, int] = {}
    bare = _lambda_environment({})
    for _ in range(runs):
        boto3_ms.append(_probe("boto3", [], ROOT, bare)["ms"])
        for target in targets:
            answer = _probe(
                target["module"],
                [str(target["code_dir"]), str(LAYER)],
                target["code_dir"],
                _lambda_environment(target["environment"]),
            )
            samples[target["name"]].append(answer["ms"])
            modules[target["name"]] = answer["modules"]
    boto3_median = statistics.median(boto3_ms)
    breakdown = {target["name"]: import_breakdown(target) for target in targets}
    rows = []
    for target in targets:
        median = statistics.median(samples[target["name"]])
        build = BUILD / target["name"]
        rows.append(
            {
                "function": target["name"],
                "memory_mb": target["memory_mb"],
                "import_ms": median,
                "ratio": median / boto3_median,
                "modules": modules[target["name"]],
                "breakdown": breakdown[target["name"]][:5],
                "package_bytes": directory_bytes(build) if build.is_dir() else None,
            }
        )
    layer = BUILD / "CommonLayer"
    return {
        "runs": runs,
        "boto3_ms": boto3_median,
        "boto3_samples": boto3_ms,
        "rows": rows,
        "layer_bytes": directory_bytes(layer) if layer.is_dir() else None,
        "build_found": BUILD.is_dir(),
        "python": sys.version.split()[0],
    }


if __name__ == "__main__":
    result = run(3)
    print(f"boto3 {result['boto3_ms']:.0f} ms")
    for row in result["rows"]:
        print(row)
