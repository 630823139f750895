"""Prompts that shape answers: a final-answer line for voting, and reasoning mode.

Reasoning mode uses the model's native control where it has one (OpenAI
``reasoning_effort``, Anthropic extended thinking, Gemini thinking); otherwise it asks for
step-by-step reasoning — the embedded local model's "reasoning mode". Either way the
reasoning is output the request's ``max_tokens`` must hold, so it is multiplied by 2 / 4 / 8
for low / medium / high effort (and raised to the provider's minimum for its native mode);
the budget governor then reserves what is really sent.
"""

from __future__ import annotations

import dataclasses

from think.model_ref import ModelRef
from think.providers.base import ChatRequest, Effort, Message, Provider

ANSWER_LINE = "End with a final line of the form: The answer is <answer>."
SHORT_OR_OPEN_LINE = (
    "If the question has a single short final answer (a number, a choice, yes or no, a date, "
    "a name or a few words), end with a final line of the form: The answer is <answer>. If it "
    "asks for more (an explanation, a proof, a summary, a review, a list or code), answer it "
    "in full and add no such line."
)
"""The cascade's instruction under ``--answer-format auto``: the line marks a short answer."""
CHAIN_OF_THOUGHT = "Think step by step before answering. " + ANSWER_LINE
COT_TOKEN_MULTIPLIER = {"low": 2, "medium": 4, "high": 8}


def with_system(messages: tuple[Message, ...], instruction: str) -> tuple[Message, ...]:
    """Add ``instruction`` to the system message (creating one if there is none)."""
    if messages and messages[0].role == "system":
        merged = f"{messages[0].content}\n\n{instruction}"
        return (Message("system", merged), *messages[1:])
    return (Message("system", instruction), *messages)


def reasoning_max_tokens(max_tokens: int, effort: Effort) -> int:
    """The output limit of a reasoning-mode request (a chain of thought needs room)."""
    return max_tokens * COT_TOKEN_MULTIPLIER[effort]


def reasoning_request(
    provider: Provider, ref: ModelRef, request: ChatRequest, effort: Effort
) -> ChatRequest:
    """``request`` in reasoning mode: native effort where the model has it (the protocol's
    least output limit for thinking is applied by :func:`think.calls.run_call`), else a
    chain-of-thought prompt."""
    max_tokens = reasoning_max_tokens(request.max_tokens, effort)
    if provider.capabilities(ref.model).native_reasoning:
        return dataclasses.replace(request, effort=effort, temperature=None, max_tokens=max_tokens)
    return dataclasses.replace(
        request,
        messages=with_system(request.messages, CHAIN_OF_THOUGHT),
        max_tokens=max_tokens,
    )
