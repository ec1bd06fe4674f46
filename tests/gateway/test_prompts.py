"""Prompt templates as pure functions: what is a placeholder, how values are substituted and
validated (aigw_common.prompts; the REST side is in test_llm_pipelines.py)."""

from __future__ import annotations

import pytest

from aigw_common.errors import InvalidInput
from aigw_common.prompts import PromptDefinition, PromptVersion, placeholders, render

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "items": {"type": "array"},
        "tone": {"type": "string", "default": "friendly"},
        "count": {"type": "integer", "minimum": 1},
    },
    "required": ["name"],
}


def _prompt(template: str, system: str | None = None) -> PromptVersion:
    return PromptVersion(
        "greet", 3, PromptDefinition(template, SCHEMA, system), "2026-01-01T00:00:00Z"
    )


def test_given_placeholders_with_spaces_then_they_are_found_in_order() -> None:
    assert placeholders("{{name}} and {{ items }} then {{name}}") == ["name", "items", "name"]


@pytest.mark.parametrize(
    "template", ["{{ name.upper() }}", "{{name|e}}", "{{ }}", "{{1abc}}", "{{name} unclosed"]
)
def test_given_anything_but_a_variable_between_braces_then_it_is_refused(template: str) -> None:
    with pytest.raises(InvalidInput, match="not a placeholder"):
        placeholders(template)


def test_given_template_syntax_of_other_engines_then_it_is_plain_text() -> None:
    rendered = render(_prompt("{% if admin %}{{name}}{% endif %} ${tone}"), {"name": "Ana"})

    assert rendered.user == "{% if admin %}Ana{% endif %} ${tone}"


def test_given_values_then_strings_go_in_as_text_others_as_json_and_defaults_fill_gaps() -> None:
    rendered = render(
        _prompt("Hi {{name}}, {{items}}, {{tone}}", system="Count: {{count}}"),
        {"name": "Ana", "items": ["a", 1], "count": 2},
    )

    assert rendered.user == 'Hi Ana, ["a", 1], friendly'
    assert rendered.system == "Count: 2"


def test_given_a_value_that_looks_like_a_placeholder_then_it_is_not_expanded_again() -> None:
    rendered = render(_prompt("Hi {{name}} ({{tone}})"), {"name": "{{tone}}"})

    assert rendered.user == "Hi {{tone}} (friendly)"


def test_given_a_value_against_the_schema_then_the_error_names_the_variable_and_version() -> None:
    with pytest.raises(InvalidInput) as raised:
        render(_prompt("{{name}} x{{count}}"), {"name": "Ana", "count": 0})

    assert "input.variables.count" in raised.value.message
    assert "greet@3" in raised.value.message


def test_given_an_optional_variable_without_value_or_default_then_it_is_named() -> None:
    with pytest.raises(InvalidInput, match=r"input.variables.count: required by prompt greet@3"):
        render(_prompt("{{name}} x{{count}}"), {"name": "Ana"})
