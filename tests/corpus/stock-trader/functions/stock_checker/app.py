"""The price of a stock: the one asked for (``{"price": n}``), else a random one."""

import random


def lambda_handler(event, context):
    price = event.get("price")
    return {"stock_price": price if price is not None else random.randint(0, 100)}
