"""The SDK's shapes come from api/openapi.yaml, and its configuration is found where the
docs say. No gateway needed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from aigw.client import ERRORS_BY_CODE, ConfigurationError
from aigw.client.config import resolve
from aigw.client.models import OPERATIONS, ErrorDetail

ROOT = Path(__file__).resolve().parents[2]


def _generator():  # scripts/ is not a package
    spec = importlib.util.spec_from_file_location(
        "generate_sdk_models", ROOT / "scripts" / "generate_sdk_models.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_given_the_openapi_document_then_the_sdk_models_are_generated_from_it() -> None:
    generator = _generator()

    assert generator.OUTPUT.read_text() == generator.generate(), (
        "src/aigw/client/models.py is stale: run `python scripts/generate_sdk_models.py`"
    )


def test_given_the_api_error_codes_then_each_has_its_own_exception() -> None:
    codes = typing.get_args(ErrorDetail.model_fields["code"].annotation)

    assert sorted(ERRORS_BY_CODE) == sorted(codes)
    assert len(set(ERRORS_BY_CODE.values())) == len(codes)


def test_given_the_openapi_paths_then_the_client_knows_every_operation() -> None:
    document = _generator().yaml.safe_load((ROOT / "api" / "openapi.yaml").read_text())

    operations = {
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }

    assert set(OPERATIONS) == operations


def test_given_arguments_environment_and_a_profile_then_each_setting_comes_from_the_first(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[default]\nurl = "http://profile/v1"\napi_key = "profile-key"\n'
        'ws_url = "ws://profile"\n\n[other]\nurl = "http://other/v1"\napi_key = "other-key"\n'
    )
    env = {"AIGW_CONFIG_FILE": str(config), "AIGW_API_KEY": "env-key"}

    default = resolve(env=env)
    explicit = resolve(url="http://given/v1/", env=env)
    named = resolve(env={**env, "AIGW_PROFILE": "other"})

    assert (default.url, default.api_key, default.ws_url) == (
        "http://profile/v1",
        "env-key",
        "ws://profile",
    )
    assert explicit.url == "http://given/v1"
    assert (named.url, named.ws_url) == ("http://other/v1", None)


def test_given_no_url_anywhere_then_the_configuration_error_says_where_to_put_one(
    tmp_path: Path,
) -> None:
    env = {"AIGW_CONFIG_FILE": str(tmp_path / "none.toml"), "AIGW_API_KEY": "key"}

    with pytest.raises(ConfigurationError, match="AIGW_URL"):
        resolve(env=env)
    with pytest.raises(ConfigurationError, match=r"no profile \[prod\]"):
        resolve(profile="prod", env=env)


def test_given_import_aigw_then_the_sdk_is_loaded_only_when_used() -> None:
    code = "import sys, aigw; print('httpx' in sys.modules, aigw.Client.__name__)"

    ran = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert ran.stdout.split() == ["False", "Client"]
