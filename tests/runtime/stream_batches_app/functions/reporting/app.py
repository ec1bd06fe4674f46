"""Records each stream batch it receives, then reports as failed (batchItemFailures) the
records its item tells it to: "fail": "once" (the first time it sees it), "always", or
"unknown" (names a sequence number that is in no batch, the first time)."""

import json
import os
import time

import boto3

_dynamodb = boto3.client("dynamodb")


def _first_time(marker: str) -> bool:
    try:
        _dynamodb.put_item(
            TableName=os.environ["SEEN_TABLE"],
            Item={"id": {"S": marker}},
            ConditionExpression="attribute_not_exists(id)",
        )
    except _dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    return True


def handler(event, context):
    records = event["Records"]
    _dynamodb.put_item(
        TableName=os.environ["SEEN_TABLE"],
        Item={
            "id": {"S": f"batch#{context.aws_request_id}"},
            "at": {"N": str(time.time_ns())},
            "keys": {"S": json.dumps([r["dynamodb"]["Keys"]["id"]["S"] for r in records])},
            "sequence": {"S": json.dumps([r["dynamodb"]["SequenceNumber"] for r in records])},
        },
    )
    failures = []
    for record in records:
        key = record["dynamodb"]["Keys"]["id"]["S"]
        fail = record["dynamodb"].get("NewImage", {}).get("fail", {}).get("S")
        number = record["dynamodb"]["SequenceNumber"]
        if fail == "always" or (fail == "once" and _first_time(f"failed#{key}")):
            failures.append({"itemIdentifier": number})
        elif fail == "unknown" and _first_time(f"failed#{key}"):
            failures.append({"itemIdentifier": "1" * 22})
    # Not in the order of the batch: Lambda retries from the lowest sequence number.
    return {"batchItemFailures": failures[::-1]}
