"""Catalogue every photo S3 tells us about (the notification's records)."""

import json
import os

import boto3

s3 = boto3.client("s3")


def handler(event, context):
    for record in event["Records"]:
        photo = record["s3"]["object"]
        s3.put_object(
            Bucket=os.environ["CATALOGUE"],
            Key=f"catalogue/{photo['key']}.json",
            Body=json.dumps({"bucket": record["s3"]["bucket"]["name"], "size": photo["size"]}),
        )
