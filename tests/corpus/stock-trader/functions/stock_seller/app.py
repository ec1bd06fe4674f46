"""Sell a random quantity at the checked price."""

from datetime import UTC, datetime
from random import randint
from uuid import uuid4


def lambda_handler(event, context):
    return {
        "id": str(uuid4()),
        "price": event["stock_price"],
        "type": "sell",
        "qty": randint(1, 10),
        "timestamp": datetime.now(UTC).isoformat(),
    }
