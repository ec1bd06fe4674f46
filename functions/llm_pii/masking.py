"""PII masking of an llm-generate request: every entity Comprehend found is replaced by its
type in brackets (``[EMAIL]``), as Comprehend's own redaction does with
REPLACE_WITH_PII_ENTITY_TYPE. Offsets are Comprehend's: code points of the text it read.
Nothing here calls AWS."""

from __future__ import annotations

from typing import Any


def mask(text: str, entities: list[dict[str, Any]]) -> tuple[str, int]:
    """``text`` with each entity's span replaced by ``[TYPE]``; overlapping spans become one
    (typed after the first); returns the text and the number of replacements."""
    spans = sorted(
        (int(entity["BeginOffset"]), int(entity["EndOffset"]), str(entity["Type"]))
        for entity in entities
        if 0 <= int(entity["BeginOffset"]) < int(entity["EndOffset"]) <= len(text)
    )
    merged: list[list[Any]] = []
    for begin, end, kind in spans:
        if merged and begin < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end, kind])
    for begin, end, kind in reversed(merged):
        text = f"{text[:begin]}[{kind}]{text[end:]}"
    return text, len(merged)


def mask_request(state: dict[str, Any]) -> dict[str, Any]:
    """The llm-generate state with its prompt masked: ``pii`` (what FindPii found: per system
    block, and per message per content block) is consumed; ``input.pii_masked`` counts the
    replacements and ``input.pii_blocks`` the characters of each block that was read."""
    state = dict(state)
    system_found, messages_found = state.pop("pii")
    request = dict(state["input"])
    masked = 0
    # The characters each DetectPiiEntities call read: what Comprehend bills.
    blocks: list[int] = []
    system = []
    for block, found in zip(request["system"], system_found, strict=True):
        text, count = mask(block["Text"], found["Entities"])
        system.append({**block, "Text": text})
        masked += count
        blocks.append(len(block["Text"]))
    messages = []
    for message, blocks_found in zip(request["messages"], messages_found, strict=True):
        content = []
        for block, found in zip(message["Content"], blocks_found, strict=True):
            text, count = mask(block["Text"], found["Entities"])
            content.append({**block, "Text": text})
            masked += count
            blocks.append(len(block["Text"]))
        messages.append({**message, "Content": content})
    request.update(system=system, messages=messages, pii_masked=masked, pii_blocks=blocks)
    state["input"] = request
    return state
