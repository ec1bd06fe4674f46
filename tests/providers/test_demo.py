"""`make demo` keeps working: its script, run as the Makefile runs it, pushes one job per
pipeline through `aigw local` with the real offline models, shows their usage and exits 0
only if all succeed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_given_the_samples_when_the_demo_runs_then_every_pipeline_succeeds() -> None:
    finished = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py"), "--timeout", "240"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )

    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-2000:]
    output = finished.stdout
    assert "All 6 jobs succeeded" in output
    # What the samples hold, read by the real models: the invoice's total by OCR, the
    # review's tone and e-mail address, the photo's face, the churn risk.
    assert "1,234.00 EUR" in output
    assert "Sentiment: NEGATIVE" in output
    assert "jane.doe@example.com" in output
    assert "Faces: 1" in output
    assert "Prediction: churn" in output
    assert "Translation (es → en)" in output
    # It ends with the tenant's usage: the six jobs counted and priced, by pipeline.
    usage = output.split("Usage and AI cost (aigw usage --group-by pipeline):")[1]
    assert ": 6 jobs (0 from the cache, 0 without a result), AI cost $" in usage
    counted = dict(re.findall(r"^  ([a-z-]+)\s+(\d+)\s+\$", usage, re.MULTILINE))
    assert counted == {
        "document-insights": "2",
        "image-insights": "1",
        "predict": "1",
        "text-insights": "2",
    }
    assert "textract StartDocumentTextDetection (page)" in usage
    # Every job was followed on the WebSocket API from RUNNING to SUCCEEDED.
    told: dict[str, list[str]] = {}
    for title, status in re.findall(r"\[\s*[\d.]+ s\] (.+?)\s+([A-Z_]+)$", output, re.MULTILINE):
        told.setdefault(title, []).append(status)
    assert len(told) == 6, told
    for title, statuses in told.items():
        assert "RUNNING" in statuses and statuses[-1] == "SUCCEEDED", (title, statuses)
