"""api/openapi.yaml, the one source of the HTTP shapes, read as API Gateway reads it.

API Gateway imports OpenAPI 3.0 (not 3.1): a 3.1-only construct such as a list of types
is rejected by the import or silently dropped from the request models. A real validator
(openapi-spec-validator) checks the document against the 3.0 specification's schema.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator
from openapi_spec_validator import OpenAPIV30SpecValidator

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "api" / "openapi.yaml"


def document() -> dict[str, Any]:
    return yaml.safe_load(OPENAPI.read_text())


def test_given_the_api_document_then_it_declares_openapi_3_0() -> None:
    assert str(document()["openapi"]).startswith("3.0.")


def test_given_the_api_document_then_it_is_valid_openapi_3_0() -> None:
    errors = [
        f"{'/'.join(str(part) for part in error.path)}: {error.message[:300]}"
        for error in OpenAPIV30SpecValidator(document()).iter_errors()
    ]

    assert errors == []


def test_given_a_3_1_type_list_then_the_validator_rejects_it() -> None:
    # The check above can fail: the construct that once slipped in is an error to it.
    broken = document()
    broken["components"]["schemas"]["Broken"] = {"type": ["string", "number"]}

    assert list(OpenAPIV30SpecValidator(broken).iter_errors())


def test_given_predict_features_then_scalars_pass_and_nested_values_do_not() -> None:
    # The 3.0 spelling (anyOf) accepts what the 3.1 type list meant, under draft 4 (the
    # JSON Schema version of API Gateway's request models).
    schema = document()["components"]["schemas"]["PredictInput"]
    validator = Draft4Validator(schema)

    assert validator.is_valid({"model": "m", "features": {"a": "x", "b": 1.5, "c": True}})
    assert not validator.is_valid({"model": "m", "features": {"a": {"nested": 1}}})
    assert not validator.is_valid({"model": "m", "features": {"a": [1, 2]}})


def test_given_every_gateway_response_then_a_browser_may_read_it() -> None:
    # API Gateway's own answers (no key, throttled, invalid body, ...) carry only the
    # headers their gateway response sets; without this one a browser hides the error.
    responses = document()["x-amazon-apigateway-gateway-responses"]
    allow_origin = {"Fn::Sub": "'${AllowedOrigin}'"}

    assert {"DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    for response_type, response in responses.items():
        headers = response.get("responseParameters") or {}
        assert headers.get("gatewayresponse.header.Access-Control-Allow-Origin") == (
            allow_origin
        ), response_type
        if "gatewayresponse.header.Retry-After" in headers:
            exposed = headers.get("gatewayresponse.header.Access-Control-Expose-Headers", "")
            assert "Retry-After" in exposed, response_type


#: Imports the API function as Lambda does (its directory and the layer on the path, its
#: template environment) and prints its router's routes.
API_ROUTES_PROBE = """
import json, sys
sys.path[:0] = {paths!r}
import app
print(json.dumps(sorted(app.router.routes)))
"""


def _api_function_operations() -> set[tuple[str, str]]:
    operations = set()
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            integration = operation.get("x-amazon-apigateway-integration")
            if integration and "${ApiFunction.Arn}" in json.dumps(integration.get("uri")):
                operations.add((method.upper(), path))
    return operations


def test_given_the_api_function_then_it_routes_exactly_the_operations_integrated_with_it() -> None:
    """Every operation API Gateway sends to the API function has its handler (or a client
    gets the function's 404 for a documented route), and the function declares no route
    API Gateway would never send it."""
    spec = importlib.util.spec_from_file_location("cold_start", ROOT / "bench" / "cold_start.py")
    assert spec and spec.loader
    cold_start = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cold_start)
    api = next(f for f in cold_start.functions() if f["name"] == "ApiFunction")
    paths = [str(api["code_dir"]), str(ROOT / "layers" / "common")]
    completed = subprocess.run(
        [sys.executable, "-c", API_ROUTES_PROBE.format(paths=paths)],
        cwd=api["code_dir"],
        env=cold_start._lambda_environment(api["environment"]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    routes = {tuple(route) for route in json.loads(completed.stdout.strip().splitlines()[-1])}

    documented = _api_function_operations()
    assert ("GET", "/jobs/{job_id}") in documented  # the document was read
    assert routes == documented
