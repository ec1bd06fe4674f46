"""Write the Python SDK's models (src/aigw/client/models.py) from api/openapi.yaml.

The OpenAPI document is the one source of the API's shapes; the SDK ships without it (it
lives outside the package), so its pydantic models and the table of operations are
generated into a committed module. A test fails when that module and the OpenAPI document
disagree: run `python scripts/generate_sdk_models.py` after editing the API.

Enums become ``Literal`` aliases, objects become models (inline objects get a model named
after their parent and property), ``nullable`` becomes ``| None``, ``oneOf`` a union.
Response models accept unknown fields (an API that grows does not break old clients);
schemas with ``additionalProperties: false`` reject them, as the API does.
"""

from __future__ import annotations

import keyword
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = ROOT / "api" / "openapi.yaml"
OUTPUT = ROOT / "src" / "aigw" / "client" / "models.py"

#: Inline objects whose generated name (parent + property) would read badly.
_NAMES = {("Error", "error"): "ErrorDetail", ("Job", "progress"): "JobProgress"}
_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
_RESERVED = {"self", "json", "copy", "dict", "schema"}


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_"))


class _Generator:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.schemas: dict[str, Any] = document["components"]["schemas"]
        self.aliases: list[str] = []
        self.classes: list[str] = []

    def run(self) -> str:
        for name, schema in self.schemas.items():
            if schema.get("type") == "object" or "properties" in schema:
                self._model(name, schema)
            else:
                self.aliases.append(f"{name} = {self._type(schema, name, '')}")
        return self._module()

    def _type(self, schema: dict[str, Any], parent: str, prop: str) -> str:
        annotation = self._base_type(schema, parent, prop)
        if schema.get("nullable"):
            annotation += " | None"
        return annotation

    def _base_type(self, schema: dict[str, Any], parent: str, prop: str) -> str:
        if "$ref" in schema:
            return schema["$ref"].rsplit("/", 1)[1]
        if "enum" in schema:
            return "Literal[" + ", ".join(repr(value) for value in schema["enum"]) + "]"
        for combinator in ("oneOf", "anyOf", "allOf"):
            if combinator in schema and not schema.get("type"):
                kinds = [self._type(item, parent, prop) for item in schema[combinator]]
                return " | ".join(kinds) if combinator != "allOf" else kinds[0]
        kind = schema.get("type")
        if isinstance(kind, list):
            return " | ".join(_SCALARS[item] for item in kind)
        if kind == "array":
            return f"list[{self._type(schema.get('items', {}), parent, prop)}]"
        if kind == "object" or "properties" in schema:
            if "properties" in schema:
                name = _NAMES.get((parent, prop)) or parent + _camel(prop)
                self._model(name, schema)
                return name
            extra = schema.get("additionalProperties")
            value = self._type(extra, parent, prop) if isinstance(extra, dict) else "Any"
            return f"dict[str, {value}]"
        return _SCALARS.get(kind or "", "Any")

    def _model(self, name: str, schema: dict[str, Any]) -> None:
        required = set(schema.get("required", []))
        extra = "forbid" if schema.get("additionalProperties") is False else "allow"
        lines = [f"class {name}(BaseModel):"]
        description = " ".join(str(schema.get("description", "")).split())
        if description:
            wrapped = textwrap.fill(
                description, 92, initial_indent="    ", subsequent_indent="    "
            )
            lines += [f'    """{wrapped.strip()}', '    """', ""]
        lines.append(f'    model_config = ConfigDict(extra="{extra}", populate_by_name=True)')
        for prop, prop_schema in schema.get("properties", {}).items():
            annotation = self._type(prop_schema, name, prop)
            field = prop + "_" if keyword.iskeyword(prop) or prop in _RESERVED else prop
            arguments = [] if prop in required else ["None"]
            if field != prop:
                arguments.append(f'alias="{prop}"')
            if prop not in required and " | None" not in annotation:
                annotation += " | None"
            if not arguments:
                lines.append(f"    {field}: {annotation}")
            elif arguments == ["None"]:
                lines.append(f"    {field}: {annotation} = None")
            else:
                lines.append(f"    {field}: {annotation} = Field({', '.join(arguments)})")
        self.classes.append("\n".join(lines))

    def _operations(self) -> list[str]:
        lines = ["OPERATIONS: dict[str, Operation] = {"]
        for path, item in self.document["paths"].items():
            for method, operation in item.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                success = next(
                    answer
                    for status, answer in operation["responses"].items()
                    if status.startswith("2")
                )
                # An answer without a body (204) has no model.
                content = success.get("content", {}).get("application/json")
                model = content["schema"]["$ref"].rsplit("/", 1)[1] if content else None
                lines.append(
                    f'    "{operation["operationId"]}": Operation('
                    f'"{method.upper()}", "{path}", {model}),'
                )
        lines.append("}")
        return lines

    def _module(self) -> str:
        pipelines = list(self.document["x-aigw-pipelines"])
        modes = {name: entry["mode"] for name, entry in self.document["x-aigw-pipelines"].items()}
        parts = [
            '"""The API\'s shapes, generated from api/openapi.yaml by '
            "scripts/generate_sdk_models.py.\n\nDo not edit: edit the OpenAPI document and "
            'run the script."""',
            "from __future__ import annotations\n\nfrom typing import Any, Literal, NamedTuple\n\n"
            "from pydantic import BaseModel, ConfigDict, Field\n\n" + "\n".join(self.aliases),
            *self.classes,
            "class Operation(NamedTuple):\n"
            '    """One API operation: its method, its path and the model of its answer."""\n\n'
            "    method: str\n    path: str\n    response: type[BaseModel] | None",
            "\n".join(self._operations()),
            f"PIPELINES = {tuple(pipelines)!r}",
            "#: Whether a pipeline runs synchronously (POST /run) or only as a job.\n"
            f"PIPELINE_MODES = {modes!r}",
            "for _model in list(globals().values()):\n"
            '    if hasattr(_model, "model_rebuild") and _model.__module__ == __name__:\n'
            "        _model.model_rebuild()",
        ]
        return "\n\n\n".join(parts) + "\n"


def generate() -> str:
    """The module's text, formatted as ruff formats it."""
    source = _Generator(yaml.safe_load(OPENAPI.read_text())).run()
    ruff = Path(sys.executable).parent / "ruff"
    formatted = subprocess.run(
        [str(ruff), "format", "--line-length", "100", "--stdin-filename", str(OUTPUT), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    )
    return formatted.stdout


def main() -> int:
    OUTPUT.write_text(generate())
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
