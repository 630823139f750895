"""Strategy ``single``: one streamed answer from one model."""

from __future__ import annotations

from dataclasses import dataclass

from think.calls import run_call
from think.errors import BudgetExhausted, ProviderError
from think.model_ref import ModelRef
from think.plan import PlanStep
from think.providers.base import ChatRequest
from think.strategies.base import QueryOptions, RunContext, StrategyResult
from think.strategies.sampling import extract

ANSWER_STAGE = "answer"


@dataclass(frozen=True)
class Single:
    model: ModelRef
    name: str = "single"

    @property
    def models(self) -> tuple[ModelRef, ...]:
        return (self.model,)

    def plan(self, options: QueryOptions) -> list[PlanStep]:
        return [PlanStep(ANSWER_STAGE, self.model, 1, 1, options.max_tokens)]

    async def run(self, ctx: RunContext) -> StrategyResult:
        request = ChatRequest(
            model=self.model.model,
            messages=ctx.messages,
            max_tokens=ctx.options.max_tokens,
            temperature=ctx.options.temperature,
        )
        provider = ctx.provider_for(self.model)
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
