"""Wire a batch together: the prompts file → its entries → their queries (one strategy and
one set of providers for all) → the ``now`` runner, with the results kept as they land, the
lines written in input order, the progress bar, the ledger and the exit code."""

from __future__ import annotations

import hashlib
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from think.batch.inputs import Entry, parse_entries
from think.batch.now import Job, Outcome, Recording, run_now
from think.batch.pool import Pool
from think.batch.results import Kept, ResultsStore
from think.cli import wiring
from think.cli.ask_run import deliver_spooled, prepare_queries, reuse_since
from think.cli.batch_api import deferred
from think.cli.batch_view import Tally, failing, line_document, not_sent_document
from think.cli.console import report_error, report_warning, stderr_console
from think.cli.progress import ProgressBar
from think.cli.prompt_input import combine, decode_text, read_file
from think.cli.signals import Terminated, run_until_signal
from think.cli.stdout_writer import OrderedLines
from think.errors import ExitCode, LedgerError, UsageError
from think.ids import new_run_id
from think.providers.batch_jobs import BatchPending, PollPolicy

if TYPE_CHECKING:
    from think import events
    from think.batch.rounds import Rounds
    from think.config.settings import Settings
    from think.providers.registry import ProviderCatalog
    from think.run import Query


@dataclass(frozen=True)
class BatchOptions:
    concurrency: int = 4
    out: str | None = None
    """The file the lines go to (``None``: stdout)."""
    results: str | None = None
    """The results file (``None``: one per input under the user data dir)."""
    restart: bool = False
    quiet: bool = False
    mode: str = "now"
    """``now``: concurrent runs; ``batch``: the providers' batch APIs, in rounds."""
    polling: PollPolicy = field(default_factory=PollPolicy)
    """``--mode batch``: how long and how often to poll a job."""


def read_prompts(name: str) -> tuple[str, str]:
    """The prompts file's name (``stdin`` for ``-``) and its text."""
    if name == "-":
        return "stdin", decode_text(sys.stdin.buffer.read(), "stdin")
    return name, read_file(name)


def default_results_path(source: str, text: str) -> Path:
    """One results file per input (its content: the same prompts from stdin resume too)."""
    from think.config.paths import batch_results_dir

    stem = Path(source).stem or "batch"
    digest = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return batch_results_dir() / f"{stem}-{digest}.jsonl"


def _store(source: str, text: str, settings: Settings, options: BatchOptions) -> Path | None:
    """Where the results are kept; ``None`` under ``--no-log`` without ``--results``: no
    answer is kept where the user did not ask for it."""
    if options.results is not None:
        return Path(options.results).expanduser()
    if settings.no_log:
        return None
    return default_results_path(source, text)


def _check_out(source: str, out: str | None) -> None:
    if out is not None and source != "stdin" and Path(out).resolve() == Path(source).resolve():
        raise UsageError(f"--out {out} is the prompts file; choose another file")


def _open_out(out: str | None) -> IO[str]:
    if out is None:
        return sys.stdout
    try:
        return Path(out).expanduser().open("w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None


def _recording(settings: Settings, batch_id: str, query: Query) -> Recording:
    """The ledger the runs are recorded in; without caps one that cannot be opened does not
    stop the batch (it ends NOT_RECORDED), with caps it does, before anything is spent."""
    caps = wiring.spending_caps(settings)
    since = reuse_since(settings, query)
    content = not settings.no_log
    try:
        ledger = wiring.open_ledger(settings)
    except LedgerError as exc:
        if caps:
            raise LedgerError(f"cannot check the spending caps: {exc}") from exc
        return Recording(batch_id, None, exc, caps, content)
    deliver_spooled(ledger)  # what waits from an earlier outage goes first
    return Recording(batch_id, ledger, None, caps, content, since)


def _resumed(
    entries: list[Entry], queries: list[Query], store: ResultsStore | None, restart: bool
) -> tuple[dict[int, Kept], str | None]:
    """The prompts answered by kept results (by index) under the same fingerprint, and the
    batch id they were part of."""
    if store is None:
        return {}, None
    if restart:
        store.remove()
    kept = store.load()
    done: dict[int, Kept] = {}
    for index, (entry, query) in enumerate(zip(entries, queries, strict=True)):
        found = kept.get(entry.id)
        if found is not None and found.answered and found.fingerprint == query.fingerprint:
            done[index] = found
    return done, next((found.batch_id for found in done.values()), None)


@dataclass(frozen=True)
class Prepared:
    """A batch ready to run: its prompts and their queries, and what is kept of it."""

    entries: list[Entry]
    queries: list[Query]
    catalog: ProviderCatalog
    store: ResultsStore | None
    done: dict[int, Kept]
    batch_id: str

    def label(self, index: int, source: str) -> str:
        return f"{source}:{self.entries[index].line}"


def prepare(source: str, text: str, settings: Settings, options: BatchOptions) -> Prepared:
    """Every line checked and every query built (a bad line, an unknown model or a missing
    key is an error before anything is sent), the kept results loaded."""
    entries = parse_entries(text, source)
    _check_out(source, options.out)
    prompts = [
        (combine(entry.prompt.strip(), entry.input or ""), f"{source}:{entry.line}: the prompt")
        for entry in entries
    ]
    queries, catalog = prepare_queries(prompts, settings)
    if options.mode == "batch":
        from think.cli.batch_api import check_settings, upfront
        from think.providers.registry import check_batch_api

        check_settings(settings)
        for ref in queries[0].strategy.models:
            check_batch_api(catalog.endpoint(ref.provider))
        queries = upfront(queries)
    path = _store(source, text, settings, options)
    store = None if path is None else ResultsStore(path)
    done, batch_id = _resumed(entries, queries, store, options.restart)
    if done and store is not None:
        report_warning(
            f"resuming: {len(done)} of {len(entries)} prompts answered in {store.path} "
            "(--restart asks them again)"
        )
    return Prepared(entries, queries, catalog, store, done, batch_id or new_run_id())


def _rounds(batch: Prepared, source: str, text: str, options: BatchOptions) -> Rounds | None:
    """``--mode batch``: the rounds every run's calls wait in (all runs at once), their jobs
    kept beside the results file; ``None`` for ``--mode now``."""
    if options.mode != "batch":
        return None
    from think.cli.batch_api import job_state_path, open_rounds

    store = batch.store
    state = job_state_path(store.path if store else default_results_path(source, text))
    if options.restart:
        state.unlink(missing_ok=True)
    return open_rounds(batch.catalog, state, options.polling, quiet=options.quiet)


def run_batch(source: str, text: str, settings: Settings, options: BatchOptions) -> int:
    batch = prepare(source, text, settings, options)
    entries, queries, store, done, batch_id = (
        batch.entries,
        batch.queries,
        batch.store,
        batch.done,
        batch.batch_id,
    )
    price_for = wiring.price_lookup(settings, batch.catalog)
    if settings.max_cost is None:  # with a cap, an unknown price is refused (and said) instead
        from think.budget import unknown_price

        for ref in wiring.unpriced_models(queries[0].strategy.plan(queries[0].options), price_for):
            report_warning(f"warning: cost unknown: {unknown_price(str(ref))}")
    recording = _recording(settings, batch_id, queries[0])
    jobs = [
        Job(index, batch.label(index, source), query)
        for index, query in enumerate(queries)
        if index not in done
    ]
    rounds = _rounds(batch, source, text, options)
    pool = Pool(
        price_for,
        batch.catalog.create if rounds is None else deferred(batch.catalog.create, rounds),
        concurrency=options.concurrency if rounds is None else max(len(jobs), 1),
        max_cost=settings.max_cost,
        cap_each=bool(recording.caps),
        tier_price=wiring.tier_price_lookup(settings, batch.catalog),
    )
    tally = Tally(len(entries))
    written: dict[int, dict[str, Any]] = {}
    with ExitStack() as stack:
        if recording.ledger is not None:
            stack.callback(recording.ledger.close)
        if store is not None:
            stack.callback(store.close)
        out = _open_out(options.out)
        if out is not sys.stdout:
            stack.callback(out.close)
        lines = OrderedLines(out)
        bar = stack.enter_context(ProgressBar(len(entries), "batch", enabled=not options.quiet))

        def put(index: int, document: dict[str, Any]) -> None:
            written[index] = document
            tally.add(document)
            lines.put(index, document)
            bar.step(tally.progress())

        for index, found in sorted(done.items()):
            put(index, found.document)

        def finished(job: Job, run: events.RunRecord) -> None:
            entry = entries[job.index]
            document = line_document(entry.id, run, batch_id)
            if store is not None:
                store.add(Kept(entry.id, job.query.fingerprint, batch_id, document))
            put(job.index, document)

        work = run_now(jobs, pool, recording, finished, watch=rounds.prompt if rounds else None)
        try:
            outcome = run_until_signal(work if rounds is None else rounds.drive(work))
        except (BatchPending, KeyboardInterrupt) as exc:
            bar.stop()
            return _cut_short(exc, tally, store)
        if outcome.stopped is not None:
            for index, entry in enumerate(entries):
                if index not in written:
                    put(index, not_sent_document(entry.id, outcome.stopped, batch_id))
        bar.stop()
    failed = [(batch.label(i, source), written[i]) for i in sorted(written) if failing(written[i])]
    return _ending(tally, outcome, failed, batch_id, quiet=options.quiet)


def _cut_short(
    exc: BatchPending | KeyboardInterrupt, tally: Tally, store: ResultsStore | None
) -> int:
    """Say why the batch stopped before its end (what it finished is kept) and return the
    exit code: a job still running at the provider (9), Ctrl-C (130), a signal."""
    kept = f", kept in {store.path}" if store is not None else ""
    said = f"{tally.done} of {tally.total} prompts done{kept}: the same command resumes"
    if isinstance(exc, BatchPending):
        report_error(f"{exc}; {said}")
        return int(exc.exit_code)
    if isinstance(exc, Terminated):
        report_error(f"terminated by {exc.name}; {said}")
        return exc.exit_code
    report_error(f"interrupted; {said}")
    return ExitCode.INTERRUPTED


def _ending(
    tally: Tally,
    outcome: Outcome,
    failed: list[tuple[str, dict[str, Any]]],
    batch_id: str,
    *,
    quiet: bool,
) -> int:
    """Say how the batch ended on stderr and return its exit code: the stop's (the budget:
    5, a spending cap: 7), else the first failed prompt's, else NOT_RECORDED when the ledger
    failed, else 0."""
    if not quiet and sys.stderr.isatty():
        stderr_console().print(tally.summary(batch_id))
    code = ExitCode.OK
    if outcome.stopped is not None:
        report_warning(
            f"batch stopped early: {outcome.stopped.reason}; {tally.not_sent} prompts not sent"
        )
        code = outcome.stopped.exit_code
    if failed:
        label, document = failed[0]
        report_warning(
            f"{tally.failed} of {tally.total} prompts failed; the first, {label}: "
            f"{document.get('error') or document.get('status')}"
        )
        if code == ExitCode.OK:
            code = ExitCode(document.get("exit_code") or ExitCode.INTERNAL)
    if outcome.spooled:
        first = outcome.spooled[0]
        report_warning(
            f"warning: the team ledger {first.spooled_from} went away during the batch; "
            f"{len(outcome.spooled)} runs are kept in {first.spooled}: `think ledger sync` "
            "will deliver them"
        )
    if outcome.not_recorded is not None:
        report_error(f"the runs were not recorded: {outcome.not_recorded}")
        if code == ExitCode.OK:
            code = ExitCode.NOT_RECORDED
    return int(code)
