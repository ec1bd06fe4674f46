"""Start a restock workflow for every product the stream brings."""

import json
import os

import boto3

sfn = boto3.client("stepfunctions")


def handler(event, context):
    for record in event["Records"]:
        image = record["dynamodb"]["NewImage"]
        sfn.start_execution(
            stateMachineArn=os.environ["MACHINE_ARN"],
            name=f"restock-{image['sku']['S']}",
            input=json.dumps({"sku": image["sku"]["S"]}),
        )
