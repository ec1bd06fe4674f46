"""Expose the in-process AWS on a localhost port for the AWS CLI and boto3 elsewhere.

moto's threaded server serves the same backends the runtime deployed into, so another
process sees the template's tables, buckets and executions; an execution started through
the endpoint runs in this process, where the handlers are. Operations a local provider
answers in-process are answered by it here too (:mod:`.served_providers`).
"""

from __future__ import annotations

import logging

from moto.moto_server import threaded_moto_server
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from aigw.local.services.providers import registry
from aigw.local.services.served_providers import ProviderAnswers


class _Server(ThreadedMotoServer):
    """moto's threaded server, with the local providers in front of its backends."""

    def _server_entry(self) -> None:
        # Looked up on moto's module when the server starts, as moto's own entry does, so
        # the engine fixes that replace them there apply (reference_cycles: the backend app).
        moto = threaded_moto_server
        backends = moto.DomainDispatcherApplication(moto.create_backend_app)
        self._server = make_server(
            self._ip_address,
            self._port,
            ProviderAnswers(backends, registry),
            True,
            request_handler=moto.MotoRequestHandler,
        )
        self._server_ready_event.set()
        self._server.serve_forever()


class AwsEndpoint:
    """A moto server on ``host:port`` (port 0 picks a free one) until :meth:`stop`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server(ip_address=host, port=port, verbose=False)
        self.url = ""

    def start(self) -> str:
        # One access-log line per request would drown the runtime's own output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        self._server.stop()
