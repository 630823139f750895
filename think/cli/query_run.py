"""Wire a query together: settings → strategy → providers, with the ledger, the live view
and stdout as consumers of the run's events."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from decimal import Decimal
from functools import cache

from rich.console import Console

from think import events
from think.cli.console import report_error, report_warning, stderr_console
from think.display import LiveView, summary_line
from think.errors import LedgerError, UsageError
from think.exit_codes import ExitCode
from think.ledger import LedgerRecorder, open_ledger
from think.ledger_caps import Caps, reserve_run
from think.model_ref import ModelRef
from think.output import AnswerWriter
from think.pricing import ModelPrice, PriceOverride, lookup_price
from think.providers.base import Provider
from think.providers.registry import create_provider, resolve_endpoint
from think.run import Query, execute, start_record
from think.settings import Settings
from think.strategies.base import QueryOptions
from think.strategies.factory import build_strategy
from think.strategies.single import ANSWER_STAGE


def price_lookup(settings: Settings) -> Callable[[ModelRef], ModelPrice | None]:
    @cache
    def price_for(ref: ModelRef) -> ModelPrice | None:
        endpoint = resolve_endpoint(ref.provider, settings)
        builtin = {
            f"{endpoint.name}:{model}": PriceOverride(input_mtok=i, output_mtok=o)
            for model, i, o in endpoint.prices
        }
        return lookup_price(
            ref.provider,
            ref.model,
            price_provider=endpoint.price_provider,
            overrides={**builtin, **settings.prices},
            local=endpoint.local,
        )

    return price_for


def query_options(settings: Settings) -> QueryOptions:
    from think.strategies.answers import parse_answer_format

    try:
        fmt = parse_answer_format(settings.answer_format)
    except ValueError as exc:
        raise UsageError(f"--answer-format: {exc}") from exc
    return QueryOptions(
        settings.max_tokens,
        settings.temperature,
        settings.system,
        answer_format=fmt,
        effort=settings.effort,
    )


def run_query(prompt: str, settings: Settings, *, json_output: bool, quiet: bool) -> int:
    strategy = build_strategy(settings)
    for ref in strategy.models:  # unknown provider: usage error before anything
        resolve_endpoint(ref.provider, settings)
    query = Query(
        prompt=prompt,
        strategy=strategy,
        options=query_options(settings),
        max_cost=None if settings.max_cost is None else Decimal(str(settings.max_cost)),
    )
    recorder, run = _start(settings, start_record(query))

    live_enabled = not quiet and sys.stderr.isatty()
    stdout_tty = sys.stdout.isatty()
    sinks: list[events.EventSink] = []
    live: LiveView | None = None
    console = stderr_console()
    if live_enabled:
        live = LiveView(
            console,
            show_answer=stdout_tty and not json_output,
            show_reasoning=not settings.hide_reasoning,
        )
        sinks.append(live)
    stream_stage = None if (live is not None and stdout_tty) else ANSWER_STAGE
    sinks.append(recorder)
    sinks.append(AnswerWriter(as_json=json_output, stream_stage=stream_stage))
    if live_enabled:
        sinks.append(_summary(console))
    bus = events.EventBus(*sinks)

    def make_provider(name: str) -> Provider:
        return create_provider(name, settings)

    try:
        run = asyncio.run(execute(query, bus, price_lookup(settings), make_provider, run))
    except KeyboardInterrupt:
        if live is not None:
            live.stop()
        report_error("interrupted; the partial run is in the ledger")
        return ExitCode.INTERRUPTED
    finally:
        if recorder.ledger is not None:
            recorder.ledger.close()
    if run.status == "error" and run.error:
        report_error(run.error)
    elif run.status == "budget_exhausted":
        message = run.error or "stopped at --max-cost"
        if not message.startswith("budget exhausted"):
            message = f"budget exhausted: {message}"
        report_warning(message)
    code = ExitCode(run.exit_code or 0)
    if recorder.error is not None:
        report_error(f"the run was not recorded: {recorder.error}")
        if code == ExitCode.OK:
            code = ExitCode.NOT_RECORDED
    return int(code)


def _start(settings: Settings, run: events.RunRecord) -> tuple[LedgerRecorder, events.RunRecord]:
    """Open the ledger and, under spending caps, reserve the run's maximum cost in it.

    Without caps a ledger that cannot be opened does not stop the run (it ends with
    NOT_RECORDED); with caps it does, before anything is spent: they cannot be checked.
    """
    content = not settings.no_log
    caps = _caps(settings)
    try:
        ledger = open_ledger(settings)
    except LedgerError as exc:
        if caps:
            raise LedgerError(f"cannot check the spending caps: {exc}") from exc
        return LedgerRecorder(None, exc, content=content), run
    if caps:
        try:
            run = reserve_run(ledger, run, caps, content=content)
        except BaseException:
            ledger.close()
            raise
    return LedgerRecorder(ledger, content=content, start_recorded=bool(caps)), run


def _caps(settings: Settings) -> Caps:
    def usd(value: float | None) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    return Caps(daily=usd(settings.daily_budget), monthly=usd(settings.monthly_budget))


def _summary(console: Console) -> events.EventSink:
    def sink(event: events.Event) -> None:
        if isinstance(event, events.RunFinished):
            console.print(summary_line(event.run))

    return sink
