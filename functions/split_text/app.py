"""SplitTranslation: splits a translation again within Comprehend's byte limit.

text-insights splits the submitted text before translating it, but a translation can be
longer than its source (English to Spanish by about a fifth, into a script of three-byte
characters up to three times), so a translated chunk may not fit DetectSentiment's 5,000
bytes. This joins the translated chunks and splits the whole translation with the same
rules as the submitted text (aigw_common.text.split_text), however much it grew; offsets
stay right because merging counts them in the concatenated translation.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from aigw_common.lazy import LazyTracer
from aigw_common.text import split_text

logger = Logger()
tracer = LazyTracer()


class TranslatedChunk(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str


class Translation(BaseModel):
    source_language: str = Field(min_length=1)
    target_language: str = Field(min_length=1)
    chunks: list[TranslatedChunk] = Field(min_length=1)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    translation = Translation.model_validate(event)
    chunks = split_text("".join(chunk.text for chunk in translation.chunks))
    logger.info(
        "translation split",
        extra={"translated_chunks": len(translation.chunks), "chunks": len(chunks)},
    )
    return {
        "source_language": translation.source_language,
        "target_language": translation.target_language,
        "chunks": [{"text": chunk.text} for chunk in chunks],
    }
