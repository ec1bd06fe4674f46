"""SNS Subscribe with an endpoint already subscribed, as SNS answers it (moto 5.2.5 differs).

Subscribe is idempotent on (topic, protocol, endpoint): the same call again returns the
existing subscription. With attributes that differ from the existing subscription's (say,
another ``FilterPolicy``), SNS refuses: ``InvalidParameter`` "Invalid parameter: Attributes
Reason: Subscription already exists with different attributes". moto returns the existing
subscription and overwrites its attributes instead, so a second subscriber of an endpoint
would silently change the first one's filter. :func:`install` makes moto refuse as SNS does;
only attributes given in the request are compared, as SNS compares them.

Source: SNS's answer as reported from AWS (localstack/localstack#8816, fixed there with an
AWS-validated test in #8976 and #9167).
"""

from __future__ import annotations

import json
from typing import Any

from moto.sns.exceptions import SNSInvalidParameter
from moto.sns.responses import SNSResponse

__all__ = ["install", "uninstall"]

_original: Any = None
#: What an attribute is when a subscription was made without it.
_DEFAULTS = {"FilterPolicyScope": "MessageAttributes", "RawMessageDelivery": "false"}


def _same(name: str, given: Any, current: Any) -> bool:
    if name == "FilterPolicy":  # JSON: compared as values, not as text
        try:
            return bool(json.loads(str(given or "{}")) == json.loads(str(current or "{}")))
        except ValueError:
            return False
    return str(given).lower() == str(current).lower()


def _subscribe(self: SNSResponse) -> Any:
    existing = self.backend._find_subscription(
        self._get_param("TopicArn"), self._get_param("Endpoint"), self._get_param("Protocol")
    )
    if existing is not None:
        current = existing.attributes
        given = self._get_attributes() or {}
        if any(
            not _same(name, value, current.get(name, _DEFAULTS.get(name)))
            for name, value in given.items()
        ):
            raise SNSInvalidParameter(
                "Invalid parameter: Attributes Reason: Subscription already exists with "
                "different attributes"
            )
    return _original(self)


def install() -> None:
    """Make moto's Subscribe refuse different attributes for an existing subscription."""
    global _original
    if _original is None:
        _original = SNSResponse.subscribe
        SNSResponse.subscribe = _subscribe  # type: ignore[method-assign]


def uninstall() -> None:
    global _original
    if _original is not None:
        SNSResponse.subscribe = _original  # type: ignore[method-assign]
        _original = None
