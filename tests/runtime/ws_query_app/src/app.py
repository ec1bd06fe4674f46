"""A $connect handler as chat samples write it; it keeps what it saw in a bucket."""

import json
import os

import boto3

QUERY_AND_HEADERS = (
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
)


def connect(event, context):
    # As chat samples read it: a missing query string is an empty one.
    name = event.get("queryStringParameters", {}).get("name", "anonymous")
    boto3.client("s3").put_object(
        Bucket=os.environ["BUCKET"],
        Key=name,
        Body=json.dumps({key: event[key] for key in QUERY_AND_HEADERS if key in event}),
    )
    return {"statusCode": 200}
