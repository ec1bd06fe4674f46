"""SplitTranslation: splits a translation again within Comprehend's byte limit.

text-insights splits the submitted text before translating it, but a translation can be
longer than its source (English to Spanish by about a fifth, into a script of three-byte
characters up to three times), so a translated chunk may not fit DetectSentiment's 5,000
bytes. This joins the translated chunks and splits the whole translation with the same
rules as the submitted text (aigw_common.text.split_text), however much it grew; offsets
stay right because merging counts them in the concatenated translation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from aigw_common.lazy import LazyTracer
from aigw_common.state_input import Fields
from aigw_common.text import split_text

logger = Logger()
tracer = LazyTracer()


@dataclass(frozen=True)
class Translation:
    source_language: str
    target_language: str
    #: The translated chunks' texts, in order.
    chunks: list[str]

    @classmethod
    def parse(cls, event: Any) -> Translation:
        """The SplitTranslation state's payload; ValidationError names every problem."""
        fields = Fields("Translation", event, extra="ignore")
        source = fields.string("source_language", min_length=1)
        target = fields.string("target_language", min_length=1)
        chunks = [
            chunk.string("text")
            for chunk in fields.objects("chunks", "TranslatedChunk", extra="ignore", min_length=1)
        ]
        fields.check()
        return cls(source, target, chunks)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    translation = Translation.parse(event)
    chunks = split_text("".join(translation.chunks))
    logger.info(
        "translation split",
        extra={"translated_chunks": len(translation.chunks), "chunks": len(chunks)},
    )
    return {
        "source_language": translation.source_language,
        "target_language": translation.target_language,
        "chunks": [{"text": chunk.text} for chunk in chunks],
    }
