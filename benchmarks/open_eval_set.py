"""The HumanEval replay set as ``think eval`` code items (written by ``open_replay.py build``
next to its own cache file, ``humaneval-eval.jsonl``).

Each task is a code item in the replay format: the question as the models were given it, the
hidden ``test`` with ``entry_point`` and the prompt as ``code_prefix`` (scoring only), the
visible examples as the item's ``verify_cmd`` (the gate) and each model's recorded answers,
fenced so that the verifier finds their code, with token counts and cost at think's prices.
"""

from __future__ import annotations

import re
from typing import Any

from open_replay import CHEAP, STRONG, answer_cost, prices, prompt_tokens
from visible_examples import verify_command, visible_examples

from think.evaluate.code_score import answer_code
from think.strategies.verifiers import last_code_block


def fenced(text: str) -> str:
    """The recorded answer as a replay serves it: as written when the verifier finds its
    code (a fenced block), else its code in a fence longer than any backtick run in it."""
    if last_code_block(text) is not None:
        return text
    code = answer_code(text)
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", code)), default=0))
    return f"{fence}python\n{code}\n{fence}"


def eval_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The set for ``think eval``: each task as a code item in the replay format. The
    question is the prompt as the models were given it; the hidden test (HumanEval's
    ``check`` after the prompt and the answer's code) scores; ``verify_cmd`` is the
    visible-tests gate (always failing where the prompt shows no examples); each recorded
    answer is fenced and carries its token counts and its cost at think's prices."""
    price = prices()
    found = []
    for record in records:
        examples = visible_examples(record["question"], record["entry_point"])
        responses = {
            model: [
                {
                    "style": r["style"],
                    "text": fenced(r["text"]),
                    "usage": usage_with_cost(price[model], record, r["usage"]),
                }
                for r in record["responses"][model]
            ]
            for model in (CHEAP, STRONG)
        }
        found.append(
            {
                "id": record["id"],
                "question": f"{record['question'].rstrip()}\n\n{record['instruction']}",
                "answer_kind": "code",
                "code_prefix": record["question"],
                "test": record["test"],
                "entry_point": record["entry_point"],
                "verify_cmd": verify_command(record["question"], examples),
                "responses": responses,
            }
        )
    return found


def usage_with_cost(price: Any, record: dict[str, Any], usage: dict[str, Any]) -> dict[str, Any]:
    cost = float(answer_cost(price, record, usage))
    tokens = prompt_tokens(record, usage)
    return {"input_tokens": tokens, "output_tokens": usage["output_tokens"], "cost_usd": cost}
