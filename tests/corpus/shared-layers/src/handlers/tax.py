"""Add tax to a quote."""

from pricing import TAX_RATE_PERCENT


def handler(event, context):
    tax = event["net"] * TAX_RATE_PERCENT // 100
    return {**event, "tax": tax, "gross": event["net"] + tax}
