"""Notifier: an SNS subscriber that records each notification in the table."""

import os

import boto3

_table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    for record in event["Records"]:
        sns = record["Sns"]
        _table.put_item(
            Item={
                "id": f"notified#{sns['MessageId']}",
                "topic": sns["TopicArn"],
                "subject": sns.get("Subject") or "",
                "message": sns["Message"],
                "attributes": {k: v["Value"] for k, v in sns["MessageAttributes"].items()},
                "function": context.function_name,
            }
        )
    return {"processed": len(event["Records"])}
