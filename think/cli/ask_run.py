"""Wire a query together: settings → strategy → providers, with the ledger, the live view
and stdout as consumers of the run's events."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

from rich.console import Console

from think import events
from think.budget import unknown_price
from think.cli import wiring
from think.cli.console import report_error, report_warning, stderr_console
from think.cli.live_view import LiveView, summary_line
from think.cli.stdout_writer import AnswerWriter
from think.config.settings import Settings
from think.errors import ExitCode, LedgerError
from think.ledger.caps import reserve_run
from think.ledger.recorder import LedgerRecorder
from think.money import format_usd
from think.run import Query, execute, start_record
from think.strategies.single import ANSWER_STAGE

if TYPE_CHECKING:
    from think.providers.registry import ProviderCatalog


def prepare_query(prompt: str, settings: Settings) -> tuple[Query, ProviderCatalog]:
    """The query the settings describe and the providers it may call; an unknown provider
    or a strategy that cannot be built is a usage error, and a provider without its key an
    auth error, before anything is recorded or spent."""
    strategy = wiring.build_strategy(settings)
    catalog = wiring.provider_catalog(settings)
    options = wiring.query_options(settings)
    providers = {ref.provider for ref in strategy.models}
    providers.update(step.model.provider for step in strategy.plan(options))
    for name in sorted(providers):
        # A missing key fails here, before the run is recorded or anything is sent.
        catalog.endpoint(name).check_key()
    query = Query(prompt=prompt, strategy=strategy, options=options, max_cost=settings.max_cost)
    return query, catalog


def ask(prompt: str, settings: Settings) -> events.RunRecord:
    """Answer ``prompt`` and record the run, with no output: the Python API's ``think.ask``."""
    query, catalog = prepare_query(prompt, settings)
    recorder, run = start_recording(settings, start_record(query))
    price_for = wiring.price_lookup(settings, catalog)
    try:
        run = asyncio.run(execute(query, events.EventBus(recorder), price_for, catalog.create, run))
    finally:
        if recorder.ledger is not None:
            recorder.ledger.close()
    if recorder.error is not None:
        import warnings

        warnings.warn(f"the run was not recorded: {recorder.error}", RuntimeWarning, stacklevel=3)
    return run


def run_query(prompt: str, settings: Settings, *, json_output: bool, quiet: bool) -> int:
    query, catalog = prepare_query(prompt, settings)
    recorder, run = start_recording(settings, start_record(query))

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
    anomalies: list[str] = []
    sinks.append(_anomalies(anomalies))
    sinks.append(AnswerWriter(as_json=json_output, stream_stage=stream_stage))
    if live_enabled:
        sinks.append(_summary(console))
    bus = events.EventBus(*sinks)

    price_for = wiring.price_lookup(settings, catalog)
    if query.max_cost is None:  # with a cap, an unknown price is refused (and said) instead
        for ref in wiring.unpriced_models(query, price_for):
            report_warning(f"warning: cost unknown: {unknown_price(str(ref))}")
    try:
        run = asyncio.run(execute(query, bus, price_for, catalog.create, run))
    except KeyboardInterrupt:
        if live is not None:
            live.stop()
        report_error("interrupted; the partial run is in the ledger")
        return ExitCode.INTERRUPTED
    finally:
        if recorder.ledger is not None:
            recorder.ledger.close()
    for anomaly in anomalies:
        report_warning(anomaly)
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


def start_recording(
    settings: Settings, run: events.RunRecord
) -> tuple[LedgerRecorder, events.RunRecord]:
    """Open the ledger and, under spending caps, reserve the run's maximum cost in it.

    Without caps a ledger that cannot be opened does not stop the run (it ends with
    NOT_RECORDED); with caps it does, before anything is spent: they cannot be checked.
    """
    content = not settings.no_log
    caps = wiring.spending_caps(settings)
    try:
        ledger = wiring.open_ledger(settings)
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


def _anomalies(found: list[str]) -> events.EventSink:
    """Collects a warning for each call whose report was not believed (shown after the run,
    not under the live view)."""

    def sink(event: events.Event) -> None:
        if isinstance(event, events.CallFinished) and event.call.anomaly:
            record = event.call
            found.append(
                f"warning: {record.provider}:{record.model}: not believed: {record.anomaly}; "
                f"counted here: {record.usage.output_tokens} output tokens, "
                f"{format_usd(record.cost.usd)}"
            )

    return sink


def _summary(console: Console) -> events.EventSink:
    def sink(event: events.Event) -> None:
        if isinstance(event, events.RunFinished):
            console.print(summary_line(event.run))

    return sink
