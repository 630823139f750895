"""Prompts that shape answers: a final-answer line for voting, and reasoning mode.

Reasoning mode uses the model's native control where it has one (OpenAI
``reasoning_effort``); otherwise it asks for step-by-step reasoning and allows more output
tokens — the embedded local model's "reasoning mode".
"""

from __future__ import annotations

import dataclasses

from think.model_ref import ModelRef
from think.providers.base import ChatRequest, Effort, Message, Provider

ANSWER_LINE = "End with a final line of the form: The answer is <answer>."
CHAIN_OF_THOUGHT = "Think step by step before answering. " + ANSWER_LINE
COT_TOKEN_MULTIPLIER = {"low": 2, "medium": 4, "high": 8}


def with_system(messages: tuple[Message, ...], instruction: str) -> tuple[Message, ...]:
    """Add ``instruction`` to the system message (creating one if there is none)."""
    if messages and messages[0].role == "system":
        merged = f"{messages[0].content}\n\n{instruction}"
        return (Message("system", merged), *messages[1:])
    return (Message("system", instruction), *messages)


def reasoning_request(
    provider: Provider, ref: ModelRef, request: ChatRequest, effort: Effort
) -> ChatRequest:
    if provider.capabilities(ref.model).native_reasoning:
        return dataclasses.replace(request, effort=effort, temperature=None)
    return dataclasses.replace(
        request,
        messages=with_system(request.messages, CHAIN_OF_THOUGHT),
        max_tokens=request.max_tokens * COT_TOKEN_MULTIPLIER[effort],
    )
