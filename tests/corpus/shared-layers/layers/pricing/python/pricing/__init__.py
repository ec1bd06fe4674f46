"""Prices in cents, shared by every function through the pricing layer."""

UNIT_PRICES = {"widget": 250, "gadget": 1200}
TAX_RATE_PERCENT = 20


def total(items: dict[str, int]) -> int:
    return sum(UNIT_PRICES[name] * count for name, count in items.items())
