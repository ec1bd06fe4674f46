"""GET /items/{sku}: the catalog item, or the function's own 404."""

import json
import os

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE"])


def handler(event, context):
    sku = event["pathParameters"]["sku"]
    item = TABLE.get_item(Key={"sku": sku}).get("Item")
    if item is None:
        return {"statusCode": 404, "body": json.dumps({"message": f"no item {sku}"})}
    body = {**item, "stage": event["requestContext"]["stage"]}
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
