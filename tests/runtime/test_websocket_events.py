"""The events a WebSocket API's functions get, in the shape API Gateway sends them.

A ``$connect`` without a query string has no ``queryStringParameters`` (nor its
``multiValue`` twin) on AWS: captured events (aws-lambda-runtime-interface-emulator#25, the
gist noid11/4aa8933d0b5cdbcc09d377c5d65d28c1) leave both keys out, where a REST API's proxy
event sends null. Handlers written against AWS read ``event.get("queryStringParameters", {})``.
"""

from __future__ import annotations

import json
from pathlib import Path

from websockets.sync.client import connect

from aigw.local.runtime import LocalRuntime
from aigw.local.serve import LocalServer

TEMPLATE = Path(__file__).parent / "ws_query_app" / "template.yaml"


def test_a_connect_without_a_query_string_has_no_query_keys_and_is_accepted() -> None:
    with LocalRuntime(TEMPLATE) as runtime:
        server = LocalServer(runtime)
        urls = server.start()
        try:
            for path in ("/prod?name=alice", "/prod"):
                with connect(urls["WebSocket"] + path, open_timeout=10):
                    pass  # accepted: the handler did not fail
            s3, bucket = runtime.client("s3"), runtime.physical_id("Seen")
            seen = {
                name: json.loads(s3.get_object(Bucket=bucket, Key=name)["Body"].read())
                for name in ("alice", "anonymous")
            }
        finally:
            server.stop()

    assert seen["alice"]["queryStringParameters"] == {"name": "alice"}
    assert seen["alice"]["multiValueQueryStringParameters"] == {"name": ["alice"]}
    # No query string: neither key (not null), as API Gateway sends a $connect event.
    assert sorted(seen["anonymous"]) == ["headers", "multiValueHeaders"]
    assert seen["anonymous"]["headers"]["Host"]
