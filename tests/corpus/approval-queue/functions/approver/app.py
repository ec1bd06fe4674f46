"""Approve orders under 100, reject the others; unreadable messages fail alone."""

import json

import boto3

sfn = boto3.client("stepfunctions")


def handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            request = json.loads(record["body"])
            order, token = request["order"], request["token"]
        except (ValueError, KeyError):
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        if order["amount"] < 100:
            sfn.send_task_success(
                taskToken=token, output=json.dumps({"approved": True, "by": "approver"})
            )
        else:
            sfn.send_task_failure(
                taskToken=token, error="Rejected", cause=f"{order['amount']} is over the limit"
            )
    return {"batchItemFailures": failures}
