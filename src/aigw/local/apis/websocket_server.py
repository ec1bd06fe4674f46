"""The template's API Gateway WebSocket API served on localhost, with its @connections API.

What API Gateway builds from ``AWS::ApiGatewayV2`` resources is read from the transformed
template: the ``WEBSOCKET`` API and its ``RouteSelectionExpression`` (``$request.body.X``),
its routes by ``RouteKey``, the Lambda ``REQUEST`` authorizer of ``$connect`` with its
identity sources, the ``AWS_PROXY`` integrations' functions and the stage name.
:class:`LocalWebSocketServer` then behaves as API Gateway does:

- the opening handshake runs the authorizer (a missing identity source or ``Unauthorized``
  is a 401, a Deny or non-matching policy a 403) and the ``$connect`` integration, with the
  authorizer's ``principalId`` and context in ``requestContext.authorizer``; a failing
  ``$connect`` rejects the connection;
- each message goes to the route its body selects, else ``$default``; a closed connection
  reaches ``$disconnect``;
- the ``apigatewaymanagementapi`` operations ``PostToConnection``, ``GetConnection`` and
  ``DeleteConnection`` are providers while the server runs, so the functions' unchanged
  boto3 calls reach the live sockets; an unknown or closed connection is ``GoneException``
  (410).

Not emulated: route throttling, route responses (two-way routes), API mappings, the
2-hour and 10-minute idle connection limits, and checking which API an @connections call
names (the server answers for every endpoint URL).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request as HandshakeRequest
from websockets.http11 import Response as HandshakeResponse
from websockets.protocol import State
from websockets.sync.server import Server, ServerConnection, serve

from aigw.local.apis.api_definition import RestApiError, _function_arn
from aigw.local.apis.rest_api import _evaluate, read_json
from aigw.local.lambdas.bridge import UnknownFunctionError
from aigw.local.services.providers import ServiceError

if TYPE_CHECKING:
    from aigw.local.runtime import LocalRuntime

__all__ = ["LocalWebSocketServer", "WebSocketApiDefinition"]

LOG = logging.getLogger("aigw.local.websocket")


class _CredentialFilter(logging.Filter):
    """Keeps credentials out of the websockets library's debug log of each handshake: the
    values of credential headers, and of query parameters that carry keys. API Gateway
    logs neither (its access log names only what its format asks for)."""

    HEADERS = frozenset({"authorization", "x-api-key", "cookie"})
    _QUERY_SECRET = re.compile(r"([?&](?:api_key|ticket)=)[^&\s]*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.msg in ("< %s: %s", "> %s: %s") and isinstance(args, tuple) and len(args) == 2:
            if str(args[0]).lower() in self.HEADERS:
                record.args = (args[0], "***")
        elif record.msg == "< %s %s %s" and isinstance(args, tuple) and len(args) == 3:
            record.args = (args[0], self._QUERY_SECRET.sub(r"\1***", str(args[1])), args[2])
        return True


#: The websockets library's log for the server, without credentials.
_PROTOCOL_LOG = logging.getLogger("aigw.local.websocket.protocol")
_PROTOCOL_LOG.addFilter(_CredentialFilter())

_BODY_SELECTION = re.compile(r"^\$request\.body\.(?P<path>[\w.]+)$")
#: How long an @connections call waits for an accepted connection's 101 to be sent.
_HANDSHAKE_SEND_TIMEOUT = 10.0
_IDENTITY_SOURCES = ("route.request.header.", "route.request.querystring.", "stageVariables.")


@dataclass(frozen=True)
class _Authorizer:
    name: str
    function_arn: str
    identity_sources: list[str]  # route.request.querystring.api_key, …


@dataclass(frozen=True)
class _Route:
    key: str
    function_arn: str | None  # None: a route without an integration accepts and ignores
    authorizer: _Authorizer | None


@dataclass
class WebSocketApiDefinition:
    """One WebSocket API as API Gateway would build it from the template."""

    api_id: str
    stage: str
    region: str
    account_id: str
    selection_path: list[str]  # $request.body.action → ["action"]
    routes: dict[str, _Route]
    stage_variables: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_runtime(
        cls, runtime: LocalRuntime, logical_id: str | None = None
    ) -> WebSocketApiDefinition:
        """The runtime template's WebSocket API (the only one, or ``logical_id``)."""
        template = runtime.template
        if template is None:
            raise RuntimeError("the runtime is not started")
        resources = {
            lid: (res.type, runtime.resolve(res.properties))
            for lid, res in template.resources.items()
            if res.type.startswith("AWS::ApiGatewayV2::")
        }
        apis = [
            lid
            for lid, (rtype, props) in resources.items()
            if rtype == "AWS::ApiGatewayV2::Api" and props.get("ProtocolType") == "WEBSOCKET"
        ]
        if logical_id is None:
            if len(apis) != 1:
                raise RestApiError(f"the template has {len(apis)} WebSocket APIs {apis}: name one")
            logical_id = apis[0]
        elif logical_id not in apis:
            raise RestApiError(f"{logical_id} is not a WEBSOCKET AWS::ApiGatewayV2::Api: {apis}")
        api_ref = runtime.physical_id(logical_id)
        expression = resources[logical_id][1].get("RouteSelectionExpression", "")
        selection = _BODY_SELECTION.match(expression)
        if selection is None:
            raise RestApiError(
                f"{logical_id}: RouteSelectionExpression {expression!r} is not served locally "
                "(only $request.body.<path>)"
            )
        # Everything else that belongs to the API, by type, with its physical id.
        of_api: dict[str, dict[str, dict[str, Any]]] = {}
        for lid, (rtype, props) in resources.items():
            if props.get("ApiId") == api_ref:
                of_api.setdefault(rtype, {})[runtime.physical_id(lid)] = props
        stages = list(of_api.get("AWS::ApiGatewayV2::Stage", {}).values())
        if len(stages) != 1:
            raise RestApiError(f"{logical_id} has {len(stages)} stages: one is served locally")
        integrations = of_api.get("AWS::ApiGatewayV2::Integration", {})
        authorizers = of_api.get("AWS::ApiGatewayV2::Authorizer", {})
        routes = {}
        for props in of_api.get("AWS::ApiGatewayV2::Route", {}).values():
            key = props["RouteKey"]
            arn = None
            if target := props.get("Target"):
                integration = integrations.get(str(target).removeprefix("integrations/"))
                if integration is None or integration.get("IntegrationType") != "AWS_PROXY":
                    raise RestApiError(f"route {key}: only AWS_PROXY integrations are served")
                arn = _function_arn(integration.get("IntegrationUri"), f"route {key}")
            authorizer = None
            if props.get("AuthorizationType", "NONE") not in ("NONE", "CUSTOM"):
                raise RestApiError(f"route {key}: {props['AuthorizationType']} is not served")
            if props.get("AuthorizationType") == "CUSTOM":
                authorizer = _authorizer(key, authorizers.get(props.get("AuthorizerId")))
            routes[key] = _Route(key, arn, authorizer)
        seed = f"{template.account_id}/{template.region}/{template.stack_name}/{logical_id}"
        return cls(
            api_id=hashlib.sha256(seed.encode()).hexdigest()[:10],  # like a real API id
            stage=stages[0]["StageName"],
            region=template.region,
            account_id=template.account_id,
            selection_path=selection.group("path").split("."),
            routes=routes,
            stage_variables={k: str(v) for k, v in (stages[0].get("StageVariables") or {}).items()},
        )

    def select(self, message: str) -> str:
        """The route key a message selects: its body's value at the selection path when a
        route has that key (never ``$connect`` or ``$disconnect``), else ``$default``."""
        try:
            value: Any = read_json(message)
            for part in self.selection_path:
                value = value[part]
        except (ValueError, TypeError, KeyError, IndexError):
            return "$default"
        selected = isinstance(value, str) and value in self.routes and not value.startswith("$")
        return value if selected else "$default"


def _authorizer(route: str, props: dict[str, Any] | None) -> _Authorizer:
    if props is None or props.get("AuthorizerType") != "REQUEST":
        raise RestApiError(f"route {route}: only Lambda REQUEST authorizers are served")
    sources = props.get("IdentitySource") or []
    if unknown := [source for source in sources if not source.startswith(_IDENTITY_SOURCES)]:
        raise RestApiError(f"authorizer {props.get('Name')}: identity sources {unknown}")
    return _Authorizer(
        props.get("Name", ""),
        _function_arn(props.get("AuthorizerUri"), f"authorizer {props.get('Name')}"),
        sources,
    )


def _token() -> str:
    """A connection or request id shaped like API Gateway's (``L0SM9cOFvHcCIhw=``)."""
    return base64.urlsafe_b64encode(os.urandom(11)).decode()


class _Rejected(Exception):
    """API Gateway answers by itself: a refused handshake (``status``), or its error
    message on the socket."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class _Client:
    """One connection as API Gateway knows it, from the moment ``$connect`` accepted it."""

    connection_id: str
    socket: _Connection
    domain: str
    source_ip: str
    user_agent: str | None
    connected_at: float
    last_active: float
    authorizer: dict[str, Any] | None = None
    #: Set once the handshake's answer is sent (or failed): the client may use it from then on.
    handshaken: threading.Event = field(default_factory=threading.Event)


class _Connection(ServerConnection):
    """A server connection that reports the end of its opening handshake.

    The client can act (and the functions can post to it) as soon as the ``101`` is sent,
    before the connection handler runs; the report closes that gap.
    """

    client: _Client | None = None  # set when $connect accepted the connection
    on_handshake: Callable[[_Client], None] | None = None

    def handshake(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().handshake(*args, **kwargs)
        finally:
            if self.client is not None and self.on_handshake is not None:
                self.on_handshake(self.client)


class LocalWebSocketServer:
    """Serves the runtime template's WebSocket API on ``host:port`` (0 picks a free port)
    from :meth:`start` to :meth:`stop`."""

    def __init__(
        self,
        runtime: LocalRuntime,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        logical_id: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.definition = WebSocketApiDefinition.from_runtime(runtime, logical_id)
        self.host, self.port = host, port
        self._lock = threading.Lock()
        self._clients: dict[str, _Client] = {}  # accepted by $connect, not yet closed
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._providers: contextlib.ExitStack | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def start(self) -> str:
        """Listen, serve and answer the @connections API; returns the URL to connect to."""
        if self._server is not None:
            raise RuntimeError(f"already serving on {self.url}")
        self._server = serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._connect,
            create_connection=_Connection,
            logger=_PROTOCOL_LOG,
        )
        self.port = self._server.socket.getsockname()[1]
        providers = contextlib.ExitStack()
        for operation, provider in [
            ("PostToConnection", self._post_to_connection),
            ("GetConnection", self._get_connection),
            ("DeleteConnection", self._delete_connection),
        ]:
            providers.enter_context(
                self.runtime.providers.override("apigatewaymanagementapi", operation, provider)
            )
        self._providers = providers
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"aigw-ws-{self.port}"
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Close every connection (each reaches ``$disconnect``), release the port, join the
        threads and give the @connections operations back to whoever answered them before
        (servers sharing a runtime stop in the reverse order of their start)."""
        server, thread, providers = self._server, self._thread, self._providers
        if server is None or thread is None or providers is None:
            return
        server.shutdown()  # closes connections with 1001 and waits for their handlers
        thread.join()
        providers.close()
        self._server = self._thread = self._providers = None

    def __enter__(self) -> LocalWebSocketServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ connections
    def _connect(
        self, connection: ServerConnection, request: HandshakeRequest
    ) -> HandshakeResponse | None:
        """The opening handshake: authorize and run ``$connect``, or refuse the connection."""
        assert isinstance(connection, _Connection)
        url = urlsplit(request.path)
        if url.path.rstrip("/") not in ("", f"/{self.definition.stage}"):
            return _reject(connection, _Rejected(404, "Not Found"))
        headers = list(request.headers.raw_items())
        query = parse_qsl(url.query, keep_blank_values=True)
        host, source_ip = request.headers.get("Host"), connection.remote_address[0]
        now = time.time()
        client = _Client(
            connection_id=_token(),
            socket=connection,
            domain=host
            or f"{self.definition.api_id}.execute-api.{self.definition.region}.amazonaws.com",
            source_ip=source_ip,
            user_agent=request.headers.get("User-Agent"),
            connected_at=now,
            last_active=now,
        )
        event = {
            **_multi("headers", headers),
            **_multi("queryStringParameters", query),
            "stageVariables": self.definition.stage_variables,
            "requestContext": self._context(client, "$connect", "CONNECT"),
        }
        route = self.definition.routes.get("$connect")
        try:
            if route is not None and route.authorizer is not None:
                started = time.perf_counter()
                client.authorizer = self._authorize(route.authorizer, event, headers, query)
                client.authorizer["integrationLatency"] = int(
                    (time.perf_counter() - started) * 1000
                )
                event["requestContext"]["authorizer"] = client.authorizer
            if route is not None and route.function_arn is not None:
                answer = self._invoke(route.function_arn, {**event, "isBase64Encoded": False})
                status = answer.get("statusCode", 200) if isinstance(answer, dict) else 200
                if not 200 <= int(status) < 300:
                    raise _Rejected(int(status), "Forbidden")
        except _Rejected as rejected:
            return _reject(connection, rejected)
        with self._lock:
            self._clients[client.connection_id] = client
        connection.client, connection.on_handshake = client, self._handshaken
        return None

    def _handshaken(self, client: _Client) -> None:
        client.handshaken.set()
        if client.socket.state is not State.OPEN:  # the 101 never reached the client
            self._disconnect(client)

    def _authorize(
        self,
        authorizer: _Authorizer,
        event: dict[str, Any],
        headers: list[tuple[str, str]],
        query: list[tuple[str, str]],
    ) -> dict[str, Any]:
        """The authorizer's principal and context when it allows ``$connect``."""
        lower_headers = {name.lower(): value for name, value in headers}
        values = {
            "route.request.header.": lambda name: lower_headers.get(name.lower()),
            "route.request.querystring.": dict(query).get,
            "stageVariables.": self.definition.stage_variables.get,
        }
        for source in authorizer.identity_sources:
            prefix = next(prefix for prefix in values if source.startswith(prefix))
            if not values[prefix](source.removeprefix(prefix)):
                raise _Rejected(401, "Unauthorized")
        method_arn = (
            f"arn:aws:execute-api:{self.definition.region}:{self.definition.account_id}:"
            f"{self.definition.api_id}/{self.definition.stage}/$connect"
        )
        try:
            result = self.runtime.bridge.invoke(
                authorizer.function_arn, {"type": "REQUEST", "methodArn": method_arn, **event}
            )
        except UnknownFunctionError:
            LOG.error("authorizer %s: no function %s", authorizer.name, authorizer.function_arn)
            raise _Rejected(500, "Internal server error") from None
        answer = result.json()
        if result.function_error:
            if answer.get("errorMessage") == "Unauthorized":
                raise _Rejected(401, "Unauthorized")
            LOG.warning("authorizer %s failed: %s", authorizer.name, answer.get("errorMessage"))
            raise _Rejected(500, "Internal server error")
        try:
            effect, principal_id, context = _evaluate(answer, method_arn)
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            LOG.warning("authorizer %s answered %r: %r", authorizer.name, answer, error)
            raise _Rejected(500, "Internal server error") from None
        if effect != "Allow":
            raise _Rejected(403, "Forbidden")
        return {"principalId": principal_id, **context}

    def _handle(self, connection: ServerConnection) -> None:
        """A connected client: its messages in order, then ``$disconnect``."""
        assert isinstance(connection, _Connection) and connection.client is not None
        client = connection.client
        try:
            for message in _messages(connection):
                client.last_active = time.time()
                self._message(client, message)
        finally:
            self._disconnect(client)

    def _disconnect(self, client: _Client) -> None:
        """Forget the connection and run ``$disconnect``: whatever ``$connect`` accepted
        reaches it once."""
        with self._lock:
            self._clients.pop(client.connection_id, None)
        _release(client)
        route = self.definition.routes.get("$disconnect")
        if route is None or route.function_arn is None:
            return
        context = self._context(client, "$disconnect", "DISCONNECT")
        context["disconnectStatusCode"] = client.socket.close_code or 1006
        context["disconnectReason"] = client.socket.close_reason or ""
        event = {
            **_multi("headers", [("Host", client.domain)]),
            "requestContext": context,
            "isBase64Encoded": False,
        }
        with contextlib.suppress(_Rejected):  # logged; nobody is left to tell
            self._invoke(route.function_arn, event)

    def _message(self, client: _Client, message: str | bytes) -> None:
        text = message if isinstance(message, str) else None
        route = self.definition.routes.get(
            self.definition.select(text) if text is not None else "$default"
        )
        context = self._context(client, route.key if route else "$default", "MESSAGE")
        context["messageId"] = _token()
        try:
            if route is None:
                raise _Rejected(403, "Forbidden")
            if route.function_arn is not None:
                self._invoke(
                    route.function_arn,
                    {
                        "requestContext": context,
                        "body": text if text is not None else base64.b64encode(message).decode(),
                        "isBase64Encoded": text is None,
                    },
                )
        except _Rejected as rejected:
            # API Gateway's own answer on the socket, as it sends it.
            answer = {
                "message": rejected.message,
                "connectionId": client.connection_id,
                "requestId": context["requestId"],
            }
            with contextlib.suppress(ConnectionClosed):
                client.socket.send(json.dumps(answer))

    def _invoke(self, arn: str, event: dict[str, Any]) -> Any:
        """The integration's answer; a failing function is API Gateway's 500, and logged."""
        try:
            result = self.runtime.bridge.invoke(arn, event)
        except UnknownFunctionError:
            LOG.error("no function %s in the template", arn)
            raise _Rejected(500, "Internal server error") from None
        answer = result.json()
        if result.function_error:
            route = event["requestContext"]["routeKey"]
            LOG.warning("%s (%s) failed: %s", arn, route, (answer or {}).get("errorMessage"))
            raise _Rejected(500, "Internal server error")
        return answer

    def _context(self, client: _Client, route_key: str, event_type: str) -> dict[str, Any]:
        now = time.time()
        request_id = _token()
        context: dict[str, Any] = {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "messageDirection": "IN",
            "stage": self.definition.stage,
            "connectedAt": int(client.connected_at * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"userAgent": client.user_agent, "sourceIp": client.source_ip},
            "requestId": request_id,
            "domainName": client.domain,
            "connectionId": client.connection_id,
            "apiId": self.definition.api_id,
        }
        if client.authorizer is not None:
            context["authorizer"] = client.authorizer
        return context

    # ------------------------------------------------------------------ @connections API
    def _connected(self, params: dict[str, Any]) -> _Client:
        with self._lock:
            client = self._clients.get(params["ConnectionId"])
        if client is not None:
            client.handshaken.wait(_HANDSHAKE_SEND_TIMEOUT)
        if client is None or client.socket.state is not State.OPEN:
            raise ServiceError("GoneException", f"connection {params['ConnectionId']} is gone")
        return client

    def _post_to_connection(self, params: dict[str, Any]) -> dict[str, Any]:
        client = self._connected(params)
        data = params["Data"]
        if isinstance(data, bytes):
            with contextlib.suppress(UnicodeDecodeError):
                data = data.decode()  # sent as a text frame, as API Gateway does with text
        try:
            client.socket.send(data)
        except ConnectionClosed:
            raise ServiceError(
                "GoneException", f"connection {client.connection_id} is gone"
            ) from None
        return {}

    def _get_connection(self, params: dict[str, Any]) -> dict[str, Any]:
        client = self._connected(params)
        return {
            "ConnectedAt": datetime.fromtimestamp(client.connected_at, UTC),
            "Identity": {"SourceIp": client.source_ip, "UserAgent": client.user_agent or ""},
            "LastActiveAt": datetime.fromtimestamp(client.last_active, UTC),
        }

    def _delete_connection(self, params: dict[str, Any]) -> dict[str, Any]:
        client = self._connected(params)
        client.socket.close()
        return {}


def _release(client: _Client) -> None:
    """Unlink a gone connection from its record (the record keeps the socket, for the
    close code $disconnect reports): they point at each other, and a cycle
    (with the socket's buffers and compression state, about 40 KiB) would wait for a full
    collection, which `aigw local` makes rare."""
    client.socket.client = None
    client.socket.on_handshake = None


def _messages(connection: ServerConnection) -> Iterator[str | bytes]:
    """The connection's messages until it closes, however it closes."""
    try:
        yield from connection
    except ConnectionClosed:
        return


def _multi(name: str, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``name`` (the last value of each) and its ``multiValue`` twin, as API Gateway sends;
    neither key when there are no pairs: a WebSocket event leaves them out (a ``$connect``
    without a query string has no ``queryStringParameters``), where a REST API's proxy event
    sends null, so ``event.get("queryStringParameters", {})`` works as on AWS."""
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    if not multi:
        return {}
    single = {key: values[-1] for key, values in multi.items()}
    return {name: single, f"multiValue{name[0].upper()}{name[1:]}": multi}


def _reject(connection: ServerConnection, rejected: _Rejected) -> HandshakeResponse:
    response = connection.respond(rejected.status, json.dumps({"message": rejected.message}))
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response
