"""``aigw local``'s Bedrock model (SmolLM2-135M-Instruct through llama.cpp): load time,
memory, prompt and generation speed, and a short llm-generate run through the gateway.

- load: the first Converse call's extra time (the GGUF file mapped, the context allocated);
- memory: this process's resident set before the model, after loading it and after a
  generation (``VmRSS``; ``--context`` sets the context window, 4,096 as aigw local uses);
- prompt and generation speed: tokens a second for a ~100-token prompt
  and for 128 answer tokens at temperature 0 — with 1 thread, as aigw local runs it, and
  with 2, which is what ``--threads`` compares (on a busy machine 2 is far slower);
- through the gateway: ``POST /run/llm-generate`` of a one-sentence question, request to
  answer (median of ``--runs``), on a fresh ``aigw local``.

Run: ``.venv/bin/python bench/local_llm_bench.py [--runs 5] [--threads]`` (needs ``make llm``);
it prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from aigw.local_gateway.process import LocalGatewayProcess
from aigw.providers import bedrock

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "What is the capital of France? Answer in one sentence."
STORY = "Write a long story about a lighthouse keeper and a storm. " * 8


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _converse(model: bedrock.LocalBedrock, text: str, max_tokens: int) -> dict[str, Any]:
    request = {
        "modelId": "amazon.nova-micro-v1:0",
        "messages": [{"role": "user", "content": [{"text": text}]}],
        "inferenceConfig": {"maxTokens": max_tokens, "temperature": 0},
    }
    return dict(model.converse(request))


def model_numbers(context: int, threads: int) -> dict[str, Any]:
    """Load, memory and speed of the provider in this process."""
    from llama_cpp import Llama

    path = bedrock.default_model_path()
    if path is None:
        raise SystemExit(f"the local model is not installed: {bedrock.INSTALL_HINT}")
    before = _rss_mib()
    started = time.perf_counter()
    llama = Llama(
        model_path=str(path),
        n_ctx=context,
        n_threads=threads,
        n_threads_batch=threads,
        seed=0,
        verbose=False,
    )
    load_s = time.perf_counter() - started
    loaded = _rss_mib()
    prompt = llama.tokenize(STORY.encode(), add_bos=False)
    llama.reset()
    started = time.perf_counter()
    llama.eval(prompt)
    prompt_s = time.perf_counter() - started
    generated = 0
    started = time.perf_counter()
    for _ in llama.generate(prompt[-8:], temp=0.0, reset=True):
        generated += 1
        if generated == 128:
            break
    generation_s = time.perf_counter() - started
    return {
        "context_tokens": context,
        "threads": threads,
        "load_s": round(load_s, 3),
        "rss_before_mib": round(before, 1),
        "rss_loaded_mib": round(loaded, 1),
        "rss_after_generation_mib": round(_rss_mib(), 1),
        "prompt_tokens": len(prompt),
        "prompt_tokens_per_s": round(len(prompt) / prompt_s, 1),
        "generation_tokens_per_s": round(generated / generation_s, 1),
    }


def converse_latency(runs: int) -> dict[str, Any]:
    """The provider as aigw local uses it: the first call (with the load) and warm calls."""
    model = bedrock.LocalBedrock(bedrock.LocalChatModel(bedrock.default_model_path()))
    started = time.perf_counter()
    first = _converse(model, QUESTION, 32)
    first_s = time.perf_counter() - started
    warm = []
    for _ in range(runs):
        started = time.perf_counter()
        _converse(model, QUESTION, 32)
        warm.append(time.perf_counter() - started)
    return {
        "first_call_s": round(first_s, 3),
        "warm_call_s": round(statistics.median(warm), 3),
        "answer": first["output"]["message"]["content"][0]["text"],
        "usage": first["usage"],
    }


def gateway_latency(runs: int) -> dict[str, Any]:
    gateway = LocalGatewayProcess("--template", str(ROOT / "template.yaml"), timeout=120)
    try:
        banner = gateway.start()
        url, key = banner["REST API"], banner["API key"]
        body = {
            "input": {"messages": [{"role": "user", "content": QUESTION}]},
            "options": {"max_tokens": 32, "temperature": 0},
        }
        times = []
        for _ in range(runs + 1):  # the first run loads the model
            started = time.perf_counter()
            answer = httpx.post(
                f"{url}/run/llm-generate", json=body, headers={"x-api-key": key}, timeout=60
            )
            answer.raise_for_status()
            times.append(time.perf_counter() - started)
        return {
            "first_run_s": round(times[0], 3),
            "warm_run_s": round(statistics.median(times[1:]), 3),
        }
    finally:
        gateway.stop()
        gateway.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--context", type=int, default=bedrock.CONTEXT_TOKENS)
    parser.add_argument("--threads", action="store_true", help="also measure 2 threads")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "load_average": os.getloadavg(),
        "model": model_numbers(args.context, 1),
    }
    if args.threads:
        results["model_2_threads"] = model_numbers(args.context, 2)
    results["converse"] = converse_latency(args.runs)
    results["gateway"] = gateway_latency(args.runs)
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
