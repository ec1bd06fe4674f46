"""REST APIs built from AWS::ApiGateway::Resource and Method resources (no OpenAPI body) that
cannot be built are refused naming the resource (tests/corpus/catalog-rest serves one that can)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigw.local.apis.api_definition import RestApiError
from aigw.local.runtime import LocalRuntime

RESOURCE_TREES = """
Resources:
  EmptyApi:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: empty}
  BrokenApi:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: broken}
  OrphanMethod:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref BrokenApi
      ResourceId: abc123
      HttpMethod: GET
      AuthorizationType: NONE
      Integration: {Type: MOCK}
"""


def test_an_api_of_resources_that_cannot_be_built_is_refused_naming_what_is_wrong(
    tmp_path: Path,
) -> None:
    """Given REST APIs without a Body, when one has no Method and another's Method hangs on
    a resource that is not the API's, then each is refused with the resource named."""
    template = tmp_path / "template.yaml"
    template.write_text(RESOURCE_TREES)
    with LocalRuntime(template, stack_name="trees") as runtime:
        with pytest.raises(RestApiError, match="EmptyApi has neither an OpenAPI Body nor"):
            runtime.api("EmptyApi")
        with pytest.raises(RestApiError, match="OrphanMethod: 'abc123' is neither BrokenApi's"):
            runtime.api("BrokenApi")
