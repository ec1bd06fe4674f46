"""Items over an HTTP API (payload format 2.0)."""

ITEMS = {"1": {"id": "1", "name": "kettle"}}


def handler(event, context):
    if event["routeKey"] == "$default":
        return {"statusCode": 404, "body": f"nothing at {event['rawPath']}"}
    item = ITEMS.get(event["pathParameters"]["id"])
    if item is None:
        return {"statusCode": 404, "body": "no such item"}
    # 2.0: a JSON value without statusCode is the body of a 200.
    return {**item, "method": event["requestContext"]["http"]["method"]}
