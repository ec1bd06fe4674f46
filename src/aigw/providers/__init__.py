"""The offline AI providers ``aigw local`` installs by default: real, small models, no network.

Kept apart from ``aigw.local`` (the runtime): the runtime answers any operation from any
registered provider, and the gateway's tests register deterministic fakes instead of these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aigw.providers import documents, text

if TYPE_CHECKING:
    from aigw.local.providers import ProviderRegistry


def install_default_providers(registry: ProviderRegistry) -> None:
    """Register the default provider set: Comprehend's text operations and Textract's
    asynchronous text detection for PDFs with a text layer."""
    text.install(registry)
    documents.install(registry)
