"""Publish an OrderPlaced event for the order in the request."""

import json
import os

import boto3

events = boto3.client("events")


def handler(event, context):
    answer = events.put_events(
        Entries=[
            {
                "EventBusName": os.environ["BUS_NAME"],
                "Source": "shop.orders",
                "DetailType": "OrderPlaced",
                "Detail": json.dumps(event),
            }
        ]
    )
    return {"failed": answer["FailedEntryCount"], "event_id": answer["Entries"][0]["EventId"]}
