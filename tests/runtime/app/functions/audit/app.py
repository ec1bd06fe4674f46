"""Audit: stores every stream batch and every failed-execution event it receives in S3."""

import json
import os

import boto3

_s3 = boto3.client("s3")


def handler(event, context):
    bucket = os.environ["AUDIT_BUCKET"]
    mode = os.environ["MODE"]
    if "Records" in event:
        keys = [record["dynamodb"]["Keys"]["id"]["S"] for record in event["Records"]]
        body = {
            "mode": mode,
            "events": [record["eventName"] for record in event["Records"]],
            "keys": keys,
            "sequence": [record["dynamodb"]["SequenceNumber"] for record in event["Records"]],
        }
        key = f"stream/{event['Records'][0]['eventID']}.json"
    else:
        body = {"mode": mode, "event": event}
        key = f"rules/{event['detail']['name']}.json"
    _s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode())
    return {"stored": key}
