"""Records each stream batch it receives; a batch with a "poison" item fails after that."""

import json
import os
import time

import boto3

_dynamodb = boto3.client("dynamodb")


def handler(event, context):
    keys = [record["dynamodb"]["Keys"]["id"]["S"] for record in event["Records"]]
    sequence = [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]
    _dynamodb.put_item(
        TableName=os.environ["SEEN_TABLE"],
        Item={
            "id": {"S": context.aws_request_id},
            "at": {"N": str(time.time_ns())},
            "keys": {"S": json.dumps(keys)},
            "sequence": {"S": json.dumps(sequence)},
        },
    )
    poisoned = [key for key in keys if key.startswith("poison")]
    if poisoned:
        raise ValueError(f"cannot process {poisoned}")
    return {"processed": keys}
