"""The live view on stderr (terminal only) and the final one-line summary.

A consumer of the run's events. It renders model, tokens, elapsed time and the running
cost (against the cap when there is one), and the tail of the model's reasoning text (dim)
while it thinks, unless ``--hide-reasoning``; when stdout is a terminal too, it also shows
the answer as it streams, and the answer is printed to stdout once complete. Reasoning
never goes to stdout.
"""

from __future__ import annotations

import textwrap
import time
from dataclasses import dataclass, field
from decimal import Decimal

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.text import Text

from think import events
from think.cli.console import printable
from think.money import format_usd

ANSWER_TAIL_LINES = 12
REASONING_TAIL_LINES = 6
MAX_SAMPLE_LINES = 8
TALLY_BAR_WIDTH = 20


def _short(answer: str, width: int = 24) -> str:
    answer = printable(answer)
    return answer if len(answer) <= width else answer[: width - 1] + "…"


@dataclass
class _CallView:
    model: str
    stage: str
    tokens: int = 0
    cost: Decimal | None = None
    status: str = "running"
    priced: bool = True


@dataclass
class LiveState:
    """Everything the live view shows, updated from events."""

    calls: dict[str, _CallView] = field(default_factory=dict)
    answer: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    reasoning_chars: int = 0
    spent: Decimal = Decimal(0)
    cap: Decimal | None = None
    started: float = field(default_factory=time.monotonic)
    finished: events.RunRecord | None = None
    stages: list[str] = field(default_factory=list)
    stage_detail: str = ""
    samples: list[tuple[str, str | None]] = field(default_factory=list)
    votes: dict[str, int] = field(default_factory=dict)
    decision: events.Decision | None = None

    def apply(self, event: events.Event) -> None:
        if isinstance(event, events.CallStarted):
            start = Decimal(0) if event.priced else None
            self.calls[event.call_id] = _CallView(
                event.model, event.stage, cost=start, priced=event.priced
            )
        elif isinstance(event, events.AnswerText):
            self.answer.append(event.text)
        elif isinstance(event, events.ReasoningText):
            self.reasoning.append(event.text)
            self.reasoning_chars += len(event.text)
        elif isinstance(event, events.CallProgress):
            view = self.calls.get(event.call_id)
            if view:
                view.tokens = event.output_tokens
                view.cost = event.cost_usd
        elif isinstance(event, events.CallFinished):
            view = self.calls.get(event.call.id)
            if view:
                view.tokens = event.call.usage.output_tokens
                view.cost = event.call.cost.usd
                view.status = event.call.status
        elif isinstance(event, events.BudgetUpdate):
            self.spent = event.spent_usd
            self.cap = event.cap_usd
        elif isinstance(event, events.StageChanged):
            if not self.stages or self.stages[-1] != event.stage:
                self.stages.append(event.stage)
            self.stage_detail = event.detail
        elif isinstance(event, events.VoteCast):
            self.samples.append((event.model, event.answer))
            self.votes = dict(event.votes)
        elif isinstance(event, events.Decision):
            self.decision = event
        elif isinstance(event, events.RunFinished):
            self.finished = event.run

    def timeline(self) -> Text:
        line = Text()
        for number, stage in enumerate(self.stages):
            if number:
                line.append(" → ", style="dim")
            current = number == len(self.stages) - 1 and self.finished is None
            line.append(stage, style="bold cyan" if current else "green")
        if self.decision is not None:
            line.append(f"   {printable(self.decision.reason)}", style="dim")
        elif self.stage_detail and self.finished is None:
            line.append(f"   {printable(self.stage_detail)}", style="dim")
        return line

    def sample_lines(self) -> list[Text]:
        lines = []
        for number, (model, answer) in enumerate(self.samples[-MAX_SAMPLE_LINES:], 1):
            line = Text(f"  #{number} {model}  → ", style="dim")
            line.append(_short(answer) if answer is not None else "no answer", style="bold")
            lines.append(line)
        return lines

    def tally_lines(self, width: int = TALLY_BAR_WIDTH) -> list[Text]:
        most = max(self.votes.values(), default=0)
        lines = []
        for answer, count in sorted(self.votes.items(), key=lambda item: -item[1])[:5]:
            bar = "█" * max(1, round(width * count / most)) if most else ""
            line = Text(f"  {_short(answer):>12} ")
            line.append(bar, style="magenta")
            line.append(f" {count}")
            lines.append(line)
        return lines

    def reasoning_tail(self, width: int, lines: int = REASONING_TAIL_LINES) -> Text | None:
        """The last lines of the reasoning text, while a call is still running."""
        if not self.reasoning or not any(v.status == "running" for v in self.calls.values()):
            return None
        # the tail is enough (bounded work per refresh); model text is shown, never obeyed
        text = printable("".join(self.reasoning[-400:]))
        wrapped: list[str] = []
        for raw in text.splitlines():  # at spaces: words and numbers are never split
            wrapped.extend(textwrap.wrap(raw, width, break_on_hyphens=False) or [""])
        tail = [line for line in wrapped if line.strip()][-lines:]
        return Text("\n".join(tail), style="dim italic") if tail else None

    def running_cost(self) -> Decimal | None:
        """What the run has cost so far; unknown once any call of it is unpriced."""
        if any(not view.priced for view in self.calls.values()):
            return None
        running = [v.cost for v in self.calls.values() if v.status == "running"]
        if any(cost is None for cost in running):
            return None
        return self.spent + sum((c for c in running if c is not None), Decimal(0))

    def status_line(self) -> Text:
        elapsed = time.monotonic() - self.started
        models = ", ".join(sorted({v.model for v in self.calls.values()})) or "starting"
        tokens = sum(v.tokens for v in self.calls.values())
        cost = format_usd(self.running_cost())
        if self.cap is not None:
            cost = f"{cost} of {format_usd(self.cap)}"
        line = Text()
        line.append("● ", style="cyan")
        line.append(models, style="bold")
        line.append(f"  {tokens} tok  {elapsed:.1f}s  {cost}", style="dim")
        if self.reasoning_chars:
            line.append(f"  thinking {self.reasoning_chars} chars", style="dim")
        return line


SUMMARY_WIDTH = 80
"""The summary line fits this many columns (or the terminal, if narrower)."""


@dataclass
class _Part:
    text: str
    style: str = ""
    keep: int = 9
    """Lower goes first when the line is too long: shortened if ``short`` is set, else dropped."""
    short: str | None = None
    droppable: bool = True


def summary_line(run: events.RunRecord, width: int = SUMMARY_WIDTH) -> Text:
    """The one line printed on stderr when a run ends: status, model, agreement, tokens,
    cost (flagged when it is more than the strong model alone would have cost), time, run.
    Fits ``width`` columns by shortening, then dropping, the least needed parts."""
    usage = run.usage
    cost_usd = run.cost.usd if run.cost else None
    cost = format_usd(cost_usd)
    if run.cost and run.cost.source == "estimated" and cost_usd is not None:
        cost += " (estimated)"
    style = "green" if run.status == "ok" else "yellow" if run.status != "error" else "red"
    model = run.answer_model or ", ".join(run.models)
    parts = [
        _Part(run.status, style),
        _Part(model, keep=3, short=model.partition(":")[2] or None, droppable=False),
    ]
    if run.agreement is not None and run.votes:
        agreeing = max(run.votes.values())
        votes = round(agreeing / run.agreement) if run.agreement else 0
        parts.append(_Part(f"agreement {agreeing}/{votes}", keep=4, short=f"{agreeing}/{votes}"))
    if run.escalated:
        parts.append(_Part("escalated", "yellow", keep=5, short="esc"))
    if usage is not None:
        tokens = f"{usage.input_tokens}+{usage.output_tokens}"
        parts.append(_Part(f"{tokens} in+out tok", keep=2, short=f"{tokens} tok"))
    parts.append(_Part(cost))
    alone = run.strong_only_cost_usd
    if alone is not None and cost_usd is not None and cost_usd > alone:
        parts.append(
            _Part(
                f"more than the strong model alone ({format_usd(alone)})",
                "yellow",
                short=f"> strong alone {format_usd(alone)}",
            )
        )
    elif alone is not None:
        parts.append(_Part(f"(strong alone {format_usd(alone)})", "dim", keep=6))
    parts.append(_Part(f"{(run.duration_ms or 0) / 1000:.1f}s", keep=1))
    parts.append(_Part(f"run {run.id[:8]}", "dim", keep=7, short=run.id[:8]))
    _fit(parts, width)
    text = Text()
    for number, part in enumerate(parts):
        text.append("  " if number else "")
        text.append(part.text, style=part.style)
    return text


def _fit(parts: list[_Part], width: int) -> None:
    def length() -> int:
        return sum(len(p.text) for p in parts) + 2 * (len(parts) - 1)

    while length() > width:
        candidates = [p for p in parts if p.keep < 9]
        if not candidates:
            return
        part = min(candidates, key=lambda p: p.keep)
        if part.short is not None:
            part.text, part.short = part.short, None
            if not part.droppable:
                part.keep = 9
        else:
            parts.remove(part)


class LiveView:
    """Renders :class:`LiveState` with ``rich.live.Live`` on a stderr console."""

    def __init__(self, console: Console, *, show_answer: bool, show_reasoning: bool = True) -> None:
        self.console = console
        self.state = LiveState()
        self.show_answer = show_answer
        self.show_reasoning = show_reasoning
        self._live = Live(
            console=console,
            get_renderable=self.render,
            transient=True,
            refresh_per_second=8,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._started = False

    def render(self) -> RenderableType:
        """What the view shows, never taller than the terminal: the timeline and the status
        line always; then, as room allows, the answer tail, the tally, the reasoning tail
        and the sample rows (the newest lines of each kept)."""
        width = max(self.console.width, 20)
        state = self.state
        timeline = [state.timeline()] if state.stages else []
        samples = state.sample_lines() if state.stages else []
        tally = state.tally_lines() if state.stages else []
        reasoning: list[Text] = []
        if self.show_reasoning:
            tail = state.reasoning_tail(max(width - 2, 18))
            reasoning = list(tail.split("\n")) if tail is not None else []
        answer: list[Text] = []
        if self.show_answer and state.answer and not state.stages:
            lines = printable("".join(state.answer)).splitlines()[-ANSWER_TAIL_LINES:]
            answer = [Text(line) for line in lines]
        status = state.status_line()
        room = self.console.height - self._height([*timeline, status], width)
        shown: dict[int, list[Text]] = {}
        for key, block in ((3, answer), (1, tally), (2, reasoning), (0, samples)):
            kept: list[Text] = []
            for line in reversed(block):
                need = self._height([line], width)
                if need > room:
                    break
                kept.insert(0, line)
                room -= need
            shown[key] = kept
        body = [line for key in (0, 1, 2, 3) for line in shown[key]]
        return Group(*timeline, *body, status)

    def _height(self, lines: list[Text], width: int) -> int:
        return sum(len(line.wrap(self.console, width)) for line in lines)

    def __call__(self, event: events.Event) -> None:
        self.state.apply(event)
        if isinstance(event, events.RunStarted) and not self._started:
            self._live.start()
            self._started = True
        elif isinstance(event, events.RunFinished):
            self.stop()  # the summary line is printed by its own sink, after the answer

    def stop(self) -> None:
        if self._started:
            self._live.stop()
            self._started = False
