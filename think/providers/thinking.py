"""Thinking budgets: how many reasoning tokens each ``--effort`` buys on providers whose
native reasoning control is a token budget (Anthropic ``thinking.budget_tokens``, Gemini 2.5
``thinkingBudget``).

The budgets are LiteLLM's defaults for mapping ``reasoning_effort`` onto both vendors
(``DEFAULT_REASONING_EFFORT_{LOW,MEDIUM,HIGH}_THINKING_BUDGET`` = 1024 / 2048 / 4096 in
``litellm/constants.py``). Thinking counts against the request's output limit on both
vendors (Anthropic: ``budget_tokens < max_tokens``; Gemini: ``maxOutputTokens`` caps
thoughts plus answer, python-genai issues #782 and #2062), so a budget never takes more than
half of ``max_tokens``: the other half is left for the answer. think's reasoning requests
multiply ``max_tokens`` by 2 / 4 / 8 per effort (:mod:`think.strategies.reasoning`), which
gives exactly these budgets for the default 1024-token answers.
"""

from __future__ import annotations

from think.providers.base import Effort

EFFORT_THINKING_TOKENS: dict[Effort, int] = {"low": 1024, "medium": 2048, "high": 4096}


def thinking_budget(
    effort: Effort, max_tokens: int, *, minimum: int, maximum: int | None = None
) -> int:
    """The thinking budget for ``effort`` in a request limited to ``max_tokens`` output
    tokens: the effort's budget, at most half of ``max_tokens``, within the model's
    ``[minimum, maximum]`` range."""
    budget = max(min(EFFORT_THINKING_TOKENS[effort], max_tokens // 2), minimum)
    return budget if maximum is None else min(budget, maximum)
