"""Generate src/aigw/providers/data/churn.csv: synthetic customers for the local churn model.

No real churn dataset can be downloaded here, so the data comes from a documented generative
model. Run once; the CSV is committed and the same seed always gives the same file:

    .venv/bin/python scripts/make_churn_data.py

The model (one row per customer):

- ``plan``: basic 50 %, pro 35 %, enterprise 15 %.
- ``tenure_months``: how long the customer has stayed, exponential with a mean of 28
  months (many new customers, a long tail), whole months, capped at 72.
- ``monthly_charges``: normal around the plan's price (basic 35, pro 70, enterprise 110;
  standard deviations 8, 12, 15), at least 10, in cents.
- ``support_calls``: Poisson, 1.2 a customer on average, more on the basic plan (1.6).
- ``paperless_billing``: 60 % of customers (1/0).
- ``churn`` (1/0): drawn with probability ``sigmoid(z)`` where

      z = -1.1 - 0.07 * tenure_months + 0.55 * support_calls
          + 0.02 * (monthly_charges - 65) + 0.8 * [basic] - 0.7 * [enterprise]
          + 0.5 * paperless_billing

  so churn is more likely with a short tenure, many support calls, high charges, the basic
  plan and paperless billing; about a quarter of the customers churn.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

SEED = 20261127
ROWS = 4000
OUTPUT = Path(__file__).resolve().parents[1] / "src" / "aigw" / "providers" / "data" / "churn.csv"
COLUMNS = [
    "tenure_months",
    "monthly_charges",
    "support_calls",
    "plan",
    "paperless_billing",
    "churn",
]
PLANS = ["basic", "pro", "enterprise"]
PLAN_SHARE = [0.5, 0.35, 0.15]
PLAN_PRICE = {"basic": (35.0, 8.0), "pro": (70.0, 12.0), "enterprise": (110.0, 15.0)}


def churn_logit(
    tenure: np.ndarray,
    charges: np.ndarray,
    calls: np.ndarray,
    plan: np.ndarray,
    paperless: np.ndarray,
) -> np.ndarray:
    return (
        -1.1
        - 0.07 * tenure
        + 0.55 * calls
        + 0.02 * (charges - 65.0)
        + 0.8 * (plan == "basic")
        - 0.7 * (plan == "enterprise")
        + 0.5 * paperless
    )


def generate(rows: int = ROWS, seed: int = SEED) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    plan = rng.choice(PLANS, size=rows, p=PLAN_SHARE)
    tenure = np.minimum(np.floor(rng.exponential(28.0, size=rows)), 72).astype(int)
    mean = np.array([PLAN_PRICE[p][0] for p in plan])
    spread = np.array([PLAN_PRICE[p][1] for p in plan])
    charges = np.round(np.maximum(rng.normal(mean, spread), 10.0), 2)
    calls = rng.poisson(np.where(plan == "basic", 1.6, 1.0))
    paperless = (rng.random(rows) < 0.6).astype(int)
    probability = 1.0 / (1.0 + np.exp(-churn_logit(tenure, charges, calls, plan, paperless)))
    churn = (rng.random(rows) < probability).astype(int)
    return [
        {
            "tenure_months": int(tenure[i]),
            "monthly_charges": f"{charges[i]:.2f}",
            "support_calls": int(calls[i]),
            "plan": str(plan[i]),
            "paperless_billing": int(paperless[i]),
            "churn": int(churn[i]),
        }
        for i in range(rows)
    ]


def main() -> None:
    rows = generate()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    with OUTPUT.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    rate = sum(int(row["churn"]) for row in rows) / len(rows)
    print(f"{OUTPUT}: {len(rows)} customers, {rate:.1%} churned")


if __name__ == "__main__":
    main()
