"""Strategies ``single`` (one streamed answer from one model) and ``reason`` (one answer in
reasoning mode: the model's native effort control, else a chain-of-thought prompt with a
larger output budget; see :mod:`think.strategies.reasoning`)."""

from __future__ import annotations

from dataclasses import dataclass

from think.calls import run_call
from think.errors import BudgetExhausted, ProviderError
from think.model_ref import ModelRef
from think.plan import PlanStep
from think.providers.base import ChatRequest
from think.strategies.base import QueryOptions, RunContext, StrategyResult
from think.strategies.reasoning import reasoning_max_tokens, reasoning_request
from think.strategies.sampling import extract

ANSWER_STAGE = "answer"


@dataclass(frozen=True)
class Single:
    model: ModelRef
    reasoning: bool = False
    """Ask in reasoning mode (strategy ``reason``)."""

    @property
    def name(self) -> str:
        return "reason" if self.reasoning else "single"

    @property
    def models(self) -> tuple[ModelRef, ...]:
        return (self.model,)

    def plan(self, options: QueryOptions) -> list[PlanStep]:
        tokens = options.max_tokens
        if self.reasoning:  # a chain-of-thought prompt may multiply the output limit
            tokens = reasoning_max_tokens(tokens, options.effort)
        return [PlanStep(ANSWER_STAGE, self.model, 1, 1, tokens)]

    async def run(self, ctx: RunContext) -> StrategyResult:
        request = ChatRequest(
            model=self.model.model,
            messages=ctx.messages,
            max_tokens=ctx.options.max_tokens,
            temperature=ctx.options.temperature,
        )
        provider = ctx.provider_for(self.model)
        if self.reasoning:
            request = reasoning_request(provider, self.model, request, ctx.options.effort)
        outcome = await run_call(ctx.calls, provider, self.model, request, ANSWER_STAGE)
        record = outcome.record
        answer = record.texts[0] if record.texts else None
        if outcome.error is None:
            extracted = extract(ctx, answer) if answer else None
            return StrategyResult(
                "ok", answer, str(self.model), final_answer=extracted.key if extracted else None
            )
        if isinstance(outcome.error, BudgetExhausted):
            return StrategyResult("budget_exhausted", answer, str(self.model), outcome.error)
        error = outcome.error
        if not isinstance(error, ProviderError):
            error = ProviderError(str(error))
        return StrategyResult("error", answer or None, str(self.model), error)
