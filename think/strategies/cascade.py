"""Strategy ``cascade`` (the default): cheap samples, a check, escalation when it fails.

1. cheap: draw ``initial`` samples from the cheap model concurrently, then one at a time,
   stopping as soon as the outcome is decided either way.
2. check: by default, the first 2 cheap answers must agree (3 for multiple choice and
   yes/no, where agreement by chance is likely), and then 3 of up to 5 must agree; the
   verifier (if any) must pass. A disagreement in the opening samples, or one without an
   answer, escalates at once (see :class:`CascadePolicy`). With ``agreement`` set, accept
   when ``ceil(agreement × max_samples)`` samples agree instead (see :meth:`Tally.decided`).
   That is the path of a *short* answer. An *open* one (prose, a proof, a summary, code:
   ``--answer-format open``, or under ``auto`` a first sample without a short final-answer
   line, which the model is asked to add only where the question has one) is never voted
   on: the one cheap answer goes to ``--verify-cmd`` if there is one, else to a judge that
   grades it against a rubric (:mod:`think.strategies.judging`); it is accepted when the
   share of passing verdicts reaches ``accept_threshold``.
3. escalate: ask the strong model in reasoning mode. A budget that cannot afford it ends
   the run with the best cheap answer and status ``budget_exhausted``.
Every run records why it escalated, or why not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import cast

from think import events
from think.calls import run_call
from think.errors import BudgetExhausted, ProviderError
from think.model_ref import ModelRef
from think.plan import PlanStep
from think.strategies.answers import AUTO, AnswerShape, answer_shape
from think.strategies.base import QueryOptions, RunContext, StrategyResult
from think.strategies.cascade_policy import (
    CLOSED_KINDS,
    EXPECTED_ESCALATION_RATE,
    CascadePolicy,
)
from think.strategies.judging import (
    ACCEPT_THRESHOLD,
    JUDGE_MAX_TOKENS,
    JUDGE_SAMPLES,
    judge_answer,
)
from think.strategies.normalize import AnswerKind
from think.strategies.reasoning import (
    ANSWER_LINE,
    SHORT_OR_OPEN_LINE,
    reasoning_max_tokens,
    reasoning_request,
    with_system,
)
from think.strategies.sampling import Sample, draw, extract, first_for, request_for
from think.strategies.tally import Tally
from think.strategies.verifiers import VERIFY_STAGE, CommandVerifier, JudgeVerifier, Verifier
from think.tokens import estimate_tokens
from think.usage import Usage

__all__ = ["CLOSED_KINDS", "EXPECTED_ESCALATION_RATE", "Cascade", "CascadePolicy"]

CHEAP_STAGE = "cheap"
CHECK_STAGE = "check"
ESCALATE_STAGE = "escalate"


@dataclass(frozen=True)
class Cascade:
    cheap: ModelRef
    strong: ModelRef
    policy: CascadePolicy = field(default_factory=CascadePolicy)
    verifier: Verifier | None = None
    judge: ModelRef | None = None
    """The model that grades open answers (``None``: the cheap model)."""
    judge_samples: int = JUDGE_SAMPLES
    accept_threshold: float = ACCEPT_THRESHOLD
    name: str = "cascade"
    upfront: bool = False
    """Draw every cheap sample the rule may need in one go (``think batch --mode batch``:
    each further draw would be another batch round) and decide on them in order, as the
    sequential draws would have; an open answer still takes one sample."""

    @property
    def models(self) -> tuple[ModelRef, ...]:
        return (self.cheap, self.strong)

    def plan(self, options: QueryOptions) -> list[PlanStep]:
        policy = self.policy
        steps = [
            PlanStep(
                CHEAP_STAGE,
                self.cheap,
                policy.most_samples,
                policy.expected_samples,
                options.max_tokens,
            )
        ]
        if isinstance(self.verifier, JudgeVerifier):
            steps.append(PlanStep("verify", self.verifier.model, 1, 1, options.max_tokens))
        kind = (options.answer_format or AUTO).kind
        if kind in ("auto", "open") and not isinstance(self.verifier, CommandVerifier):
            # an open answer is graded: judge_samples verdicts (auto: if the answer is open)
            expected = self.judge_samples * (1.0 if kind == "open" else 0.5)
            tokens = min(options.max_tokens, JUDGE_MAX_TOKENS)
            steps.append(
                PlanStep("verify", self.judge or self.cheap, self.judge_samples, expected, tokens)
            )
        # Reasoning mode may multiply the output limit (chain of thought); plan for it.
        strong_tokens = reasoning_max_tokens(options.max_tokens, options.effort)
        steps.append(
            PlanStep(ESCALATE_STAGE, self.strong, 1, EXPECTED_ESCALATION_RATE, strong_tokens)
        )
        return steps

    async def run(self, ctx: RunContext) -> StrategyResult:
        fmt = ctx.options.answer_format or AUTO
        if fmt.kind == "auto":
            ctx.messages = with_system(ctx.messages, SHORT_OR_OPEN_LINE)
        elif fmt.kind != "open":
            ctx.messages = with_system(ctx.messages, ANSWER_LINE)
        policy = self.policy
        tally = Tally()
        samples: list[Sample] = []
        stages = [CHEAP_STAGE]
        # a forced kind is one of the answer kinds (auto and open are not kinds)
        forced = None if fmt.kind in ("auto", "open") else cast("AnswerKind", fmt.kind)
        ctx.calls.emit(events.StageChanged(CHEAP_STAGE, self._cheap_detail(forced)))
        reason: str | None = None
        shape: AnswerShape = "short"
        try:
            batch = min(policy.initial, policy.most_samples)
            if self.upfront and fmt.kind != "open":
                drawn = await draw(
                    ctx, self.cheap, policy.most_samples, stage=CHEAP_STAGE, tally=Tally()
                )
                first = drawn[0] if drawn else None
                if (
                    fmt.kind == "auto"
                    and first is not None
                    and first.error is None
                    and answer_shape(first.text, fmt) == "open"
                ):
                    return await self._open(ctx, first, stages)
                tally, samples = self._decided_prefix(drawn, batch)
                if (
                    len(drawn) < policy.most_samples
                    and policy.decided(tally, _leading_kind(tally, samples)) is None
                ):
                    reason = "budget: no more cheap samples fit"
                batch = 0
            elif fmt.kind in ("auto", "open"):
                # One answer first: its shape decides how it is checked.
                samples += await draw(ctx, self.cheap, 1, stage=CHEAP_STAGE, tally=tally)
                first = samples[0] if samples else None
                if first is not None and first.error is None:
                    shape = answer_shape(first.text, fmt)
                if shape == "open":
                    return await self._open(ctx, first, stages)
                # the short path: the rule the votes must meet, now that the kind is known
                kind = _leading_kind(tally, samples)
                ctx.calls.emit(events.StageChanged(CHEAP_STAGE, self._cheap_detail(kind)))
                batch -= 1
            while not self.upfront:
                if batch:
                    samples += await draw(ctx, self.cheap, batch, stage=CHEAP_STAGE, tally=tally)
                if policy.decided(tally, _leading_kind(tally, samples)) is not None:
                    break
                batch = 1
        except BudgetExhausted:
            reason = "budget: no more cheap samples fit"
        stages.append(CHECK_STAGE)
        ctx.calls.emit(events.StageChanged(CHECK_STAGE))
        key, _ = tally.plurality()
        candidate = first_for(samples, key)
        escalate, why = await self._check(ctx, tally, samples, candidate, reason)
        ctx.calls.emit(events.Decision(escalate, why))
        result = StrategyResult(
            "ok",
            answer=candidate.text if candidate else None,
            answer_model=str(self.cheap) if candidate else None,
            final_answer=key,
            votes=dict(tally.counts),
            agreement=tally.agreement(),
            escalated=escalate,
            escalation_reason=why,
            stages=stages,
            answer_shape="short",
        )
        if escalate:
            await self._escalate(ctx, result, candidate)
        result.strong_only_cost_usd = self._strong_only_cost(ctx, samples)
        return result

    def _decided_prefix(self, drawn: list[Sample], opening: int) -> tuple[Tally, list[Sample]]:
        """The samples, in order, up to the first at which the rule decides (never fewer than
        the ``opening`` batch): what the sequential draws would have stopped at."""
        tally = Tally()
        samples: list[Sample] = []
        for sample in drawn:
            samples.append(sample)
            tally.add(sample.answer.key if sample.answer else None)
            if (
                len(samples) >= opening
                and self.policy.decided(tally, _leading_kind(tally, samples)) is not None
            ):
                break
        return tally, samples

    def _cheap_detail(self, kind: AnswerKind | None) -> str:
        return f"{self.cheap}, needs {self.policy.describe(kind)}"

    async def _open(
        self, ctx: RunContext, sample: Sample | None, stages: list[str]
    ) -> StrategyResult:
        """The open-ended gate: the one cheap answer is checked as a whole."""
        stages.append(CHECK_STAGE)
        ctx.calls.emit(events.StageChanged(CHECK_STAGE))
        result = StrategyResult("ok", stages=stages, answer_shape="open")
        escalate, why = True, "no cheap answer"
        if sample is not None and sample.error is not None:
            why = f"cheap model error: {sample.error}"
        elif sample is not None:
            result.answer, result.answer_model = sample.text, str(self.cheap)
            escalate, why = await self._grade(ctx, sample, result)
        ctx.calls.emit(events.Decision(escalate, why))
        result.escalated, result.escalation_reason = escalate, why
        if escalate:
            await self._escalate(ctx, result, sample if result.answer else None)
            if result.answer_model == str(self.strong):
                result.final_answer = None  # an open answer has no voting key
        result.strong_only_cost_usd = self._strong_only_cost(ctx, [sample] if sample else [])
        return result

    async def _grade(
        self, ctx: RunContext, sample: Sample, result: StrategyResult
    ) -> tuple[bool, str]:
        """Whether to escalate the open answer ``sample``, and why; sets the verdict."""
        result.stages.append(VERIFY_STAGE)
        ctx.calls.emit(events.StageChanged(VERIFY_STAGE, str(self.judge or self.cheap)))
        if isinstance(self.verifier, CommandVerifier):
            check = await self.verifier.check(ctx, sample)
            result.verdict = "pass" if check.passed else "fail"
            result.p_accept = 1.0 if check.passed else 0.0
            if check.passed:
                return False, f"accepted: {check.detail}"
            return True, f"verifier rejected: {check.detail}"
        try:
            judgement = await judge_answer(
                ctx, self.judge or self.cheap, sample.text, samples=self.judge_samples
            )
        except BudgetExhausted:
            return True, "budget: the judge's verdicts do not fit"
        passed = judgement.passed(self.accept_threshold)
        result.verdict = "pass" if passed else "fail"
        result.p_accept = judgement.p_accept
        shown = judgement.describe(self.accept_threshold)
        return (False, f"accepted: {shown}") if passed else (True, f"judge rejected: {shown}")

    async def _check(
        self,
        ctx: RunContext,
        tally: Tally,
        samples: list[Sample],
        candidate: Sample | None,
        budget_reason: str | None,
    ) -> tuple[bool, str]:
        judged = self.policy.judged(tally)
        shown = f"{tally.counts.get(judged, 0) if judged else 0}/{tally.total} agree"
        if tally.missing:
            shown += f", {tally.missing} without an answer"
        if samples and all(s.error is not None for s in samples):
            return True, f"cheap model error: {samples[0].error}"
        if candidate is None:
            return True, "no extractable answer in the cheap samples"
        kind = _leading_kind(tally, samples)
        verdict = self.policy.decided(tally, kind)
        if verdict != "accept":
            if budget_reason and verdict is None:
                return True, budget_reason
            return True, f"disagreement: {shown} (needs {self.policy.describe(kind)})"
        if self.verifier is not None:
            check = await self.verifier.check(ctx, candidate)
            if not check.passed:
                return True, f"verifier rejected: {check.detail}"
            return False, f"accepted: {shown}, {check.detail}"
        return False, f"accepted: {shown}"

    async def _escalate(
        self, ctx: RunContext, result: StrategyResult, candidate: Sample | None
    ) -> None:
        result.stages.append(ESCALATE_STAGE)
        ctx.calls.emit(events.StageChanged(ESCALATE_STAGE, str(self.strong)))
        provider = ctx.provider_for(self.strong)
        request = reasoning_request(
            provider, self.strong, request_for(ctx, self.strong), ctx.options.effort
        )
        try:
            outcome = await run_call(ctx.calls, provider, self.strong, request, ESCALATE_STAGE)
        except BudgetExhausted as exc:
            result.status = "budget_exhausted"
            result.error = exc
            result.escalation_reason = (
                f"{result.escalation_reason}; escalation did not fit the budget"
            )
            return
        text = outcome.record.texts[0] if outcome.record.texts else ""
        if outcome.error is not None:
            if isinstance(outcome.error, BudgetExhausted):
                result.status = "budget_exhausted"
                result.error = outcome.error
                return
            if candidate is None:
                result.status = "error"
                result.error = (
                    outcome.error
                    if isinstance(outcome.error, ProviderError)
                    else ProviderError(str(outcome.error))
                )
            return  # keep the best cheap answer
        answer = extract(ctx, text)
        result.answer = text
        result.answer_model = str(self.strong)
        result.final_answer = answer.key if answer else None

    def _strong_only_cost(self, ctx: RunContext, samples: list[Sample]) -> Decimal | None:
        """What one strong call would have cost: the escalation's own cost when there was
        one, else the prompt plus an answer as long as the cheap ones at strong prices."""
        for record in ctx.calls.records:
            if record.stage == ESCALATE_STAGE and record.status == "ok":
                return record.cost.usd
        price = ctx.calls.price_for(self.strong)
        if price is None:
            return None
        prompt = sum(estimate_tokens(m.content) + 4 for m in ctx.messages)
        inputs = [s.call.usage.input_tokens for s in samples if s.call.usage.input_tokens]
        outputs = [s.call.usage.output_tokens for s in samples if s.call.usage.output_tokens]
        input_tokens = max(inputs) if inputs else prompt
        output_tokens = sum(outputs) // len(outputs) if outputs else ctx.options.max_tokens
        return price.cost(Usage(input_tokens=input_tokens, output_tokens=output_tokens))


def _leading_kind(tally: Tally, samples: list[Sample]) -> AnswerKind | None:
    """The answer kind of the plurality answer so far."""
    key, _ = tally.plurality()
    leader = first_for(samples, key)
    return leader.answer.kind if leader is not None and leader.answer is not None else None
