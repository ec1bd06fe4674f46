"""A request's parameters come from where AWS reads them, never from the text of its body.

moto looks for a request's parameters (and, for a JSON-protocol service, even its action)
in a query string. When the request has neither a form body nor a query string in its URL,
it parses the body itself as one (``setup_class``: ``parse_qsl(body)``). Every JSON request
reaches that fallback: DynamoDB, Step Functions, SQS, EventBridge, and Lambda's ``Invoke``,
whose body is the function's event. So text anywhere in a JSON body that reads
``&Action=DeleteTable`` became the request's ``Action``: a PutItem of an item holding that
text deleted the table and answered as if it had put the item; a job submitted to ``aigw
local`` with the text ``...&Action=DeleteStateMachine&...`` deleted the job runner (its
StartExecution input carries the text), so that job stayed QUEUED and every later submit
failed. ``&stateMachineArn=...`` in an execution's input started another state machine;
``&Qualifier=...`` in an event made Invoke look for a version that is not there.

On AWS a JSON body is a JSON document and nothing else: the action of a JSON-protocol call
is its ``X-Amz-Target`` header, and its parameters are the document's members (or, for a
REST service, the URI and the headers its model names). A form body (the Query protocol's
``Action=...&...``, ``application/x-www-form-urlencoded``) is still read as one. Here a
body is JSON when its content type says so (``application/json``,
``application/x-amz-json-1.0`` / ``1.1``) or, without one (Lambda's Invoke sends none), when
it begins as a JSON document does; moto then takes it as one opaque key, which is what it
already did with every JSON body that happened to have no ``&`` or ``=`` in it.

And Lambda's ``Invoke`` read its ``Qualifier`` as moto's ``_get_param("qualifier")``: not
the ``Qualifier`` query parameter botocore sends (the model's ``location: querystring``),
which it never found, but a top-level ``qualifier`` member of the event, if any. An event
``{"qualifier": "x"}`` failed with ResourceNotFoundException, and ``Qualifier="2"`` invoked
``$LATEST``. The qualifier now comes from the query parameter only.
"""

from __future__ import annotations

import threading
from typing import Any, Final
from urllib.parse import parse_qsl

from moto.awslambda.responses import LambdaResponse
from moto.core import responses
from moto.core.responses import BaseResponse

from aigw.local.engine.patches import Attr, Fix, Wrap

#: Content types of a JSON body: the JSON protocol's and the REST-JSON protocol's.
_JSON_TYPES: Final = (
    "application/json",
    "application/x-amz-json-1.0",
    "application/x-amz-json-1.1",
)
#: How a JSON document can begin (after white space): an object, an array or a string.
_JSON_STARTS: Final = ("{", "[", '"')

_request = threading.local()


def _is_json(request: Any) -> bool:
    return (getattr(request, "mimetype", "") or "") in _JSON_TYPES


def _setup_class(inner: Any, response: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
    # setup_class may be entered again inside itself (CloudFormation hands a request on).
    outer = getattr(_request, "json_body", False)
    _request.json_body = _is_json(request)
    try:
        return inner(response, request, *args, **kwargs)
    finally:
        _request.json_body = outer


def _body_as_query_string(body: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, Any]]:
    """``parse_qsl`` for setup_class's fallback: a JSON body is one opaque key."""
    if getattr(_request, "json_body", False) or (
        isinstance(body, str) and body.lstrip().startswith(_JSON_STARTS)
    ):
        return [(body, "")]
    return parse_qsl(body, *args, **kwargs)


def _get_param(inner: Any, response: LambdaResponse, name: str, if_none: Any = None) -> Any:
    """Lower-case ``qualifier`` (Invoke's, alone) is the ``Qualifier`` query parameter."""
    if name == "qualifier":
        values = response.querystring.get("Qualifier")
        return values[0] if isinstance(values, list) and values else if_none
    return inner(response, name, if_none)


FIXES: Final[list[Fix]] = [
    Fix(
        name="json-body-not-read-as-a-query-string",
        why="A JSON request's text must never become its parameters: a PutItem, "
        "StartExecution or Invoke whose data holds '&Action=DeleteTable' (or "
        "'&Action=DeleteStateMachine', '&stateMachineArn=...', '&Qualifier=...') ran that "
        "action or took that parameter: a user's job text deleted the job runner.",
        upstream_bug="BaseResponse.setup_class parses the body as a query string when the "
        "request has no form and no URL query string, which is every JSON request; "
        "_get_action then takes querystring['Action'] before X-Amz-Target, and "
        "_get_param takes querystring values before the JSON document's members.",
        patches=[
            Wrap(BaseResponse, "setup_class", _setup_class),
            Attr(responses, "parse_qsl", _body_as_query_string),
        ],
    ),
    Fix(
        name="lambda-invoke-qualifier-from-the-query-string",
        why="Invoke's Qualifier is a query parameter (botocore's model: location "
        "querystring, name Qualifier): an event with a top-level 'qualifier' member must "
        "reach $LATEST, and Qualifier='2' must reach version 2 or fail as not found.",
        upstream_bug="LambdaResponse.invoke reads _get_param('qualifier'): lower case, so "
        "the query parameter is never found, and _get_param falls back to the event's own "
        "top-level 'qualifier' member.",
        patches=[Wrap(LambdaResponse, "_get_param", _get_param)],
    ),
]
