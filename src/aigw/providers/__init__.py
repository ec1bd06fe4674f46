"""The offline AI providers ``aigw local`` installs by default: real, small models, no network.

Kept apart from ``aigw.local`` (the runtime): the runtime answers any operation from any
registered provider, and the gateway's tests register deterministic fakes instead of these.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING

from aigw.providers import bedrock, documents, images, sagemaker, text, translate

if TYPE_CHECKING:
    from aigw.local.services.providers import ProviderRegistry


def install_default_providers(registry: ProviderRegistry) -> ExitStack:
    """Register the offline models: Comprehend's text operations, Textract's asynchronous
    text detection (PDF text layers, OCR of images and scanned pages), Rekognition (text,
    faces; labels and moderation with the ``aigw[models]`` extra), Translate (Apertium, when
    installed), SageMaker Runtime's InvokeEndpoint (local model servers) and Bedrock
    Runtime's Converse (a small instruct model, with the ``aigw[llm]`` install).

    Returns what the providers hold (model servers, started on first use): close it (or use
    it as a context manager) to stop them."""
    resources = ExitStack()
    text.install(registry)
    documents.install(registry)
    images.install(registry)
    translate.install(registry)
    bedrock.install(registry)
    resources.enter_context(sagemaker.install(registry))
    return resources
