"""The churn model behind the local SageMaker endpoint ``aigw-churn``.

The training data, ``data/churn.csv`` (4,000 customers), is **synthetic**: no real churn
dataset can be downloaded here, so ``scripts/make_churn_data.py`` drew it once, seeded, from a
documented generative model in which churn is more likely with a short tenure, many support
calls, high charges, the basic plan and paperless billing (its docstring has the formula).

The model is scikit-learn's ``StandardScaler`` + ``LogisticRegression``, trained on a seeded,
stratified 80 % of the rows; the other 20 % measure it (accuracy and ROC AUC, kept with the
model). Logistic regression matches how the data was made, trains in milliseconds and is as
accurate here as gradient boosting. The fitted numbers (scaler means and scales, coefficients,
intercept) are cached as JSON in ``$AIGW_CACHE_DIR`` (default ``~/.cache/aigw``) under a hash
of the data, this module's code and the scikit-learn version, so only the first start trains
and later starts read a small file; no pickle is ever loaded. Serving applies the same
arithmetic with NumPy, checked against scikit-learn's own ``predict_proba`` at training.

Its input is the vector ``functions/predict_processing`` sends (model ``churn`` of
``aigw_common/predict_models.json``): tenure_months, monthly_charges, support_calls, plan
one-hot (basic, pro, enterprise), paperless_billing (1/0). Its output: the probabilities of
the labels ``stay`` and ``churn``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

DATA = Path(__file__).parent / "data" / "churn.csv"
PLANS = ("basic", "pro", "enterprise")
#: The encoded columns, in the order the predict pipeline sends them.
FEATURES = (
    "tenure_months",
    "monthly_charges",
    "support_calls",
    "plan_basic",
    "plan_pro",
    "plan_enterprise",
    "paperless_billing",
)
LABELS = ("stay", "churn")
SEED = 7
HOLDOUT = 0.2


class InvalidRows(ValueError):
    """Rows the model cannot score; the message says which row and why."""


@dataclass(frozen=True)
class ChurnModel:
    """A fitted scaler + logistic regression, as plain numbers."""

    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    #: Hold-out accuracy and ROC AUC, rows and training time: how good the model is.
    metrics: dict[str, float] = field(default_factory=dict)

    feature_names = FEATURES
    labels = LABELS

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        """(n, 2): each row's probabilities of stay and churn."""
        z = ((rows - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef)
        churn = 1.0 / (1.0 + np.exp(-(z + self.intercept)))
        return np.column_stack([1.0 - churn, churn])

    def validate(self, rows: list[list[float]]) -> np.ndarray:
        """The rows as a matrix; InvalidRows unless each is a well-formed encoded customer."""
        if not rows:
            raise InvalidRows("no rows to score")
        for number, row in enumerate(rows, start=1):
            if len(row) != len(FEATURES):
                raise InvalidRows(
                    f"row {number} has {len(row)} values; expected {len(FEATURES)}: "
                    + ", ".join(FEATURES)
                )
            if not all(np.isfinite(value) for value in row):
                raise InvalidRows(f"row {number}: every value must be a finite number")
            if min(row[:3]) < 0:
                raise InvalidRows(
                    f"row {number}: tenure_months, monthly_charges and support_calls "
                    "must not be negative"
                )
            plan = row[3:6]
            if any(value not in (0, 1) for value in plan) or sum(plan) != 1:
                raise InvalidRows(
                    f"row {number}: plan_basic, plan_pro, plan_enterprise must be one-hot "
                    "(exactly one 1, the others 0)"
                )
            if row[6] not in (0, 1):
                raise InvalidRows(f"row {number}: paperless_billing must be 0 or 1")
        return np.asarray(rows, dtype=float)


def read_data(path: Path = DATA) -> tuple[np.ndarray, np.ndarray]:
    """The shipped CSV, encoded as the endpoint receives it, and the churn labels."""
    features: list[list[float]] = []
    labels: list[int] = []
    with path.open(newline="") as file:
        for row in csv.DictReader(file):
            plan = [float(row["plan"] == plan) for plan in PLANS]
            features.append(
                [
                    float(row["tenure_months"]),
                    float(row["monthly_charges"]),
                    float(row["support_calls"]),
                    *plan,
                    float(row["paperless_billing"]),
                ]
            )
            labels.append(int(row["churn"]))
    return np.asarray(features), np.asarray(labels)


def train(path: Path = DATA) -> ChurnModel:
    """Fit the model on a seeded 80 % and measure it on the rest (about a second, mostly
    importing scikit-learn)."""
    started = time.perf_counter()
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features, labels = read_data(path)
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=HOLDOUT, random_state=SEED, stratify=labels
    )
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    pipeline.fit(x_train, y_train)
    scaler, regression = pipeline[0], pipeline[1]
    probabilities = pipeline.predict_proba(x_test)
    model = ChurnModel(
        mean=[float(value) for value in scaler.mean_],
        scale=[float(value) for value in scaler.scale_],
        coef=[float(value) for value in regression.coef_[0]],
        intercept=float(regression.intercept_[0]),
    )
    # Serving uses NumPy arithmetic, not the pipeline: it must give the very same answers.
    if not np.allclose(model.predict_proba(x_test), probabilities, atol=1e-9):
        raise AssertionError("the exported churn model disagrees with scikit-learn")
    metrics = {
        "accuracy": round(float(accuracy_score(y_test, pipeline.predict(x_test))), 4),
        "roc_auc": round(float(roc_auc_score(y_test, probabilities[:, 1])), 4),
        "churn_rate": round(float(labels.mean()), 4),
        "train_rows": len(y_train),
        "test_rows": len(y_test),
        "train_seconds": round(time.perf_counter() - started, 3),
    }
    return ChurnModel(**{**asdict(model), "metrics": metrics})


def cache_dir() -> Path:
    return Path(os.environ.get("AIGW_CACHE_DIR") or Path.home() / ".cache" / "aigw")


def cache_key(path: Path = DATA) -> str:
    """Changes whenever the data, the training code or scikit-learn's version does."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    digest.update(path.read_bytes())
    digest.update(Path(__file__).read_bytes())
    digest.update(version("scikit-learn").encode())
    return digest.hexdigest()[:20]


_LOCK = threading.Lock()


def load_model(path: Path = DATA) -> ChurnModel:
    """The cached model, or a freshly trained one (then cached); the cache is written
    atomically, so concurrent first starts cannot read half a file."""
    with _LOCK:
        cached = cache_dir() / f"churn-model-{cache_key(path)}.json"
        try:
            return ChurnModel(**json.loads(cached.read_text()))
        except (OSError, ValueError, TypeError):
            pass
        model = train(path)
        logger.info("trained the churn model: %s", model.metrics)
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                "w", dir=cached.parent, prefix=".churn-", delete=False
            ) as file:
                json.dump(asdict(model), file)
            os.replace(file.name, cached)
        except OSError as error:  # a read-only home: train again next time
            logger.warning("could not cache the churn model in %s: %s", cached.parent, error)
        return model


def describe(model: ChurnModel) -> dict[str, Any]:
    """The model's metadata, as the server's root page shows it."""
    return {"features": list(FEATURES), "labels": list(LABELS), "metrics": model.metrics}
