"""Integration of the test API: answers with the proxy event it was given."""

import json
import time


def handler(event, context):
    if event["resource"] == "/boom":
        raise RuntimeError("the echo function failed on purpose")
    if event["resource"] == "/malformed":
        return {"statusCode": 200, "body": {"not": "a string"}}
    if event["resource"] == "/slow":
        time.sleep(0.2)
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "X-Echo": "yes"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps(event),
    }
