"""The price of every billable AI call, from one dated table per region (price_tables/).

Prices are exact decimals (``Decimal``), never floats: a month of sub-cent items must add
up to what the bill says. An operation, or a unit of one, that has no line in the table is
an error (:class:`MissingPrice`), never a silent $0; a line that costs $0 says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

TABLES = Path(__file__).parent / "price_tables"


class MissingPrice(LookupError):
    """The price table has no line for an operation (or unit) a pipeline calls."""


@dataclass(frozen=True)
class Price:
    service: str
    operation: str
    unit: str
    usd: Decimal
    listed: str
    source: str


@dataclass(frozen=True)
class PriceTable:
    region: str
    as_of: str
    currency: str
    prices: dict[tuple[str, str, str], Price]

    def price(self, service: str, operation: str, unit: str) -> Price:
        try:
            return self.prices[(service, operation, unit)]
        except KeyError:
            raise MissingPrice(
                f"no price for {service} {operation} per {unit} in the {self.region} table "
                f"of {self.as_of} ({TABLES.name}/{self.region}.json)"
            ) from None

    def operations(self) -> set[tuple[str, str]]:
        return {(service, operation) for service, operation, _ in self.prices}


def regions() -> list[str]:
    return sorted(path.stem for path in TABLES.glob("*.json"))


@cache
def price_table(region: str) -> PriceTable:
    """The table for ``region``; a region without one is an error that names the file to
    add (or the template's ``PricesRegion`` parameter, to price with another region's)."""
    path = TABLES / f"{region}.json"
    if not path.is_file():
        raise MissingPrice(
            f"no price table for {region} (have: {', '.join(regions())}); add "
            f"{TABLES.name}/{region}.json or deploy with PricesRegion set to one of those"
        )
    raw = json.loads(path.read_text())
    prices: dict[tuple[str, str, str], Price] = {}
    for line in raw["prices"]:
        price = Price(
            service=line["service"],
            operation=line["operation"],
            unit=line["unit"],
            usd=Decimal(line["usd"]),
            listed=line["listed"],
            source=line["source"],
        )
        key = (price.service, price.operation, price.unit)
        if key in prices:
            raise ValueError(f"{path.name}: {key} is priced twice")
        prices[key] = price
    return PriceTable(raw["region"], raw["as_of"], raw["currency"], prices)
