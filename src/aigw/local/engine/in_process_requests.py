"""An in-process AWS call's request is built as a WSGI environ directly, not through
werkzeug's test ``EnvironBuilder``.

moto answers an in-process call (botocore -> moto's stubber) only after turning botocore's
prepared request into a werkzeug request: ``Request.from_primitives`` hands the method,
URL, headers and body to ``Request.from_values``, which runs werkzeug's ``EnvironBuilder``
(meant for tests: IRI conversion, query parsing into a ``MultiDict``, a ``Headers`` copy
validated value by value, form and file handling) to make an environ of some twenty keys.
Under load that was about 3.5% of the local gateway's CPU, a tenth of a small GetItem's
round trip.

For the requests nearly every in-process call makes (a JSON or query body to a plain path
with no query string: DynamoDB, Step Functions, SNS, SQS, EventBridge, ...), the environ is
written out here with exactly what ``EnvironBuilder.get_environ`` puts in it; anything
else (a percent-encoded or non-ASCII path, a query string, an empty or streamed body, a
header value werkzeug would refuse) still goes through werkzeug.
tests/runtime/test_in_process_requests.py compares the two environs key by key for real
botocore requests of each protocol.
"""

from __future__ import annotations

import io
import re
import sys
from typing import Any, Final
from urllib.parse import urlsplit

from moto.core.request import Request
from werkzeug.wrappers import Request as WerkzeugRequest

from aigw.local.engine.patches import Attr, Fix

_WERKZEUG_FROM_VALUES: Final = vars(WerkzeugRequest)["from_values"].__func__

#: A path or host werkzeug leaves as it is: no IRI conversion, percent-decoding or
#: WSGI encoding changes it.
_PLAIN: Final = re.compile(r"[A-Za-z0-9/._~-]*")
_PLAIN_HOST: Final = re.compile(r"[A-Za-z0-9.:-]+")
_BUILDER_KEYS: Final = frozenset({"method", "base_url", "path", "query_string", "data", "headers"})


def _environ(
    method: str, base_url: str, path: str, body: bytes, headers: list[tuple[str, str]]
) -> dict[str, Any] | None:
    """``EnvironBuilder(...).get_environ()`` for a plain request, or None if not plain."""
    scheme, host, script_root, query, fragment = urlsplit(base_url)
    if (
        scheme not in ("http", "https")
        or not _PLAIN_HOST.fullmatch(host)
        or script_root.strip("/")
        or query
        or fragment
        or not path.startswith("/")
        or not _PLAIN.fullmatch(path)
    ):
        return None
    name, _, port = host.partition(":")
    if port and not port.isdigit():
        return None
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "REQUEST_URI": path,
        "RAW_URI": path,
        "SERVER_NAME": name,
        "SERVER_PORT": str(int(port)) if port else ("443" if scheme == "https" else "80"),
        "HTTP_HOST": host,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    content_type = None
    combined: dict[str, list[str]] = {}
    for key, value in headers:
        if type(key) is not str or type(value) is not str or "\n" in value or "\r" in value:
            return None  # werkzeug's Headers would refuse or convert it
        lowered = key.lower()
        if lowered == "content-type":
            if content_type is None:
                content_type = value  # Headers.get: the first
            continue
        if lowered == "content-length":
            continue  # measured from the body, as EnvironBuilder does
        combined.setdefault(f"HTTP_{key.upper().replace('-', '_')}", []).append(value)
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    environ["CONTENT_LENGTH"] = str(len(body))
    for key, values in combined.items():
        environ[key] = ", ".join(values)
    return environ


def _from_values(cls: type[Request], *args: Any, **kwargs: Any) -> Request:
    if not args and kwargs.keys() == _BUILDER_KEYS:  # as from_primitives calls it
        data, headers = kwargs["data"], kwargs["headers"]
        if isinstance(data, str):
            data = data.encode()
        if (
            isinstance(data, bytes)
            and data
            and isinstance(headers, list)
            and not kwargs["query_string"]
        ):
            environ = _environ(kwargs["method"], kwargs["base_url"], kwargs["path"], data, headers)
            if environ is not None:
                return cls(environ)
    return _WERKZEUG_FROM_VALUES(cls, *args, **kwargs)


FIXES: Final[list[Fix]] = [
    Fix(
        name="in-process-request-environ-built-directly",
        why="Each in-process AWS call built its request through werkzeug's test "
        "EnvironBuilder: about 3.5% of the local gateway's CPU under load.",
        upstream_bug="Request.from_primitives builds every in-process request with "
        "Request.from_values (werkzeug's EnvironBuilder), a general builder for tests.",
        patches=[Attr(Request, "from_values", classmethod(_from_values))],
    ),
]
