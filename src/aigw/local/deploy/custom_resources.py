"""Custom resources (``Custom::*``, ``AWS::CloudFormation::CustomResource``) backed by a
Lambda function of the template, run at deploy time as CloudFormation runs them.

CloudFormation sends the function a ``Create`` request naming a presigned ``ResponseURL`` and
waits for the provider's JSON answer to be PUT there (``Status``, ``PhysicalResourceId``,
``Data``; a ``FAILED`` answer fails the stack with its ``Reason``). Locally the URL is a small
HTTP endpoint on 127.0.0.1 that lives for the deployment: ``urllib``, ``urllib3``
(``cfnresponse``), ``requests`` and crhelper reach it from the process and from worker
processes alike. See the custom resource request and response reference:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref.html
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: The longest answer CloudFormation reads ("The total size of the response body can't
#: exceed 4096 bytes").
MAX_RESPONSE_BYTES = 4096


def stringified(value: Any) -> Any:
    """Resource properties as CloudFormation sends them to a provider: every number and
    boolean becomes a string (``true`` -> ``"true"``, ``14`` -> ``"14"``), at any depth
    (aws-cloudformation/cloudformation-coverage-roadmap#1037)."""
    if isinstance(value, dict):
        return {key: stringified(item) for key, item in value.items()}
    if isinstance(value, list):
        return [stringified(item) for item in value]
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return value


class ResponseEndpoint:
    """Receives the providers' answers: a PUT to ``/<request id>`` is kept for ``wait``."""

    def __init__(self) -> None:
        self._answers: dict[str, bytes] = {}
        self._arrived = threading.Condition()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                endpoint._arrive(self.path.lstrip("/").split("?", 1)[0], body)
                # What S3 answers a presigned PUT.
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="aigw-custom-resource-responses", daemon=True
        )
        self._thread.start()

    def url(self, request_id: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{request_id}"

    def _arrive(self, request_id: str, body: bytes) -> None:
        with self._arrived:
            self._answers[request_id] = body
            self._arrived.notify_all()

    def wait(self, request_id: str, timeout: float) -> bytes | None:
        """The answer PUT for ``request_id``, or None if none came within ``timeout``."""
        with self._arrived:
            self._arrived.wait_for(lambda: request_id in self._answers, timeout)
            return self._answers.pop(request_id, None)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def read_response(logical_id: str, body: bytes, request: dict[str, Any]) -> dict[str, Any]:
    """The provider's answer, checked as CloudFormation checks it; ValueError says why it
    fails the resource."""
    if len(body) > MAX_RESPONSE_BYTES:
        raise ValueError(
            f"Response object is too long: {len(body)} bytes (at most {MAX_RESPONSE_BYTES})"
        )
    try:
        answer = json.loads(body)
    except ValueError:
        raise ValueError(f"the response is not JSON: {body[:200]!r}") from None
    if not isinstance(answer, dict):
        raise ValueError(f"the response is not a JSON object: {body[:200]!r}")
    status = answer.get("Status")
    if status == "FAILED":
        raise ValueError(answer.get("Reason") or "the provider answered FAILED with no Reason")
    if status != "SUCCESS":
        raise ValueError(f"the response's Status is {status!r}, not SUCCESS or FAILED")
    for key in ("RequestId", "LogicalResourceId", "StackId"):
        if key in answer and answer[key] != request[key]:
            raise ValueError(f"the response's {key} {answer[key]!r} is not the request's")
    data = answer.get("Data") or {}
    if not isinstance(data, dict):
        raise ValueError(f"the response's Data is not an object: {data!r}")
    return answer
