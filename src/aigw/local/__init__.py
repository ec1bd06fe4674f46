"""The offline runtime: run any SAM template's state machines, functions, APIs and event
sources in one process, with no AWS account and no Docker.

See :class:`aigw.local.runtime.LocalRuntime` and docs/local-runtime.md ("Where things are"
maps the subpackages to what they emulate). Nothing here knows the gateway built on it.
"""

from aigw.local.engine.service_time import outside_service_time
from aigw.local.runtime import ExecutionTimeout, LocalRuntime
from aigw.local.services.providers import ServiceError, registry

__all__ = ["ExecutionTimeout", "LocalRuntime", "ServiceError", "outside_service_time", "registry"]
