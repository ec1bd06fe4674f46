"""Write the layer's pipeline catalogue schemas from api/openapi.yaml (the one source).

The API function validates each pipeline's input and options and lists them in
GET /v1/pipelines; it cannot read the OpenAPI file at run time (the layer is built from
layers/common), so this script derives a JSON file for the layer. A test fails when the
file and the OpenAPI document disagree: run `make schemas` after editing the API.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = ROOT / "api" / "openapi.yaml"
OUTPUT = ROOT / "layers" / "common" / "aigw_common" / "pipeline_schemas.json"


def _json_schema(node: Any, components: dict[str, Any]) -> Any:
    """Inline `$ref`s and turn OpenAPI 3.0 `nullable` into JSON Schema types."""
    if isinstance(node, list):
        return [_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _json_schema(components[node["$ref"].rsplit("/", 1)[1]], components)
    schema = {key: _json_schema(value, components) for key, value in node.items()}
    if schema.pop("nullable", False):
        if "type" in schema:
            schema["type"] = [schema["type"], "null"]
        else:
            schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def component_schema(name: str) -> dict[str, Any]:
    """One of the OpenAPI document's component schemas as plain JSON Schema."""
    components = yaml.safe_load(OPENAPI.read_text())["components"]["schemas"]
    return _json_schema(components[name], components)


def generate() -> str:
    document = yaml.safe_load(OPENAPI.read_text())
    components = document["components"]["schemas"]
    catalogue = {
        name: {
            "mode": entry["mode"],
            "description": entry["description"],
            "input_schema": _json_schema(components[entry["input"]], components),
            "options_schema": _json_schema(components[entry["options"]], components),
        }
        for name, entry in document["x-aigw-pipelines"].items()
    }
    return json.dumps(catalogue, indent=2, sort_keys=True) + "\n"


def main() -> int:
    OUTPUT.write_text(generate())
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
