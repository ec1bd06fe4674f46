"""Count the words of a text in DynamoDB (a type parameter default: Python 3.13+ syntax)."""

import os
from collections import Counter

import boto3

type Counts[T = int] = dict[str, T]

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE"])


def handler(event, context) -> Counts:
    words = event.get("text", "").split()
    if not words:
        raise ValueError("nothing to count")
    counts: Counts = {}
    for word, seen in Counter(words).items():
        item = TABLE.update_item(
            Key={"word": word},
            UpdateExpression="ADD seen :n",
            ExpressionAttributeValues={":n": seen},
            ReturnValues="UPDATED_NEW",
        )
        counts[word] = int(item["Attributes"]["seen"])
    return counts
