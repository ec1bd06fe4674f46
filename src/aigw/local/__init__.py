"""The offline runtime: run a SAM template's state machines and functions in one process.

See :class:`aigw.local.runtime.LocalRuntime` and docs/local-runtime.md.
"""

from aigw.local.providers import ServiceError, registry
from aigw.local.runtime import ExecutionTimeout, LocalRuntime

__all__ = ["ExecutionTimeout", "LocalRuntime", "ServiceError", "registry"]
