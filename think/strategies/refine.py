"""Strategy ``refine``: draft, critique by the verifier, revise — up to ``rounds`` times."""

from __future__ import annotations

from dataclasses import dataclass

from think import events
from think.calls import run_call
from think.errors import BudgetExhausted, ProviderError
from think.model_ref import ModelRef
from think.plan import PlanStep
from think.providers.base import Message
from think.strategies.base import QueryOptions, RunContext, StrategyResult
from think.strategies.reasoning import ANSWER_LINE, with_system
from think.strategies.sampling import Sample, extract, request_for
from think.strategies.verifiers import JudgeVerifier, Verifier

DRAFT_STAGE = "draft"
CRITIQUE_STAGE = "critique"
REVISE_STAGE = "revise"


@dataclass(frozen=True)
class Refine:
    model: ModelRef
    verifier: Verifier
    rounds: int = 2
    name: str = "refine"

    @property
    def models(self) -> tuple[ModelRef, ...]:
        return (self.model,)

    def plan(self, options: QueryOptions) -> list[PlanStep]:
        steps = [PlanStep(DRAFT_STAGE, self.model, 1, 1, options.max_tokens)]
        if isinstance(self.verifier, JudgeVerifier):
            steps.append(
                PlanStep(CRITIQUE_STAGE, self.verifier.model, self.rounds, 1, options.max_tokens)
            )
        steps.append(PlanStep(REVISE_STAGE, self.model, self.rounds, 0.5, options.max_tokens))
        return steps

    async def _answer(self, ctx: RunContext, messages: tuple[Message, ...], stage: str) -> Sample:
        ctx.calls.emit(events.StageChanged(stage, str(self.model)))
        provider = ctx.provider_for(self.model)
        request = request_for(ctx, self.model, messages=messages)
        outcome = await run_call(ctx.calls, provider, self.model, request, stage)
        text = outcome.record.texts[0] if outcome.record.texts else ""
        answer = extract(ctx, text) if outcome.error is None else None
        return Sample(outcome.record, text, answer, outcome.error)

    async def run(self, ctx: RunContext) -> StrategyResult:
        messages = with_system(ctx.messages, ANSWER_LINE)
        ctx.messages = messages
        stages = [DRAFT_STAGE]
        current = await self._answer(ctx, messages, DRAFT_STAGE)
        if isinstance(current.error, BudgetExhausted):
            return StrategyResult(
                "budget_exhausted",
                current.text or None,
                str(self.model),
                current.error,
                stages=stages,
            )
        if current.error is not None:
            error = current.error
            return StrategyResult(
                "error",
                error=error if isinstance(error, ProviderError) else ProviderError(str(error)),
                stages=stages,
            )
        reason = "rounds exhausted"
        cut: BudgetExhausted | None = None
        for _ in range(self.rounds):
            stages.append(CRITIQUE_STAGE)
            ctx.calls.emit(events.StageChanged(CRITIQUE_STAGE, self.verifier.name))
            try:
                verdict = await self.verifier.check(ctx, current)
            except BudgetExhausted as exc:
                cut, reason = exc, "budget: the critique does not fit"
                break
            if verdict.passed:
                reason = f"accepted: {verdict.detail}"
                break
            stages.append(REVISE_STAGE)
            critique = verdict.critique or verdict.detail
            revise = (
                *messages,
                Message("assistant", current.text),
                Message(
                    "user",
                    f"A reviewer found a problem:\n{critique}\n\n"
                    "Re-examine the question and give a corrected answer.",
                ),
            )
            try:
                revised = await self._answer(ctx, revise, REVISE_STAGE)
            except BudgetExhausted as exc:
                cut, reason = exc, "budget: the revision does not fit"
                break
            if isinstance(revised.error, BudgetExhausted):
                cut, reason = revised.error, f"revision failed: {revised.error}"
                break
            if revised.error is not None:
                reason = f"revision failed: {revised.error}"
                break
            current = revised
        ctx.calls.emit(events.Decision(False, reason))
        return StrategyResult(
            "ok" if cut is None else "budget_exhausted",
            error=cut,
            answer=current.text,
            answer_model=str(self.model),
            final_answer=current.answer.key if current.answer else None,
            escalation_reason=reason,
            stages=stages,
        )
