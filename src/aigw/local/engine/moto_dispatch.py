"""moto's request dispatch: an action is looked up on its response class, not listed.

Every in-process AWS call (about 25 per text job) reaches ``BaseResponse.call_action``,
which asked ``inspect.getmembers`` for every function of the response class (hundreds of
attributes, each fetched and tested) only to ask whether the action's method is among
them: about a tenth of a small GetItem's CPU. Whether a name is among a class's functions
is answered by looking that one name up on the class, which is what this does.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Final

from moto.core import responses
from moto.core.utils import method_names_from_class

from aigw.local.engine.patches import Attr, Fix


class _FunctionNames:
    """The names of ``owner``'s functions, as ``method_names_from_class`` lists them, for
    ``name in ...`` without listing them."""

    def __init__(self, owner: object) -> None:
        self.owner = owner

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and inspect.isfunction(getattr(self.owner, name, None))

    def __iter__(self) -> Iterator[str]:
        return iter(method_names_from_class(self.owner))


FIXES: Final[list[Fix]] = [
    Fix(
        name="moto-action-lookup",
        why="Listing a response class's functions on every request cost about a tenth of a "
        "small in-process AWS call.",
        upstream_bug="BaseResponse.call_action calls method_names_from_class "
        "(inspect.getmembers) on every request to test one name.",
        patches=[Attr(responses, "method_names_from_class", _FunctionNames)],
    ),
]
