"""The gateway's jobs across an ``aigw local`` restart.

Executions do not survive a restart (the runtime does not persist the engine's state), so
a job that was QUEUED or RUNNING when the gateway stopped is marked FAILED on restore with
the retryable error ``Interrupted``: nothing stays RUNNING forever, and the client can
submit it again. It is a real transition, so it is notified like any other.
"""

from __future__ import annotations

import datetime

from aigw.local.runtime import LocalRuntime

JOBS_TABLE = "JobsTable"
UNFINISHED = ("QUEUED", "RUNNING")
INTERRUPTED = {
    "code": "Interrupted",
    "message": "aigw local stopped while the job was running; submit it again",
    "retryable": True,
}


def interrupt_unfinished_jobs(runtime: LocalRuntime) -> int:
    """Mark every QUEUED or RUNNING job FAILED (``Interrupted``); how many were."""
    if JOBS_TABLE not in runtime.resources:
        return 0
    dynamodb = runtime.client("dynamodb")
    table = runtime.physical_id(JOBS_TABLE)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    interrupted = 0
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            if item.get("status", {}).get("S") not in UNFINISHED:
                continue
            dynamodb.update_item(
                TableName=table,
                Key={"tenant_id": item["tenant_id"], "job_id": item["job_id"]},
                UpdateExpression="SET #status = :failed, #updated = :now, #error = :error",
                ConditionExpression="#status IN (:queued, :running)",
                ExpressionAttributeNames={
                    "#status": "status",
                    "#updated": "updated_at",
                    "#error": "error",
                },
                ExpressionAttributeValues={
                    ":failed": {"S": "FAILED"},
                    ":now": {"S": now},
                    ":queued": {"S": "QUEUED"},
                    ":running": {"S": "RUNNING"},
                    ":error": {
                        "M": {
                            "code": {"S": INTERRUPTED["code"]},
                            "message": {"S": INTERRUPTED["message"]},
                            "retryable": {"BOOL": True},
                        }
                    },
                },
            )
            interrupted += 1
    return interrupted
