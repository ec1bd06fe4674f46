"""The pipeline catalogue the API serves is the one api/openapi.yaml declares."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from aigw_common.pipelines import catalogue

ROOT = Path(__file__).resolve().parents[2]


def _generator():  # scripts/ is not a package
    spec = importlib.util.spec_from_file_location(
        "generate_pipeline_schemas", ROOT / "scripts" / "generate_pipeline_schemas.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_given_the_openapi_document_then_the_layers_schemas_match_it() -> None:
    generator = _generator()

    expected = generator.generate()

    assert generator.OUTPUT.read_text() == expected, (
        "layers/common/aigw_common/pipeline_schemas.json is stale: run `make schemas`"
    )


def test_given_the_catalogue_then_every_pipeline_of_the_api_enum_is_in_it() -> None:
    document = _generator().yaml.safe_load((ROOT / "api" / "openapi.yaml").read_text())

    names = document["components"]["schemas"]["PipelineName"]["enum"]

    assert sorted(names) == sorted(catalogue())
    assert json.dumps(catalogue()["text-insights"].input_schema).count("$ref") == 0
