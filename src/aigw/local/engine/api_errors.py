"""Step Functions API errors with their codes: ``InvalidDefinition``, ``TaskDoesNotExist``, …

moto's ported interpreter declares its API errors (``moto.stepfunctions.parser.api``) the
LocalStack way, with a ``code`` class attribute, on moto's ``AWSError``, which reads the
code from ``TYPE``. So each reaches the client with an empty error code: a client that
handles ``InvalidDefinition`` from CreateStateMachine (a definition the parser refuses) never
sees it. The fix gives each class its ``TYPE`` (and status) from its own declaration.
"""

from __future__ import annotations

import inspect
from typing import Final

from moto.core.exceptions import AWSError
from moto.stepfunctions.parser import api

from aigw.local.engine.patches import Attr, Fix

_ERRORS: Final = [
    error
    for error in vars(api).values()
    if inspect.isclass(error)
    and issubclass(error, AWSError)
    and isinstance(vars(error).get("code"), str)
]

FIXES: Final[list[Fix]] = [
    Fix(
        name="api-error-codes",
        why="Step Functions API errors (InvalidDefinition, TaskDoesNotExist, ...) must reach "
        "clients with their error code, as boto3 callers match on it.",
        upstream_bug="The parser's API errors set `code`, which moto's AWSError ignores for "
        "TYPE: the client gets an empty error code.",
        patches=[
            patch
            for error in _ERRORS
            for patch in (
                Attr(error, "TYPE", vars(error)["code"]),
                Attr(error, "STATUS", vars(error).get("status_code", 400)),
            )
        ],
    )
]
