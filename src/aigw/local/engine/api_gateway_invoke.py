"""``arn:aws:states:::apigateway:invoke`` to an API of the template, answered in-process.

moto's engine (ported from LocalStack) sends the request with ``requests`` to
``<ApiEndpoint>/<Stage>/_user_request_/<Path>``, LocalStack's URL scheme, which reaches
nothing offline. Here an ``ApiEndpoint`` of the form
``<api-id>.execute-api.<region>.amazonaws.com`` that names an API of the running template
is answered by the runtime's API Gateway emulation (authorizers, validation and
integrations included); the task's output is AWS's ``{Headers, ResponseBody, StatusCode,
StatusText}``, a non-2XX answer fails the task with ``ApiGateway.<status>``. Another
endpoint goes the engine's way.
"""

from __future__ import annotations

import http
import json
import re
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlencode

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_api_gateway as api_gateway_task,
)

from aigw.local.engine.patches import Attr, Fix

#: The runtime's API for an API id (set by the running LocalRuntime), or None.
ApiRouter = Callable[[str], Any]
_router: list[ApiRouter] = []
_ENDPOINT = re.compile(r"^(?:https?://)?(?P<api>[a-z0-9]+)\.execute-api\.[^./]+\.amazonaws\.com/?$")
_ORIGINAL: Final = api_gateway_task.StateTaskServiceApiGateway._eval_service_task


def set_api_router(router: ApiRouter | None) -> None:
    """Answer apigateway:invoke tasks for the APIs ``router`` knows (None: none)."""
    _router.clear()
    if router is not None:
        _router.append(router)


class _Answer:
    """What the engine's error path reads from a requests.Response."""

    def __init__(self, status: int, text: str) -> None:
        self.status_code, self.text = status, text


def _eval_service_task(
    self: Any,
    env: Any,
    resource_runtime_part: Any,
    normalised_parameters: dict[str, Any],
    state_credentials: Any = None,
) -> None:
    parameters = normalised_parameters
    match = _ENDPOINT.match(str(parameters.get("ApiEndpoint", "")))
    api = _router[0](match.group("api")) if match and _router else None
    if api is None:
        _ORIGINAL(self, env, resource_runtime_part, normalised_parameters, state_credentials)
        return
    from aigw.local.apis.rest_api import Request

    path = "/".join(
        part.strip("/")
        for part in (parameters.get("Stage", ""), parameters.get("Path", ""))
        if part
    )
    query = {
        key: values[-1] if isinstance(values, list) and values else values
        for key, values in (parameters.get("QueryParameters") or {}).items()
    }
    headers = {
        name: ",".join(values) if isinstance(values, list) else str(values)
        for name, values in (parameters.get("Headers") or {}).items()
    }
    body = parameters.get("RequestBody")
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
    answer = api.handle(
        Request(
            method=str(parameters["Method"]).upper(),
            path="/" + path,
            headers=headers,
            query=urlencode(query) if query else None,
            body=json.dumps(body) if body is not None and not isinstance(body, str) else body,
        )
    )
    if not 200 <= answer.status < 300:
        raise api_gateway_task.SfnGatewayException(
            parameters=parameters, response=_Answer(answer.status, answer.body)
        )
    try:
        response_body: Any = json.loads(answer.body) if answer.body else {}
    except ValueError:
        response_body = answer.body
    env.stack.append(
        {
            "Headers": {name: [value] for name, value in answer.headers.items()},
            "ResponseBody": response_body,
            "StatusCode": answer.status,
            "StatusText": http.HTTPStatus(answer.status).phrase,
        }
    )


def _from_error(self: Any, env: Any, ex: Exception) -> Any:
    """The engine's error event for the task, with the environment it forgets to pass."""
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    if isinstance(ex, api_gateway_task.SfnGatewayException):
        error, cause = f"ApiGateway.{ex.response.status_code}", ex.response.text
    else:
        error, cause = f"ApiGateway.{type(ex).__name__}", str(ex)
    return FailureEvent(
        env=env,
        error_name=CustomErrorName(error),
        event_type=HistoryEventType.TaskFailed,
        event_details=EventDetails(
            taskFailedEventDetails=TaskFailedEventDetails(
                error=error,
                cause=cause,
                resource=self._get_sfn_resource(),
                resourceType=self._get_sfn_resource_type(),
            )
        ),
    )


#: The task's parameters (the Step Functions guide, "Call API Gateway"); the engine keeps
#: only ApiEndpoint and Method.
_PARAMETERS: Final = {
    key: {
        "ApiEndpoint",
        "Method",
        "Headers",
        "Stage",
        "Path",
        "QueryParameters",
        "RequestBody",
        "AllowNullValues",
        "AuthType",
    }
    for key in api_gateway_task.StateTaskServiceApiGateway._SUPPORTED_API_PARAM_BINDINGS
}

FIXES: Final[list[Fix]] = [
    Fix(
        name="apigateway-invoke-local",
        why="Workflows call the template's own APIs with apigateway:invoke; offline, only "
        "the runtime's emulation can answer.",
        upstream_bug="The engine keeps only ApiEndpoint and Method of the parameters, calls "
        "LocalStack's URL scheme over HTTP with requests, and its error event omits the "
        "environment (every failure becomes States.Runtime).",
        patches=[
            Attr(
                api_gateway_task.StateTaskServiceApiGateway,
                "_eval_service_task",
                _eval_service_task,
            ),
            Attr(api_gateway_task.StateTaskServiceApiGateway, "_from_error", _from_error),
            Attr(
                api_gateway_task.StateTaskServiceApiGateway,
                "_SUPPORTED_API_PARAM_BINDINGS",
                _PARAMETERS,
            ),
        ],
    ),
]
