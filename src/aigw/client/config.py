"""Where the client finds the gateway and its key: arguments, then the environment
(``AIGW_URL``, ``AIGW_API_KEY``, ``AIGW_WS_URL``, ``AIGW_PROFILE``), then a profile of the
config file, and a deployed stack's outputs for the URLs.

The config file is ``$AIGW_CONFIG_FILE``, else ``$XDG_CONFIG_HOME/aigw/config.toml``
(``~/.config/aigw/config.toml``); one table per profile, ``default`` unless named::

    [default]
    url = "http://127.0.0.1:3000/v1"
    ws_url = "ws://127.0.0.1:3001"
    api_key = "aigw_dev_..."

    [prod]
    stack = "aigw"          # the URLs come from the CloudFormation stack's outputs
    region = "eu-west-1"
    api_key = "aigw_..."
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aigw.client.errors import ConfigurationError

FIELDS = ("url", "api_key", "ws_url", "stack", "region")


@dataclass(frozen=True)
class Settings:
    url: str
    api_key: str
    ws_url: str | None = None


def config_file(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("AIGW_CONFIG_FILE"):
        return Path(env["AIGW_CONFIG_FILE"])
    base = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "aigw" / "config.toml"


def load_profile(name: str | None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The profile's settings; ``{}`` for a missing default profile, an error for a named
    one that does not exist."""
    env = os.environ if env is None else env
    chosen = name or env.get("AIGW_PROFILE")
    path = config_file(env)
    try:
        document = tomllib.loads(path.read_text())
    except FileNotFoundError:
        document = {}
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{path}: {error}") from None
    profile = document.get(chosen or "default")
    if profile is None:
        if chosen:
            raise ConfigurationError(f"no profile [{chosen}] in {path}")
        return {}
    unknown = set(profile) - set(FIELDS)
    if unknown:
        raise ConfigurationError(f"{path} [{chosen or 'default'}]: unknown {sorted(unknown)}")
    return {key: str(value) for key, value in profile.items()}


def stack_outputs(stack: str, region: str | None = None) -> dict[str, str]:
    """The REST and WebSocket URLs of a deployed stack (``url``, ``ws_url``)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        cloudformation = boto3.session.Session(region_name=region).client("cloudformation")
        described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    except (BotoCoreError, ClientError) as error:
        raise ConfigurationError(f"cannot read stack {stack}: {error}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    found = {"url": outputs.get("RestApiUrl"), "ws_url": outputs.get("WebSocketUrl")}
    return {key: value for key, value in found.items() if value}


def resolve(
    *,
    url: str | None = None,
    api_key: str | None = None,
    ws_url: str | None = None,
    profile: str | None = None,
    stack: str | None = None,
    region: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """The settings, each from the first source that has it: arguments, an explicit stack,
    the environment, the profile, the profile's stack."""
    env = os.environ if env is None else env
    given: dict[str, Any] = {"url": url, "api_key": api_key, "ws_url": ws_url}
    from_env = {
        "url": env.get("AIGW_URL"),
        "api_key": env.get("AIGW_API_KEY"),
        "ws_url": env.get("AIGW_WS_URL"),
    }
    from_profile: dict[str, Any] = load_profile(profile, env)
    layers = [given]
    if stack:
        layers.append(stack_outputs(stack, region or from_profile.get("region")))
    layers += [from_env, from_profile]
    if not stack and from_profile.get("stack") and not (url or from_env["url"]):
        layers.append(stack_outputs(from_profile["stack"], region or from_profile.get("region")))

    def first(field: str) -> str | None:
        return next((layer[field] for layer in layers if layer.get(field)), None)

    found_url, found_key = first("url"), first("api_key")
    if not found_url:
        raise ConfigurationError(
            "no gateway URL: pass --url or --stack, set AIGW_URL, or add url to a profile in "
            f"{config_file(env)}"
        )
    if not found_key:
        raise ConfigurationError(
            f"no API key: pass --api-key, set AIGW_API_KEY, or add api_key to a profile in "
            f"{config_file(env)}"
        )
    return Settings(url=found_url.rstrip("/"), api_key=found_key, ws_url=first("ws_url"))
