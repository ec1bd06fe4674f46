"""What the ``aigw`` command shows people: result summaries, tables, and the live
progress of a job it waits for (redrawn in place on a terminal, plain lines otherwise)."""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, TextIO

from aigw.client._core import JobUpdate

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_ENDED = {"SUCCEEDED": "✓", "FAILED": "✗", "CANCELLED": "✗", "TIMED_OUT": "✗"}


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str], indent: str = "") -> str:
    cells = [[str(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    lines = [
        indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in cells
    ]
    return "\n".join(line.rstrip() for line in lines)


def money(value: float) -> str:
    """Dollars with as many decimals as a sub-cent AI cost needs ($0.0015, $12.40)."""
    if value == 0:
        return "$0"
    digits = f"{value:,.2f}" if abs(value) >= 1 else f"{value:.6f}".rstrip("0")
    whole, _, cents = digits.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def quantity(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.6g}"


def usage_summary(usage: dict[str, Any]) -> str:
    """One line: the AI cost and what it paid for (``$0.0015: comprehend 15 units``)."""
    if usage.get("cached"):
        return "$0 (served from the result cache)"
    parts = [
        f"{item['operation']} {quantity(item['quantity'])} x {item['unit']}"
        for item in usage.get("items", [])
    ]
    basis = " (estimate)" if usage.get("basis") == "estimate" else ""
    cost = money(float(usage.get("ai_cost_usd", 0))) + basis
    return cost + (": " + ", ".join(parts) if parts else "")


def model_catalogue(catalogue: dict[str, Any]) -> str:
    """``aigw models``: each predict model with a table of its features, then the LLMs."""
    lines: list[str] = []
    for model in catalogue["models"]:
        schema = model["features_schema"]
        required = set(schema.get("required", []))
        rows = [
            [name, _accepts(feature), "yes" if name in required else "no"]
            for name, feature in schema["properties"].items()
        ]
        lines += [
            f"{model['name']}: {model['description']}",
            f"  predicts: {', '.join(model['labels'])}",
            table(rows, ["FEATURE", "ACCEPTS", "REQUIRED"], indent="  "),
            "",
        ]
    if not catalogue["models"]:
        lines += ["No predict models.", ""]
    lines.append("LLM models (llm-generate, document-summary):")
    for llm in catalogue["llm_models"]:
        lines.append(f"  {llm['id']}" + ("  (default)" if llm["default"] else ""))
    if not catalogue["llm_models"]:
        lines.append("  none")
    return "\n".join(lines)


def _accepts(feature: dict[str, Any]) -> str:
    if "enum" in feature:
        accepts = " | ".join(str(value) for value in feature["enum"])
    elif feature.get("type") == "boolean":
        accepts = "true or false"
    else:
        low, high = feature.get("minimum"), feature.get("maximum")
        bounds = {
            (False, False): "",
            (True, False): f" from {low}",
            (False, True): f" up to {high}",
            (True, True): f" {low} to {high}",
        }[(low is not None, high is not None)]
        accepts = f"{feature.get('type', 'any')}{bounds}"
    if "default" in feature:
        accepts += f" (default {feature['default']})"
    return accepts


def usage_report(report: dict[str, Any]) -> str:
    """``aigw usage``: the period's totals, a table of its groups, the limits now."""
    by = report["group_by"]
    lines = [
        f"Usage {report['from']} to {report['to']}: {report['jobs']} jobs "
        f"({report['cache_hits']} from the cache, {report['failed']} without a result), "
        f"AI cost {money(report['cost_usd'])}",
        "",
    ]
    if not report["groups"]:
        lines.append("No jobs in this period.")
    else:
        headers = [by.upper(), "JOBS", "COST", "UNITS"]
        rows = []
        for group in report["groups"]:
            # One line per billing unit, the group's figures on its first.
            units = [f"{quantity(n)} {unit}" for unit, n in sorted(group["units"].items())]
            first, *rest = units or [""]
            rows.append([group["key"], group["jobs"], money(group["cost_usd"]), first])
            rows += [["", "", "", unit] for unit in rest]
        lines.append(table(rows, headers))
    limits = report["limits"]
    lines += ["", "Limits (used / limit):"]
    shown = {
        "max_concurrent_jobs": ("jobs running", quantity),
        "monthly_jobs": ("jobs this month", quantity),
        "monthly_budget_usd": ("spent + reserved this month", money),
    }
    for name, (what, show) in shown.items():
        limit = limits[name]["limit"]
        used = limits[name]["used"]
        cap = "no limit" if limit is None else show(limit)
        lines.append(f"  {name:<20} {show(used)} / {cap}  ({what})")
    lines.append(
        f"Month to date: {money(report['month_to_date_usd'])} spent, "
        f"{money(report['month_reserved_usd'])} reserved by running jobs"
    )
    return "\n".join(lines)


def _score(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "-"


def _spans(title: str, spans: list[dict[str, Any]], *, with_type: bool = True) -> list[str]:
    if not spans:
        return [f"{title}: none"]
    headers = ["TEXT", "TYPE", "SCORE"] if with_type else ["TEXT", "SCORE"]
    rows = [
        [span.get("text", ""), span.get("type", ""), _score(span.get("score"))]
        if with_type
        else [span.get("text", ""), _score(span.get("score"))]
        for span in spans
    ]
    return [f"{title}:", table(rows, headers, "  ")]


def _text_insights(result: dict[str, Any]) -> list[str]:
    language = result.get("language") or {}
    sentiment = result.get("sentiment") or {}
    scores = sentiment.get("scores") or {}
    lines = [
        f"Language:  {language.get('code', '?')} ({_score(language.get('score'))})",
        f"Sentiment: {sentiment.get('label', '?')}  "
        + "  ".join(f"{name} {_score(value)}" for name, value in scores.items()),
    ]
    translation = result.get("translation")
    if translation:
        lines.append(
            f"Translation ({translation.get('source')} → {translation.get('target')}): "
            f"{translation.get('text', '')}"
        )
    lines += _spans("Entities", result.get("entities") or [])
    phrases = [span.get("text", "") for span in result.get("key_phrases") or []]
    lines.append("Key phrases: " + (" · ".join(phrases) if phrases else "none"))
    lines += _spans("PII", result.get("pii") or [])
    return lines


def _document_insights(result: dict[str, Any]) -> list[str]:
    document = result.get("document") or {}
    pages = document.get("pages", 0)
    lines = [
        f"Document:  {pages} page{'s' if pages != 1 else ''}, "
        f"{document.get('characters', 0)} characters"
        + (" (only the first 25,000 bytes analysed)" if document.get("truncated") else ""),
    ]
    extraction = result.get("extraction")
    if isinstance(extraction, dict):
        lines += _pages(extraction)
    else:
        lines.append(f"Extraction: s3://{document.get('bucket')}/{document.get('key')}")
    insights = result.get("insights")
    lines += _text_insights(insights) if insights else ["No text found."]
    return lines


def _pages(extraction: dict[str, Any]) -> list[str]:
    """The extracted text, page by page, as it was read (OCR confidence when below 90%)."""
    lines = []
    for page in extraction.get("pages") or []:
        lines.append(f"Page {page.get('page', '?')}:")
        for line in page.get("lines") or []:
            confidence = line.get("confidence")
            low = (
                f"  ({confidence:.0f}%)"
                if isinstance(confidence, int | float) and confidence < 90
                else ""
            )
            lines.append(f"  {line.get('text', '')}{low}")
    return lines


def _named(title: str, items: list[dict[str, Any]], key: str) -> list[str]:
    if not items:
        return [f"{title}: none"]
    rows = [[item.get(key, ""), f"{item.get('confidence', 0):.1f}%"] for item in items]
    return [f"{title}:", table(rows, [key.upper(), "CONFIDENCE"], "  ")]


def _image_insights(result: dict[str, Any]) -> list[str]:
    faces = result.get("faces") or []
    lines = _named("Labels", result.get("labels") or [], "name")
    lines += _named("Text", result.get("text") or [], "text")
    lines.append(f"Faces: {len(faces)}")
    for face in faces:
        box = face.get("box") or {}
        lines.append(
            f"  {face.get('confidence', 0):.1f}% at left {box.get('left', 0):.2f}, "
            f"top {box.get('top', 0):.2f}, {box.get('width', 0):.2f} x {box.get('height', 0):.2f}"
        )
    lines += _named("Moderation", result.get("moderation") or [], "name")
    return lines


def _prediction(result: dict[str, Any]) -> list[str]:
    prediction = result.get("prediction") or {}
    lines = [
        f"Model:      {result.get('model')}",
        f"Prediction: {prediction.get('label')} ({_score(prediction.get('score'))})",
    ]
    scores = prediction.get("scores") or {}
    if scores:
        rows = sorted(scores.items(), key=lambda item: -item[1])
        lines.append(table([[label, _score(score)] for label, score in rows], ["LABEL", "SCORE"]))
    return lines


def _generation(result: dict[str, Any]) -> list[str]:
    usage = result.get("usage") or {}
    model = str(result.get("model"))
    if result.get("fallback_used"):
        model += " (a fallback model)"
    lines = [
        str(result.get("text", "")),
        "",
        f"Model:  {model}",
        f"Stop:   {result.get('stop_reason')}",
        f"Tokens: {usage.get('input_tokens', 0)} in, {usage.get('output_tokens', 0)} out",
    ]
    prompt = result.get("prompt")
    if prompt:
        lines.append(f"Prompt: {prompt.get('name')}@{prompt.get('version')}")
    if "pii_masked" in result:
        lines.append(f"PII masked before the model: {result['pii_masked']}")
    return lines


def _document_summary(result: dict[str, Any]) -> list[str]:
    document = result.get("document") or {}
    pages = document.get("pages", 0)
    lines = [
        f"Document: {pages} page{'s' if pages != 1 else ''}, "
        f"{document.get('characters', 0)} characters"
        + (" (only the first 25,000 bytes summarised)" if document.get("truncated") else ""),
        "",
    ]
    return lines + _generation(result.get("summary") or {})


_SUMMARIES = {
    "text-insights": _text_insights,
    "document-insights": _document_insights,
    "image-insights": _image_insights,
    "predict": _prediction,
    "llm-generate": _generation,
    "document-summary": _document_summary,
}


def summary(pipeline: str, result: dict[str, Any]) -> str:
    """A pipeline's result for people: scores, tables, page numbers."""
    summarise = _SUMMARIES.get(pipeline)
    if summarise is None:
        import json

        return json.dumps(result, indent=2)
    return "\n".join(summarise(result))


def describe(update: JobUpdate) -> str:
    parts = [update.status]
    if update.step and not update.terminal:
        parts.append(f"step {update.step}")
    if update.percent is not None and not update.terminal:
        parts.append(f"{update.percent}%")
    return ", ".join(parts)


class Progress:
    """The job's status, step and elapsed time while ``wait`` runs: one line redrawn in
    place on a terminal, a plain line per change otherwise (logs, pipes, CI)."""

    def __init__(self, job_id: str, stream: TextIO | None = None, *, live: bool | None = None):
        self.job_id = job_id
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.started = time.monotonic()
        self.update: JobUpdate | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Progress:
        if self.live:
            self._thread = threading.Thread(target=self._animate, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.live:
            update = self.update
            ended = update is not None and update.terminal
            mark = _ENDED.get(update.status, "") if update and ended else "…"
            self._draw(f"{mark} {self._line()}\n")

    def __call__(self, update: JobUpdate) -> None:
        """``wait``'s ``on_update``."""
        self.update = update
        if not self.live:
            self.stream.write(f"[{self._elapsed()}] job {self.job_id}: {describe(update)}\n")
            self.stream.flush()

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self.started:5.1f}s"

    def _line(self) -> str:
        state = describe(self.update) if self.update else "submitted"
        return f"job {self.job_id}  {state}  {self._elapsed()}"

    def _animate(self) -> None:
        for frame in itertools.cycle(_SPINNER):
            if self._stop.wait(0.1):
                return
            self._draw(f"{frame} {self._line()}")

    def _draw(self, text: str) -> None:
        with self._lock:
            self.stream.write("\r\x1b[2K" + text)
            self.stream.flush()
