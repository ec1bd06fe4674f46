"""Expose the in-process AWS on a localhost port for the AWS CLI and boto3 elsewhere.

moto's threaded server serves the same backends the runtime deployed into, so another
process sees the template's tables, buckets and executions; an execution started through
the endpoint runs in this process, where the handlers are.

Clients in this process that are pointed at the endpoint (the functions' S3 clients, so
that the URLs they presign reach S3 from other processes) are answered in-process, as every
other in-process call is, not by a round trip through a socket and moto's server to the
same backend: the endpoint is registered as one of moto's custom S3 endpoints, which moto's
request matcher reads as S3's own host.
"""

from __future__ import annotations

import logging
import os
from typing import Final

from moto.server import ThreadedMotoServer

#: moto's setting for S3-compatible endpoints: a comma-separated list of URLs.
CUSTOM_S3_ENDPOINTS: Final = "MOTO_S3_CUSTOM_ENDPOINTS"


class AwsEndpoint:
    """A moto server on ``host:port`` (port 0 picks a free one) until :meth:`stop`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.url = ""
        self._saved_custom_endpoints: str | None = None

    def start(self) -> str:
        # One access-log line per request would drown the runtime's own output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self._saved_custom_endpoints = os.environ.get(CUSTOM_S3_ENDPOINTS)
        os.environ[CUSTOM_S3_ENDPOINTS] = ",".join(
            filter(None, [self._saved_custom_endpoints, self.url])
        )
        return self.url

    def stop(self) -> None:
        if self._saved_custom_endpoints is None:
            os.environ.pop(CUSTOM_S3_ENDPOINTS, None)
        else:
            os.environ[CUSTOM_S3_ENDPOINTS] = self._saved_custom_endpoints
        self._server.stop()
