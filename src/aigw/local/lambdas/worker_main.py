"""One Lambda execution environment for a function whose runtime is a newer Python.

Started by :mod:`aigw.local.lambdas.worker` with the function's interpreter
(``python3.13 -I -S worker_main.py <request fd> <response fd>``): standard library only,
nothing of aigw, no site-packages of that interpreter. It reads one JSON message per line
on the request pipe and answers one per line on the response pipe; the function's own
output goes to the inherited stdout and stderr, as its logs.

1. ``{"init": {...}}``: the code directory and layers go first on ``sys.path``, the SDK
   that Lambda's Python runtimes ship (boto3 and what it needs) is found last, from the
   directories the host names, and the handler module is imported (the cold start). The
   answer is ``{"ready": true}`` or ``{"init_error": {...}}``.
2. ``{"invoke": {...}}``: the environment, the event and the context's values; the answer
   is ``{"result": <JSON text>}`` or ``{"error": {errorType, errorMessage, stackTrace}}``.

The pipe closing (the host stopped) ends the worker.
"""

import importlib
import importlib.abc
import importlib.machinery
import json
import os
import sys
import time
import traceback


class RuntimeSdk(importlib.abc.MetaPathFinder):
    """Top-level modules (boto3, botocore, …) from named directories, after ``sys.path``:
    what the function bundles itself wins, as on Lambda."""

    def __init__(self, locations):
        self.locations = locations

    def find_spec(self, name, path, target=None):
        if path is None and name in self.locations:
            return importlib.machinery.PathFinder.find_spec(name, [self.locations[name]])
        return None


def _connections_to_runtime(request, **_):
    """An @connections call goes to the runtime's AWS endpoint, which answers it from the
    live WebSocket server. Its client is given the API's own URL (``https://<domainName>/
    <stage>``), which only API Gateway serves; in-process, the same call is answered before
    any request is sent."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        _, _, rest = request.url.partition("://")
        _, slash, path = rest.partition("/")
        request.url = endpoint.rstrip("/") + slash + path


class SdkHooks(importlib.abc.MetaPathFinder):
    """Once the SDK's ``botocore.handlers`` is imported (only if the function uses it), its
    built-in handlers, which every session and client is given, include
    :func:`_connections_to_runtime`."""

    def find_spec(self, name, path, target=None):
        if name != "botocore.handlers":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            hook = ("request-created.apigatewaymanagementapi", _connections_to_runtime)
            module.BUILTIN_HANDLERS.append(hook)

        spec.loader.exec_module = exec_module
        return spec


class LambdaContext:
    """The context object Lambda passes to a Python handler."""

    def __init__(self, values):
        self.function_name = values["function_name"]
        self.function_version = values["function_version"]
        self.invoked_function_arn = values["invoked_function_arn"]
        self.memory_limit_in_mb = values["memory_limit_in_mb"]
        self.aws_request_id = values["aws_request_id"]
        self.log_group_name = values["log_group_name"]
        self.log_stream_name = values["log_stream_name"]
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + values["remaining_ms"] / 1000

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _set_environment(variables):
    if dict(os.environ) != variables:
        os.environ.clear()
        os.environ.update(variables)


def _init(config):
    for directory in reversed([config["code_dir"], *config["layer_dirs"]]):
        sys.path.insert(0, directory)
    sys.meta_path.append(RuntimeSdk(config["sdk"]))
    sys.meta_path.insert(0, SdkHooks())
    module_name, _, handler_name = config["handler"].rpartition(".")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, handler_name), None
    except Exception as error:
        kind = (
            "import"
            if isinstance(error, ImportError)
            else "handler"
            if isinstance(error, AttributeError)
            else "other"
        )
        return None, {"kind": kind, "type": type(error).__name__, "message": str(error)}


def _invoke(handler, request):
    _set_environment(request["environment"])
    context = LambdaContext(request["context"])
    try:
        result = handler(request["event"], context)
    except Exception as error:
        return {
            "error": {
                "errorType": type(error).__name__,
                "errorMessage": str(error),
                # The handler's frames only, as Lambda reports them (not this loop's).
                "stackTrace": traceback.format_tb(error.__traceback__.tb_next),
            }
        }
    try:
        return {"result": json.dumps(result)}
    except (TypeError, ValueError) as error:
        return {
            "error": {
                "errorType": "Runtime.MarshalError",
                "errorMessage": f"Unable to marshal response: {error}",
                "stackTrace": [],
            }
        }


def main(request_fd, response_fd):
    requests = os.fdopen(request_fd, "rb")
    responses = os.fdopen(response_fd, "wb")

    def answer(message):
        responses.write(json.dumps(message).encode() + b"\n")
        responses.flush()

    handler = None
    for line in requests:
        message = json.loads(line)
        if "init" in message:
            handler, failure = _init(message["init"])
            answer({"init_error": failure} if failure else {"ready": True})
        elif "invoke" in message:
            answer(_invoke(handler, message["invoke"]))
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
