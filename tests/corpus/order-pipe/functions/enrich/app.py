"""A pipe's enrichment: each SQS record of the batch becomes an order with its tier."""

import json

TIERS = {"ana": "gold"}


def handler(event, context):
    orders = []
    for record in event:
        order = json.loads(record["body"])
        orders.append({**order, "tier": TIERS.get(order["customer"], "standard")})
    return orders
