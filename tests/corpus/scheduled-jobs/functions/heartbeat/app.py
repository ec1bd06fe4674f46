"""Record one beat: what started it and when."""

import os
import uuid
from datetime import UTC, datetime

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE"])


def handler(event, context):
    table.put_item(
        Item={
            "id": str(uuid.uuid4()),
            "source": event.get("source", "direct"),
            "at": datetime.now(UTC).isoformat(),
        }
    )
