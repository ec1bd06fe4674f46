"""The corpus specs: what to run against each app and what AWS documents should happen.

Each app under tests/corpus/<app>/ has a ``template.yaml`` and a ``spec.yaml``::

    summary: one line: the shape of public SAM apps this app reproduces
    exercises: [what the runtime must get right for it]
    limits: [a documented limit the app meets, if any]
    parameters: {Name: value}                  # template parameter overrides
    deploy:
      not_run: {LogicalId: part of the reason}  # exactly these are not run, for these reasons
      notes: {LogicalId: part of the note}      # exactly these run with a deploy-time note
    steps:
      - name: what a user would see
        <action>: {...}
        expect: {...}                           # a subset of the result (see ``match``)
        capture: {name: $.json.path}            # values for ${name} in later steps

Actions (``${LogicalId}``, ``${LogicalId.Attribute}`` and captured ``${name}`` are
substituted in every string):

- ``start_execution: {state_machine, input, name?, wait?: true}``: DescribeExecution once
  it ended (``input``/``output`` parsed), or StartExecution's answer with ``wait: false``;
- ``http: {api, method, path, headers?, query?, body?}``: the API's answer
  ``{status, headers, json | body}``; ``path`` includes the stage where the API has one;
- ``invoke: {function, payload?, invocation_type?}``: ``{status, function_error?, payload}``
  or ``{error: {code, message}}``;
- ``call: {service, operation, params?}``: any boto3 call; the answer, or
  ``{error: {code, message}}``;
- ``wait_for: {<any action above>, timeout?}``: repeat it until ``expect`` matches;
- ``drain: true``: wait until asynchronous deliveries have run.

``expect`` matches a subset of the result: dicts by their listed keys, lists item by item
(``{$len: n}`` for the length only, ``{$contains: item}`` for one item anywhere), numbers
exactly or ``{$gte: n}``, strings exactly or ``{$regex: ...}``, and
``{$type: str|int|float|bool|list|dict|null}``.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from jsonpath_ng.ext import parse as parse_json_path

from aigw.local.apis.rest_api import Request
from aigw.local.runtime import LocalRuntime

CORPUS = Path(__file__).parent
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
_TYPES = {
    "str": str,
    "int": int,
    "float": (int, float),
    "bool": bool,
    "list": list,
    "dict": dict,
    "null": type(None),
}


@dataclass
class AppSpec:
    name: str
    directory: Path
    summary: str
    exercises: list[str]
    limits: list[str]
    parameters: dict[str, str]
    not_run: dict[str, str]
    notes: dict[str, str]
    steps: list[dict[str, Any]]
    time_scale: float = 0.001

    @classmethod
    def load(cls, directory: Path) -> AppSpec:
        spec = yaml.safe_load((directory / "spec.yaml").read_text())
        return cls(
            name=directory.name,
            directory=directory,
            summary=spec["summary"],
            exercises=spec.get("exercises") or [],
            limits=spec.get("limits") or [],
            parameters={k: str(v) for k, v in (spec.get("parameters") or {}).items()},
            not_run=(spec.get("deploy") or {}).get("not_run") or {},
            notes=(spec.get("deploy") or {}).get("notes") or {},
            steps=spec.get("steps") or [],
            time_scale=float(spec.get("time_scale", 0.001)),
        )


def apps() -> list[AppSpec]:
    return [
        AppSpec.load(directory)
        for directory in sorted(CORPUS.iterdir())
        if (directory / "spec.yaml").is_file()
    ]


# ---------------------------------------------------------------------- matching
def match(expected: Any, actual: Any, where: str = "$") -> list[str]:
    """Where ``actual`` differs from ``expected`` (a subset); empty when it matches."""
    if isinstance(expected, dict) and len(expected) == 1 and next(iter(expected)).startswith("$"):
        ((operator, argument),) = expected.items()
        if operator == "$regex":
            ok = isinstance(actual, str) and re.search(argument, actual) is not None
            return [] if ok else [f"{where}: {actual!r} does not match /{argument}/"]
        if operator == "$type":
            kind = _TYPES[argument]
            ok = isinstance(actual, kind) and not (argument != "bool" and actual is True)
            return [] if ok else [f"{where}: {actual!r} is not of type {argument}"]
        if operator == "$gte":
            ok = _numbers(argument, actual) and actual >= argument
            return [] if ok else [f"{where}: {actual!r} is not >= {argument}"]
        if operator == "$len":
            ok = hasattr(actual, "__len__") and len(actual) == argument
            return [] if ok else [f"{where}: {actual!r} does not have length {argument}"]
        if operator == "$contains":
            if isinstance(actual, str):
                return [] if argument in actual else [f"{where}: {argument!r} not in {actual!r}"]
            if isinstance(actual, list) and any(not match(argument, item) for item in actual):
                return []
            return [f"{where}: no item of {actual!r} matches {argument!r}"]
        raise ValueError(f"unknown matcher {operator}")
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{where}.{key}: missing (keys: {sorted(actual)})")
            else:
                problems += match(value, actual[key], f"{where}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {len(expected)} items, got {actual!r}"]
        return [
            p for i, item in enumerate(expected) for p in match(item, actual[i], f"{where}[{i}]")
        ]
    if expected != actual or (
        type(expected) is not type(actual) and not _numbers(expected, actual)
    ):
        return [f"{where}: expected {expected!r}, got {actual!r}"]
    return []


def _numbers(a: Any, b: Any) -> bool:
    return isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool)


# ---------------------------------------------------------------------- running
@dataclass
class SpecRun:
    runtime: LocalRuntime
    spec: AppSpec
    values: dict[str, Any] = field(default_factory=dict)

    def run(self) -> None:
        for index, step in enumerate(self.spec.steps):
            title = f"{self.spec.name} step {index + 1} ({step.get('name', '')})"
            result = self._step(step, title)
            for name, path in (step.get("capture") or {}).items():
                found = [m.value for m in parse_json_path(path).find(result)]
                assert found, f"{title}: nothing at {path} in {result!r}"
                self.values[name] = found[0]

    def _step(self, step: dict[str, Any], title: str) -> Any:
        expect = step.get("expect")
        if "wait_for" in step:
            action = dict(step["wait_for"])
            timeout = float(action.pop("timeout", 10))
            deadline = time.monotonic() + timeout
            while True:
                result = self._act(self._substitute(action))
                problems = match(self._substitute(expect), result) if expect is not None else []
                if not problems:
                    return result
                if time.monotonic() > deadline:
                    raise AssertionError(f"{title}: not after {timeout} s: {problems}")
                time.sleep(0.05)
        result = self._act(self._substitute({k: v for k, v in step.items() if k not in _META}))
        if expect is not None:
            problems = match(self._substitute(expect), result)
            assert not problems, f"{title}: {problems}\nresult: {json.dumps(result, default=str)}"
        return result

    def _act(self, action: dict[str, Any]) -> Any:
        ((kind, arguments),) = action.items()
        return getattr(self, f"_{kind}")(arguments)

    # ------------------------------------------------------------------ substitution
    def _substitute(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self._substitute(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._substitute(item) for item in value]
        if not isinstance(value, str):
            return value
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:  # a whole-string placeholder keeps the value's type
            return self._lookup(whole.group(1))
        return _PLACEHOLDER.sub(lambda m: str(self._lookup(m.group(1))), value)

    def _lookup(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        logical_id, _, attribute = name.partition(".")
        resource = self.runtime.resource(logical_id)
        return resource.attributes[attribute] if attribute else resource.ref

    # ------------------------------------------------------------------ actions
    def _start_execution(self, arguments: dict[str, Any]) -> Any:
        arn = self.runtime.start_execution(
            arguments["state_machine"], arguments.get("input", {}), name=arguments.get("name")
        )
        self.values["execution_arn"] = arn
        if not arguments.get("wait", True):
            return {"executionArn": arn}
        described = self.runtime.wait_for_execution(
            arn, timeout=float(arguments.get("timeout", 20))
        )
        return _parsed_execution(_json_safe(described))

    def _http(self, arguments: dict[str, Any]) -> Any:
        body = arguments.get("body")
        if body is not None and not isinstance(body, str):
            body = json.dumps(body)
        answer = self.runtime.api(arguments["api"]).handle(
            Request(
                method=arguments.get("method", "GET"),
                path=arguments["path"],
                headers=arguments.get("headers") or {},
                query=arguments.get("query"),
                body=body,
            )
        )
        result: dict[str, Any] = {"status": answer.status, "headers": dict(answer.headers)}
        try:
            result["json"] = json.loads(answer.body) if answer.body else None
        except ValueError:
            result["body"] = answer.body
        return result

    def _invoke(self, arguments: dict[str, Any]) -> Any:
        try:
            response = self.runtime.client("lambda").invoke(
                FunctionName=self._lookup_function(arguments["function"]),
                InvocationType=arguments.get("invocation_type", "RequestResponse"),
                Payload=json.dumps(arguments.get("payload", {})).encode(),
            )
        except ClientError as error:
            return {"error": {"code": error.response["Error"]["Code"], "message": str(error)}}
        raw = response["Payload"].read()
        result = {"status": response["StatusCode"], "payload": json.loads(raw) if raw else None}
        if "FunctionError" in response:
            result["function_error"] = response["FunctionError"]
        return result

    def _lookup_function(self, name: str) -> str:
        return name if name.startswith("arn:") else self.runtime.physical_id(name)

    def _call(self, arguments: dict[str, Any]) -> Any:
        client = self.runtime.client(arguments["service"])
        try:
            answer = getattr(client, arguments["operation"])(**(arguments.get("params") or {}))
        except ClientError as error:
            return {"error": {"code": error.response["Error"]["Code"], "message": str(error)}}
        answer.pop("ResponseMetadata", None)
        return _json_safe(answer)

    def _drain(self, _: Any) -> Any:
        self.runtime.drain()
        return None


_META = {"name", "expect", "capture"}


def _parsed_execution(described: dict[str, Any]) -> dict[str, Any]:
    for key in ("input", "output"):
        if isinstance(described.get(key), str):
            described[key] = json.loads(described[key])
    return described


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, StreamingBody):
        return _json_safe(value.read())
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return base64.b64encode(value).decode()
    return value
