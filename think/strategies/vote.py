"""Strategy ``vote`` (self-consistency): n samples at temperature, the plurality wins."""

from __future__ import annotations

from dataclasses import dataclass

from think import events
from think.errors import BudgetExhausted, ProviderError
from think.model_ref import ModelRef
from think.plan import PlanStep
from think.strategies.base import QueryOptions, RunContext, StrategyResult
from think.strategies.reasoning import ANSWER_LINE, with_system
from think.strategies.sampling import draw, first_for
from think.strategies.tally import Tally

VOTE_STAGE = "vote"


@dataclass(frozen=True)
class Vote:
    model: ModelRef
    samples: int = 5
    name: str = "vote"

    @property
    def models(self) -> tuple[ModelRef, ...]:
        return (self.model,)

    def plan(self, options: QueryOptions) -> list[PlanStep]:
        return [PlanStep(VOTE_STAGE, self.model, self.samples, self.samples, options.max_tokens)]

    async def run(self, ctx: RunContext) -> StrategyResult:
        ctx.messages = with_system(ctx.messages, ANSWER_LINE)
        ctx.calls.emit(events.StageChanged(VOTE_STAGE, f"{self.samples} × {self.model}"))
        tally = Tally()
        samples = await draw(ctx, self.model, self.samples, stage=VOTE_STAGE, tally=tally)
        key, _ = tally.plurality()
        answered = [s for s in samples if s.error is None]
        chosen = first_for(samples, key) or next(iter(answered or samples), None)
        result = StrategyResult(
            "ok",
            answer=chosen.text if chosen else None,
            answer_model=str(self.model),
            final_answer=key,
            votes=dict(tally.counts),
            agreement=tally.agreement(),
            stages=[VOTE_STAGE],
        )
        errors = [s.error for s in samples if s.error is not None]
        cut = [e for e in errors if isinstance(e, BudgetExhausted)]
        if cut:  # the budget cut samples short: what was afforded is the answer
            result.status = "budget_exhausted"
            result.error = cut[0]
        elif len(errors) == len(samples) and errors:
            error = errors[0]
            result.status = "error"
            result.error = error if isinstance(error, ProviderError) else ProviderError(str(error))
        return result
