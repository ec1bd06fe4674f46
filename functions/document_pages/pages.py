"""Textract's blocks assembled into pages, lines, forms and tables; the text to analyse.

Blocks come from GetDocumentTextDetection / GetDocumentAnalysis: PAGE blocks list their
LINE blocks (CHILD relationships) in reading order; a KEY_VALUE_SET block whose EntityTypes
include KEY points at its VALUE block, and both point at their WORD (and SELECTION_ELEMENT)
blocks; a TABLE block's children are CELL blocks with a RowIndex and ColumnIndex (1-based).
Nothing in this module calls AWS.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aigw_common.state_input import Fields
from aigw_common.text import split_text

#: At most this much of the document's text (UTF-8) is analysed by text-insights; the rest is
#: still extracted and stored, and the result says it was truncated.
MAX_ANALYSED_BYTES = 25_000

# What assembly reads: the rest (geometry, mostly, and WORD blocks for text detection, where
# lines carry their own text) is dropped as results arrive, so that a long document's blocks
# fit in the function's memory.
_KEPT_FIELDS = (
    "Id",
    "BlockType",
    "Page",
    "Text",
    "Confidence",
    "EntityTypes",
    "Relationships",
    "RowIndex",
    "ColumnIndex",
    "SelectionStatus",
)
_LINE_TYPES = frozenset({"PAGE", "LINE"})
_ANALYSIS_TYPES = _LINE_TYPES | {"WORD", "SELECTION_ELEMENT", "KEY_VALUE_SET", "TABLE", "CELL"}

Block = dict[str, Any]

ANALYSIS = "StartDocumentAnalysis"


APIS = ("StartDocumentTextDetection", ANALYSIS)


@dataclass(frozen=True)
class DocumentOptions:
    language: str | None = None


@dataclass(frozen=True)
class PagesRequest:
    """The AssemblePages state's payload."""

    tenant_id: str
    job_id: str
    textract_job_id: str
    api: str
    options: DocumentOptions

    @classmethod
    def parse(cls, event: Any) -> PagesRequest:
        """The payload, checked; ValidationError names every problem."""
        fields = Fields("PagesRequest", event)
        tenant_id = fields.string("tenant_id", min_length=1)
        job_id = fields.string("job_id", min_length=1)
        textract_job_id = fields.string("textract_job_id", min_length=1)
        api = fields.choice("api", APIS)
        options = fields.object("options", "DocumentOptions", extra="ignore", required=False)
        language = options.string("language", default=None)
        fields.check()
        return cls(tenant_id, job_id, textract_job_id, api, DocumentOptions(language))


class TextractJobFailed(Exception):
    """Textract says the job did not succeed (its Get* JobStatus), so there is nothing to read."""


class TextractError(Exception):
    """An error Textract answered with. Subclasses are named after the AWS error code, which
    is the name Step Functions' Retry and Catch see (a Lambda error's type)."""


@functools.cache
def textract_error(code: str) -> type[TextractError]:
    """The exception class for an AWS error code (the same class for the same code)."""
    return type(code, (TextractError,), {"__module__": __name__})


def document_key(tenant_id: str, job_id: str) -> str:
    """Where the assembled document is stored in the Documents bucket."""
    return f"results/{tenant_id}/{job_id}/document.json"


def check_job_status(textract_job_id: str, status: str, message: str | None) -> None:
    if status != "SUCCEEDED":
        detail = f": {message}" if message else ""
        raise TextractJobFailed(f"Textract job {textract_job_id} is {status}{detail}")


def compact(blocks: Iterable[Block], *, analysis: bool) -> list[Block]:
    """The blocks assembly reads, with the fields it reads: forms and tables (analysis only)
    are made of words and selection marks, lines carry their own text."""
    wanted = _ANALYSIS_TYPES if analysis else _LINE_TYPES
    return [
        {field: block[field] for field in _KEPT_FIELDS if field in block}
        for block in blocks
        if block.get("BlockType") in wanted
    ]


def assemble(blocks: list[Block], page_count: int) -> dict[str, Any]:
    """``{"pages": [{"page", "lines": [{"text", "confidence"}]}], "text", "forms", "tables"}``.

    Every page from 1 to the document's page count is listed, blank ones with no lines. The
    text is the lines joined by newlines, pages separated by a blank line.
    """
    by_id = {block["Id"]: block for block in blocks}
    pages = _pages(blocks, page_count)
    page_texts = ["\n".join(line["text"] for line in page["lines"]) for page in pages]
    return {
        "pages": pages,
        "text": "\n\n".join(text for text in page_texts if text),
        "forms": _forms(blocks, by_id),
        "tables": _tables(blocks, by_id),
    }


def analysis_input(
    text: str, max_bytes: int = MAX_ANALYSED_BYTES
) -> tuple[list[dict[str, Any]], bool]:
    """The chunks text-insights analyses, and whether the text had to be cut to max_bytes."""
    encoded = text.encode()
    truncated = len(encoded) > max_bytes
    if truncated:
        text = encoded[:max_bytes].decode(errors="ignore")  # drops a character cut in two
    if not text.strip():
        return [], truncated
    return [{"text": chunk.text, "offset": chunk.offset} for chunk in split_text(text)], truncated


def _related(block: Block, kind: str) -> list[str]:
    return [
        block_id
        for relationship in block.get("Relationships", [])
        if relationship.get("Type") == kind
        for block_id in relationship.get("Ids", [])
    ]


def _pages(blocks: list[Block], page_count: int) -> list[dict[str, Any]]:
    reading_order: dict[str, int] = {}
    for block in blocks:
        if block["BlockType"] == "PAGE":
            for index, child_id in enumerate(_related(block, "CHILD")):
                reading_order[child_id] = index
    lines = [block for block in blocks if block["BlockType"] == "LINE"]
    # A stable sort: lines no PAGE block lists stay in the order Textract returned them.
    lines.sort(key=lambda line: (line.get("Page", 1), reading_order.get(line["Id"], len(blocks))))
    count = max([page_count, *(line.get("Page", 1) for line in lines)])
    pages: list[dict[str, Any]] = [{"page": number, "lines": []} for number in range(1, count + 1)]
    for line in lines:
        pages[line.get("Page", 1) - 1]["lines"].append(
            {"text": line.get("Text", ""), "confidence": round(line.get("Confidence", 0.0), 2)}
        )
    return pages


def _text(block: Block, by_id: dict[str, Block]) -> str:
    """The words of a block (selection marks as SELECTED / NOT_SELECTED), space-separated."""
    words = []
    for child_id in _related(block, "CHILD"):
        child = by_id.get(child_id)
        if child is None:
            continue
        if child["BlockType"] == "WORD":
            words.append(child.get("Text", ""))
        elif child["BlockType"] == "SELECTION_ELEMENT":
            words.append(child.get("SelectionStatus", ""))
    return " ".join(word for word in words if word)


def _forms(blocks: list[Block], by_id: dict[str, Block]) -> list[dict[str, Any]]:
    forms = []
    for block in blocks:
        if block["BlockType"] != "KEY_VALUE_SET" or "KEY" not in block.get("EntityTypes", []):
            continue
        values = [by_id[value_id] for value_id in _related(block, "VALUE") if value_id in by_id]
        forms.append(
            {
                "key": _text(block, by_id),
                "value": " ".join(text for value in values if (text := _text(value, by_id))),
                "page": block.get("Page", 1),
            }
        )
    return forms


def _tables(blocks: list[Block], by_id: dict[str, Block]) -> list[dict[str, Any]]:
    tables = []
    for block in blocks:
        if block["BlockType"] != "TABLE":
            continue
        cells = [
            by_id[cell_id]
            for cell_id in _related(block, "CHILD")
            if cell_id in by_id and by_id[cell_id]["BlockType"] == "CELL"
        ]
        row_count = max((cell["RowIndex"] for cell in cells), default=0)
        column_count = max((cell["ColumnIndex"] for cell in cells), default=0)
        rows = [[""] * column_count for _ in range(row_count)]
        for cell in cells:
            rows[cell["RowIndex"] - 1][cell["ColumnIndex"] - 1] = _text(cell, by_id)
        tables.append({"page": block.get("Page", 1), "rows": rows})
    return tables
