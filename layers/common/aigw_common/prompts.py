"""Prompt templates: per-tenant, named, with immutable numbered versions (SPEC §7).

A template substitutes ``{{variable}}`` and nothing else: no expressions, filters or code.
A variable's value is inserted once, as text (strings as they are, anything else as JSON),
and never scanned again, so a value that itself contains ``{{...}}`` stays literal. The
variables are a JSON Schema (an object's properties); values are validated against it,
and its ``default`` fills a value left out, before anything reaches a model.

The shapes of the HTTP requests are checked by API Gateway from api/openapi.yaml; this
module checks what a schema cannot say (sizes in bytes, placeholders the schema does not
declare, a schema that is not one, models the gateway is not configured for).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from aigw_common.errors import InvalidInput, PayloadTooLarge

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
#: ``name`` or ``name@version`` in an llm-generate input.
REFERENCE = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_-]{0,63})(?:@(?P<version>[1-9][0-9]{0,5}))?$"
)
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}")
#: Anything that opens like a placeholder: each must be a well-formed one.
_OPENING = re.compile(r"\{\{(.{0,80}?)\}\}|\{\{", re.DOTALL)

MAX_TEMPLATE_BYTES = 50_000
MAX_SYSTEM_BYTES = 20_000
MAX_SCHEMA_BYTES = 20_000
MAX_VERSIONS = 1_000


@dataclass(frozen=True)
class PromptDefinition:
    """What a client sends to create a prompt or add a version."""

    template: str
    variables: dict[str, Any]
    system: str | None = None
    model: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PromptVersion:
    name: str
    version: int
    definition: PromptDefinition
    created_at: str

    def to_api(self, latest_version: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "template": self.definition.template,
            "variables": self.definition.variables,
            "parameters": self.definition.parameters,
            "created_at": self.created_at,
        }
        if self.definition.system is not None:
            body["system"] = self.definition.system
        if self.definition.model is not None:
            body["model"] = self.definition.model
        if latest_version is not None:
            body["latest_version"] = latest_version
        return body


@dataclass(frozen=True)
class RenderedPrompt:
    system: str | None
    user: str


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidInput(
            "name: 1 to 64 letters, digits, '-' or '_', starting with a letter or digit"
        )
    return name


def parse_reference(reference: str) -> tuple[str, int | None]:
    """``"name@3"`` → ``("name", 3)``; ``"name"`` → ``("name", None)`` (the latest)."""
    match = REFERENCE.match(reference) if isinstance(reference, str) else None
    if match is None:
        raise InvalidInput("input.prompt: a prompt name, optionally with @version (e.g. 'faq@2')")
    version = match.group("version")
    return match.group("name"), int(version) if version else None


def check_definition(body: dict[str, Any], models: list[str]) -> PromptDefinition:
    """A create or add-version request body, checked beyond its schema."""
    template = _text_field(body, "template", MAX_TEMPLATE_BYTES, required=True)
    system = _text_field(body, "system", MAX_SYSTEM_BYTES, required=False)
    variables = body.get("variables")
    if not isinstance(variables, dict):
        raise InvalidInput("variables: a JSON Schema object describing the variables")
    if len(json.dumps(variables).encode()) > MAX_SCHEMA_BYTES:
        raise PayloadTooLarge(f"variables: the schema may have at most {MAX_SCHEMA_BYTES} bytes")
    # jsonschema is imported where a schema is checked, not on every cold start of the API.
    from jsonschema import Draft7Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft7Validator.check_schema(variables)
    except SchemaError as error:
        raise InvalidInput(f"variables: not a valid JSON Schema ({error.message})") from None
    if variables.get("type", "object") != "object":
        raise InvalidInput('variables: the schema must describe an object ("type": "object")')
    declared = set(variables.get("properties") or {})
    for where, text in (("template", template), ("system", system or "")):
        for name in placeholders(text, where):
            if name not in declared:
                raise InvalidInput(
                    f"{where}: {{{{{name}}}}} is not declared in variables.properties"
                )
    model = body.get("model")
    if model is not None:
        check_models([model], models, "model")
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidInput("parameters: an object")
    return PromptDefinition(
        template=template, variables=variables, system=system, model=model, parameters=parameters
    )


def _text_field(body: dict[str, Any], name: str, max_bytes: int, *, required: bool) -> Any:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name}: a non-empty string")
    size = len(value.encode("utf-8"))
    if size > max_bytes:
        raise PayloadTooLarge(f"{name}: {size} bytes of UTF-8; at most {max_bytes} are accepted")
    return value


def placeholders(text: str, where: str = "template") -> list[str]:
    """The variables a template uses, in order; anything else between ``{{ }}`` is an error."""
    names = []
    for match in _OPENING.finditer(text):
        placeholder = PLACEHOLDER.fullmatch(match.group(0))
        if placeholder is None:
            shown = match.group(0)[:40]
            raise InvalidInput(
                f"{where}: {shown!r} is not a placeholder; only {{{{variable}}}} is substituted "
                "(a name of letters, digits and '_')"
            )
        names.append(placeholder.group(1))
    return names


def check_models(requested: list[str], configured: list[str], where: str) -> None:
    for model in requested:
        if model not in configured:
            raise InvalidInput(
                f"{where}: {model!r} is not a model this gateway may call; configured: "
                f"{', '.join(configured)}"
            )


def render(prompt: PromptVersion, values: Any) -> RenderedPrompt:
    """The prompt's text with ``values`` substituted, after validating them."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise InvalidInput("input.variables: an object of the prompt's variables")
    schema = prompt.definition.variables
    from jsonschema import Draft7Validator

    errors = sorted(Draft7Validator(schema).iter_errors(values), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        location = ".".join(str(part) for part in ["input.variables", *first.path])
        raise InvalidInput(f"{location}: {first.message} (prompt {prompt.name}@{prompt.version})")
    properties = schema.get("properties") or {}

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            value = values[name]
        elif isinstance(properties.get(name), dict) and "default" in properties[name]:
            value = properties[name]["default"]
        else:
            raise InvalidInput(
                f"input.variables.{name}: required by prompt {prompt.name}@{prompt.version}"
            )
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    system = prompt.definition.system
    return RenderedPrompt(
        system=PLACEHOLDER.sub(value_of, system) if system is not None else None,
        user=PLACEHOLDER.sub(value_of, prompt.definition.template),
    )
