"""GET /prices/{symbol}?currency=: the price of a symbol."""

import json

PRICES = {"ACME": 42, "GLOBEX": 250}


def handler(event, context):
    symbol = event["pathParameters"]["symbol"]
    currency = (event.get("queryStringParameters") or {}).get("currency", "USD")
    if symbol not in PRICES:
        return {"statusCode": 404, "body": json.dumps({"message": f"unknown symbol {symbol}"})}
    body = {"symbol": symbol, "price": PRICES[symbol], "currency": currency}
    return {"statusCode": 200, "body": json.dumps(body)}
