"""Worker: the Lambda task of the test pipeline."""

import os
import threading

import boto3

TABLE_NAME = os.environ["TABLE_NAME"]  # read at import, under this function's environment
_dynamodb = boto3.client("dynamodb")
_sfn = boto3.client("stepfunctions")


class TransientError(Exception):
    """A failure worth retrying."""


def _attempt(key: str) -> int:
    item = _dynamodb.update_item(
        TableName=TABLE_NAME,
        Key={"id": {"S": f"attempts#{key}"}},
        UpdateExpression="ADD attempts :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    return int(item["Attributes"]["attempts"]["N"])


def _complete_later(token: str, outcome: str) -> None:
    if outcome == "approve":
        _sfn.send_task_success(taskToken=token, output='{"approved": true}')
    else:
        _sfn.send_task_failure(taskToken=token, error="Declined", cause=f"reviewer said {outcome}")


def handler(event, context):
    action = event["action"]
    mode = os.environ["MODE"]
    if action == "echo":
        return {"status": "done", "value": event.get("value", event["id"]), "mode": mode}
    if action == "flaky":
        attempt = _attempt(event["execution"]["name"])
        if attempt <= int(event.get("fail_times", 0)):
            raise TransientError(f"attempt {attempt} failed")
        return {"status": "done", "value": f"succeeded on attempt {attempt}", "mode": mode}
    if action == "crash":
        raise ValueError("the worker crashed")
    if action == "reject":
        return {"status": "rejected", "value": None, "mode": mode}
    if action in ("approve", "decline"):
        return {"status": "await-callback", "value": action, "mode": mode}
    if action == "callback":
        # As a real callback would, complete the token from elsewhere, after returning.
        threading.Timer(0.01, _complete_later, (event["task_token"], event["outcome"])).start()
        return {"accepted": True, "remaining_ms": context.get_remaining_time_in_millis()}
    raise ValueError(f"unknown action {action!r}")
