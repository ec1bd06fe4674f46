"""The API function's router (functions/api/rest_routing.py): a REST proxy event reaches the
handler of the resource and method API Gateway matched, and every answer is a proxy
response with the CORS headers a browser needs, errors and unknown routes included.

The answers are those Powertools' APIGatewayRestResolver gave (the router replaced it to
keep its import out of the API's cold start): the same status, body and headers.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from aigw_common.errors import GatewayError, RateLimited

ROOT = Path(__file__).resolve().parents[2]
# A name of its own: the API function's modules are imported by the local runtime too.
_spec = importlib.util.spec_from_file_location(
    "_test_api_rest_routing", ROOT / "functions" / "api" / "rest_routing.py"
)
assert _spec and _spec.loader
rest_routing = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rest_routing)

Cors, Request, Response, Router = (
    rest_routing.Cors,
    rest_routing.Request,
    rest_routing.Response,
    rest_routing.Router,
)
json_response = rest_routing.json_response

ORIGIN = "https://app.example.com"
ALLOW_HEADERS = "Authorization,Content-Type,X-Amz-Date,X-Amz-Security-Token,X-Api-Key"


def event(
    method: str,
    path: str,
    resource: str | None = None,
    parameters: dict[str, str] | None = None,
    *,
    headers: dict[str, str] | None = None,
    multi_headers: dict[str, list[str]] | None = None,
    body: str | None = None,
    tenant: str = "t-1",
) -> dict[str, Any]:
    """A REST proxy event as API Gateway sends it (``resource`` left out when None)."""
    sent: dict[str, Any] = {
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": None,
        "pathParameters": parameters,
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"requestId": f"req-{tenant}", "authorizer": {"tenant_id": tenant}},
    }
    if resource is not None:
        sent["resource"] = resource
    return sent


def make_router(allow_origin: str = ORIGIN) -> Any:
    router = Router(Cors(allow_origin, expose_headers=("Location", "Retry-After")))

    @router.get("/jobs")
    def list_jobs(request: Any) -> Any:
        return json_response(200, {"jobs": [], "tenant": request.authorizer["tenant_id"]})

    @router.get("/jobs/{job_id}")
    def get_job(request: Any, job_id: str) -> Any:
        return json_response(200, {"job_id": job_id})

    @router.delete("/jobs/{job_id}")
    def cancel_job(request: Any, job_id: str) -> Any:
        raise RateLimited("slow down", retry_after=3)

    @router.get("/prompts")
    def list_prompts(request: Any) -> Any:
        return json_response(200, {"prompts": []})

    @router.get("/prompts/{name}")
    def get_prompt(request: Any, name: str) -> Any:
        return json_response(200, {"name": name})

    @router.post("/crash")
    def crash(request: Any) -> Any:
        raise KeyError("internal detail")

    @router.exception_handler(GatewayError)
    def gateway_error(request: Any, error: GatewayError) -> Any:
        retry = getattr(error, "retry_after", None)
        headers = {"Retry-After": str(retry)} if retry is not None else {}
        return json_response(error.http_status, error.body(request.request_id), headers)

    @router.exception_handler(Exception)
    def unexpected(request: Any, error: Exception) -> Any:
        return json_response(500, {"error": {"code": "Internal", "message": "internal error"}})

    return router


def answer_of(router: Any, sent: dict[str, Any]) -> tuple[int, dict[str, list[str]], Any]:
    answer = router.resolve(sent)
    assert set(answer) == {"statusCode", "body", "isBase64Encoded", "multiValueHeaders"}
    assert answer["isBase64Encoded"] is False
    body = json.loads(answer["body"]) if answer["body"] else None
    return answer["statusCode"], answer["multiValueHeaders"], body


def test_given_the_resource_api_gateway_matched_then_its_handler_gets_its_path_parameters() -> None:
    # A custom domain's base path stays in `path`; the resource and parameters are exact.
    sent = event("GET", "/api/jobs/01ABC", "/jobs/{job_id}", {"job_id": "01ABC"})

    status, headers, body = answer_of(make_router(), sent)

    assert (status, body) == (200, {"job_id": "01ABC"})
    assert headers == {"Content-Type": ["application/json"]}  # no Origin: not a browser


def test_given_an_event_without_a_resource_then_its_path_is_matched_segment_by_segment() -> None:
    router = make_router()

    assert answer_of(router, event("GET", "/jobs/01ABC/"))[2] == {"job_id": "01ABC"}
    assert answer_of(router, event("GET", "/prompts"))[2] == {"prompts": []}
    assert answer_of(router, event("GET", "/prompts/summary"))[2] == {"name": "summary"}
    assert answer_of(router, event("get", "/jobs"))[2] == {"jobs": [], "tenant": "t-1"}


def test_given_a_route_nobody_declared_then_a_typed_404_names_it() -> None:
    router = make_router()

    for sent in (
        event("GET", "/nope", "/nope", headers={"Origin": ORIGIN}),
        event("PATCH", "/jobs", "/jobs", headers={"Origin": ORIGIN}),
        event("GET", "/jobs/a/b", headers={"Origin": ORIGIN}),
    ):
        status, headers, body = answer_of(router, sent)
        assert status == 404
        assert body == {
            "error": {
                "code": "NotFound",
                "message": f"no route {sent['httpMethod']} {sent['path']}",
                "request_id": "req-t-1",
            }
        }
        assert headers["Access-Control-Allow-Origin"] == [ORIGIN]


def test_given_a_preflight_that_reaches_the_function_then_it_is_allowed_with_204() -> None:
    status, headers, body = answer_of(
        make_router(), event("OPTIONS", "/jobs", "/jobs", headers={"origin": ORIGIN})
    )

    assert (status, body) == (204, None)
    assert headers == {
        "Access-Control-Allow-Methods": ["DELETE,GET,OPTIONS,POST"],
        "Access-Control-Allow-Origin": [ORIGIN],
        "Access-Control-Allow-Headers": [ALLOW_HEADERS],
        "Access-Control-Expose-Headers": ["Location,Retry-After"],
    }


def test_given_a_gateway_error_then_its_handler_answers_with_its_headers_and_cors() -> None:
    sent = event("DELETE", "/jobs/01ABC", "/jobs/{job_id}", {"job_id": "01ABC"})
    sent["multiValueHeaders"] = {"ORIGIN": [ORIGIN, "https://other.example.com"]}

    status, headers, body = answer_of(make_router(), sent)

    assert status == 429
    assert body == {
        "error": {"code": "RateLimited", "message": "slow down", "request_id": "req-t-1"}
    }
    assert headers == {
        "Content-Type": ["application/json"],
        "Retry-After": ["3"],
        "Access-Control-Allow-Origin": [ORIGIN],
        "Access-Control-Allow-Headers": [ALLOW_HEADERS],
        "Access-Control-Expose-Headers": ["Location,Retry-After"],
    }


def test_given_an_unexpected_exception_then_the_most_general_handler_answers_500() -> None:
    status, headers, body = answer_of(
        make_router(), event("POST", "/crash", "/crash", headers={"Origin": ORIGIN})
    )

    assert (status, body) == (500, {"error": {"code": "Internal", "message": "internal error"}})
    assert headers["Access-Control-Allow-Origin"] == [ORIGIN]


def test_given_no_handler_for_an_exception_then_it_is_a_function_error() -> None:
    router = Router(Cors("*"))

    @router.get("/boom")
    def boom(request: Any) -> Any:
        raise ValueError("no handler for me")

    with pytest.raises(ValueError, match="no handler for me"):
        router.resolve(event("GET", "/boom", "/boom"))


@pytest.mark.parametrize(
    ("allow_origin", "origin", "answered"),
    [
        (ORIGIN, ORIGIN, ORIGIN),
        (ORIGIN, "https://evil.example.com", None),
        ("*", "https://any.example.com", "*"),
        ("*", None, None),
        (ORIGIN, None, None),
    ],
)
def test_given_an_origin_then_only_the_allowed_one_is_answered(
    allow_origin: str, origin: str | None, answered: str | None
) -> None:
    headers = {"origin": origin} if origin else {"Accept": "application/json"}

    _, answer_headers, _ = answer_of(
        make_router(allow_origin), event("GET", "/jobs", "/jobs", headers=headers)
    )

    assert answer_headers.get("Access-Control-Allow-Origin") == ([answered] if answered else None)


def test_given_headers_in_any_case_then_the_handler_reads_them() -> None:
    request = Request({"headers": {"idempotency-KEY": "k-1", "Accept": "*/*"}})

    assert request.header("Idempotency-Key") == "k-1"
    assert request.header("X-Missing") is None
    assert Request({"headers": None}).header("Idempotency-Key") is None


def test_given_a_route_declared_twice_then_the_app_does_not_start() -> None:
    router = Router(Cors("*"))
    router.get("/jobs")(lambda request: Response(200))

    with pytest.raises(ValueError, match="route GET /jobs declared twice"):
        router.get("/jobs/")(lambda request: Response(200))


def test_given_two_concurrent_requests_then_each_handler_sees_its_own_request() -> None:
    """aigw local runs concurrent invocations on threads of one process: the request is the
    handler's argument, never module or class state, so one tenant's request is never
    served as another's (Powertools' resolver kept it on a class attribute)."""
    router = Router(Cors("*"))
    both_in = threading.Barrier(2)

    @router.get("/jobs/{job_id}")
    def get_job(request: Any, job_id: str) -> Any:
        both_in.wait(5)  # the other request has been routed too
        return json_response(200, {"tenant": request.authorizer["tenant_id"], "job_id": job_id})

    answers: dict[str, Any] = {}

    def request(tenant: str, job_id: str) -> None:
        sent = event("GET", f"/jobs/{job_id}", "/jobs/{job_id}", {"job_id": job_id}, tenant=tenant)
        answers[tenant] = json.loads(router.resolve(sent)["body"])

    threads = [
        threading.Thread(target=request, args=("tenant-a", "job-a")),
        threading.Thread(target=request, args=("tenant-b", "job-b")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == {
        "tenant-a": {"tenant": "tenant-a", "job_id": "job-a"},
        "tenant-b": {"tenant": "tenant-b", "job_id": "job-b"},
    }
