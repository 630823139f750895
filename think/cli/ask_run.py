"""Wire a query together: settings → strategy → providers, with the ledger, the live view
and stdout as consumers of the run's events."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from think import events
from think.budget import unknown_price
from think.cli import wiring
from think.cli.console import report_error, report_warning
from think.cli.prompt_input import check_text
from think.cli.signals import Terminated, run_until_signal
from think.cli.stdout_writer import AnswerWriter
from think.config.settings import Settings
from think.errors import ExitCode, LedgerError
from think.ledger.location import is_url
from think.ledger.recorder import LedgerRecorder, start_run
from think.ledger.reuse import deterministic, find_original, fingerprint, reused_record
from think.money import format_usd
from think.run import Query, execute, start_record

if TYPE_CHECKING:
    from rich.console import Console

    from think.cli.live_view import LiveView
    from think.ledger.records import StoredRun
    from think.ledger.store import Ledger
    from think.providers.registry import ProviderCatalog


STREAMED_STAGES = frozenset({"answer", "escalate"})
"""Stages whose text is the run's answer as it arrives: single's and the cascade's strong
call (never a cheap sample: it may be rejected). Names, not imports: a single run does not
load the cascade."""


def prepare_query(prompt: str, settings: Settings) -> tuple[Query, ProviderCatalog]:
    """The query the settings describe and the providers it may call; an unknown provider
    or a strategy that cannot be built is a usage error, and a provider without its key an
    auth error, before anything is recorded or spent."""
    (query,), catalog = prepare_queries([(prompt, "the prompt")], settings)
    return query, catalog


def prepare_queries(
    prompts: Sequence[tuple[str, str]], settings: Settings
) -> tuple[list[Query], ProviderCatalog]:
    """:func:`prepare_query` for many prompts (each with what to call it in an error) under
    the same settings: one strategy and one set of providers for them all."""
    for prompt, what in prompts:
        check_text(prompt, what)
    if settings.system:  # from the environment (THINK_SYSTEM), where bytes pass unchecked
        check_text(settings.system, "the system prompt")
    strategy = wiring.build_strategy(settings)
    catalog = wiring.provider_catalog(settings)
    options = wiring.query_options(settings)
    providers = {ref.provider for ref in strategy.models}
    providers.update(step.model.provider for step in strategy.plan(options))
    endpoints = []
    for name in sorted(providers):
        endpoint = catalog.endpoint(name)
        # A missing key fails here, before the run is recorded or anything is sent.
        endpoint.check_key()
        endpoints.append(wiring.endpoint_identity(settings, endpoint))
    tiers = wiring.tier_policy(settings)
    if tiers:  # a tier a provider lacks is refused before anything is recorded or sent
        wiring.check_tiers(tiers, strategy.plan(options), catalog)
    queries = []
    for prompt, _ in prompts:
        query = Query(
            prompt=prompt,
            strategy=strategy,
            options=options,
            max_cost=settings.max_cost,
            tiers=tiers,
        )
        queries.append(dataclasses.replace(query, fingerprint=fingerprint(query, endpoints)))
    return queries, catalog


def reuse_since(settings: Settings, query: Query) -> str | None:
    """Since when (UTC ISO) an earlier run may answer ``query``; ``None``: reuse is off
    (by default it is on only where it cannot change the answer)."""
    from think.periods import iso, parse_when

    wanted = deterministic(query) if settings.reuse is None else settings.reuse
    if not wanted:
        return None
    return iso(parse_when(settings.reuse_max_age, "--reuse-max-age"))


def find_reusable(settings: Settings, query: Query) -> tuple[Ledger | None, StoredRun | None]:
    """The ledger (opened when reuse is on) and the earlier run whose answer ``query`` may
    reuse, if any. A ledger that cannot be read means a fresh answer (the run's recording
    then says what is wrong with it)."""
    since = reuse_since(settings, query)
    if since is None or query.fingerprint is None:
        return None, None
    try:
        ledger = wiring.open_ledger(settings)
    except LedgerError as exc:
        if is_url(settings.ledger):  # a team's ledger out of reach (see start_recording)
            raise LedgerError(f"{exc}; nothing was sent") from None
        return None, None
    try:
        return ledger, find_original(ledger, query.fingerprint, since)
    except LedgerError:
        return ledger, None


def record_reuse(
    ledger: Ledger,
    query: Query,
    original: StoredRun,
    settings: Settings,
    *sinks: events.EventSink,
) -> tuple[events.RunRecord, LedgerRecorder]:
    """Answer ``query`` with ``original``'s answer: recorded as its own run (status
    ``reused``, $0, no calls, no reservation), and shown to ``sinks``."""
    run = reused_record(start_record(query), original)
    recorder = LedgerRecorder(ledger, content=not settings.no_log)
    try:
        events.EventBus(recorder, *sinks)(events.RunFinished(run))
    finally:
        ledger.close()
    return run, recorder


def reuse_notice(original: StoredRun) -> str:
    from think.periods import local_moment, local_time_of

    when = local_time_of(local_moment(original.started_at))
    return f"reused from run {original.id[:8]} of {when}, $0.00 (--no-reuse for a fresh answer)"


def ask(prompt: str, settings: Settings) -> events.RunRecord:
    """Answer ``prompt`` and record the run, with no output: the Python API's ``think.ask``."""
    query, catalog = prepare_query(prompt, settings)
    ledger, original = find_reusable(settings, query)
    if ledger is not None and original is not None:
        run, recorder = record_reuse(ledger, query, original, settings)
    else:
        recorder, run = start_recording(settings, start_record(query), ledger)
        price_for = wiring.price_lookup(settings, catalog)
        tier_price = wiring.tier_price_lookup(settings, catalog)
        bus = events.EventBus(recorder)
        try:
            run = asyncio.run(execute(query, bus, price_for, catalog.create, run, tier_price))
        finally:
            recorder.close()
    if recorder.spooled is not None or recorder.error is not None:
        import warnings

        text = f"the run was not recorded: {recorder.error}" if recorder.error else ""
        warnings.warn(text or spooled_notice(recorder), RuntimeWarning, stacklevel=3)
    return run


def spooled_notice(recorder: LedgerRecorder) -> str:
    """The one line that says a run waits in the spool (its team ledger went away)."""
    return (
        f"the team ledger {recorder.spooled_from} went away during the run; the run is "
        f"kept in {recorder.spooled}: `think ledger sync` will deliver it"
    )


def deliver_spooled(ledger: Ledger) -> None:
    """Deliver the runs spooled for this team ledger while it was away (one line on stderr
    when any were; nothing for a ledger file, which has no spool); a failure leaves them
    spooled, and says so, and the run goes on."""
    from think.ledger.spool import deliver

    try:
        copied = deliver(ledger)
    except LedgerError as exc:
        report_warning(f"warning: spooled runs not delivered yet: {exc}")
        return
    if copied is not None and copied.runs:
        report_warning(
            f"delivered {copied.runs} spooled runs to the team ledger {ledger.engine.where}"
        )


def run_query(prompt: str, settings: Settings, *, json_output: bool, quiet: bool) -> int:
    query, catalog = prepare_query(prompt, settings)
    ledger, original = find_reusable(settings, query)
    if ledger is not None and original is not None:
        report_warning(reuse_notice(original))
        writer = AnswerWriter(as_json=json_output, stream_stages=frozenset())
        _, recorder = record_reuse(ledger, query, original, settings, writer)
        return _ending(None, [], recorder)
    recorder, run = start_recording(settings, start_record(query), ledger)

    live_enabled = not quiet and sys.stderr.isatty()
    stdout_tty = sys.stdout.isatty()
    sinks: list[events.EventSink] = []
    live: LiveView | None = None
    if live_enabled:  # Rich loads only when the live view will draw
        from think.cli.console import stderr_console
        from think.cli.live_view import LiveView

        console = stderr_console()
        live = LiveView(
            console,
            show_answer=stdout_tty and not json_output,
            show_reasoning=not settings.hide_reasoning,
        )
        sinks.append(live)
    # the answer is streamed to a pipe or a bare terminal as it arrives; with the live view on
    # the terminal it is shown there instead, and printed whole at the end
    streamed = frozenset() if (live is not None and stdout_tty) else STREAMED_STAGES
    sinks.append(recorder)
    anomalies: list[str] = []
    sinks.append(_anomalies(anomalies))
    sinks.append(AnswerWriter(as_json=json_output, stream_stages=streamed))
    if live_enabled:
        sinks.append(_summary(console))
    bus = events.EventBus(*sinks)

    price_for = wiring.price_lookup(settings, catalog)
    if query.max_cost is None:  # with a cap, an unknown price is refused (and said) instead
        for ref in wiring.unpriced_models(query.strategy.plan(query.options), price_for):
            report_warning(f"warning: cost unknown: {unknown_price(str(ref))}")
    try:
        tier_price = wiring.tier_price_lookup(settings, catalog)
        run = run_until_signal(execute(query, bus, price_for, catalog.create, run, tier_price))
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP (Terminated)
        if live is not None:
            live.stop()
        if isinstance(exc, Terminated):
            report_error(f"terminated by {exc.name}; the partial run is in the ledger")
            return exc.exit_code
        report_error("interrupted; the partial run is in the ledger")
        return ExitCode.INTERRUPTED
    finally:
        recorder.close()
    return _ending(run, anomalies, recorder)


def _ending(run: events.RunRecord | None, anomalies: list[str], recorder: LedgerRecorder) -> int:
    """Say how the run ended on stderr (warnings, the error, a ledger that failed) and
    return its exit code; ``run`` None: answered from the ledger."""
    for anomaly in dict.fromkeys(anomalies):  # five samples priced alike warn once
        report_warning(anomaly)
    if run is not None and run.status == "error" and run.error:
        report_error(run.error)
    elif run is not None and run.status == "budget_exhausted":
        message = run.error or "stopped at --max-cost"
        if not message.startswith("budget exhausted"):
            message = f"budget exhausted: {message}"
        report_warning(message)
    code = ExitCode((run.exit_code if run is not None else 0) or 0)
    if recorder.spooled is not None:
        report_warning(f"warning: {spooled_notice(recorder)}")
    if recorder.error is not None:
        report_error(f"the run was not recorded: {recorder.error}")
        if code == ExitCode.OK:
            code = ExitCode.NOT_RECORDED
    return int(code)


def start_recording(
    settings: Settings, run: events.RunRecord, ledger: Ledger | None = None
) -> tuple[LedgerRecorder, events.RunRecord]:
    """Open the ledger (unless ``ledger`` is open already) and, under spending caps, reserve
    the run's maximum cost in it.

    Without caps a ledger file that cannot be opened does not stop the run (it ends with
    NOT_RECORDED); with caps it does, before anything is spent: they cannot be checked. A
    team's PostgreSQL ledger out of reach always stops it before anything is sent (the
    team's caps and record live there).
    """
    content = not settings.no_log
    caps = wiring.spending_caps(settings)
    try:
        ledger = ledger or wiring.open_ledger(settings)
    except LedgerError as exc:
        if caps:
            raise LedgerError(f"cannot check the spending caps: {exc}") from None
        if is_url(settings.ledger):
            raise LedgerError(f"{exc}; nothing was sent") from None
        return LedgerRecorder(None, exc, content=content), run
    try:
        deliver_spooled(ledger)
        return start_run(ledger, run, caps, content=content)
    except BaseException:
        ledger.close()
        raise


def _anomalies(found: list[str]) -> events.EventSink:
    """Collects a warning for each call whose report was not believed (shown after the run,
    not under the live view)."""

    def sink(event: events.Event) -> None:
        if isinstance(event, events.CallFinished) and event.call.tier_note:
            found.append(event.call.tier_note)
        if isinstance(event, events.CallFinished) and event.call.anomaly:
            record = event.call
            found.append(
                f"warning: {record.provider}:{record.model}: not believed: {record.anomaly}; "
                f"counted here: {record.usage.output_tokens} output tokens, "
                f"{format_usd(record.cost.usd)}"
            )

    return sink


def _summary(console: Console) -> events.EventSink:
    from think.cli.live_view import SUMMARY_WIDTH, summary_line

    def sink(event: events.Event) -> None:
        if isinstance(event, events.RunFinished):
            console.print(summary_line(event.run, min(console.width, SUMMARY_WIDTH)))

    return sink
