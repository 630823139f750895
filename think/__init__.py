"""think: cost-aware reasoning queries from the command line, and from Python.

The small public surface (everything else is internal and may change)::

    import think

    run = think.ask("What is 17 * 23?", strategy="cascade", max_cost=0.05)
    print(run.answer, run.cost.usd, run.escalated)

    for stored in think.recent_runs(limit=5, status="ok"):
        print(stored.id, stored.cost_usd, stored.prompt)

``ask`` takes any setting by its config-file name (``model``, ``cheap``, ``strong``,
``strategy``, ``samples``, ``max_cost``, ``verify_cmd``, ``ledger`` …); the rest come from
``THINK_*`` variables and the config file, as for the command. Every run is recorded in the
ledger, under the spending caps. Errors are :class:`ThinkError` subclasses.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: ``think --version`` must not pay for importing typing

__version__ = "0.1.0"

__all__ = [
    "RunRecord",
    "StoredCall",
    "StoredRun",
    "ThinkError",
    "__version__",
    "ask",
    "recent_runs",
    "run_calls",
]

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from think.errors import ThinkError
    from think.events import RunRecord
    from think.ledger.records import StoredCall, StoredRun
    from think.ledger.store import Ledger


def ask(prompt: str, **settings: Any) -> RunRecord:
    """Answer ``prompt`` as ``think PROMPT`` would (no output) and return the recorded run."""
    from think.cli.ask_run import ask as ask_and_record
    from think.config.settings import load_settings

    return ask_and_record(prompt, load_settings(settings))


def recent_runs(
    limit: int = 20,
    *,
    ledger: Path | str | None = None,
    status: str | None = None,
    model: str | None = None,
    text: str | None = None,
) -> list[StoredRun]:
    """The newest recorded runs, newest first, filtered as ``think ledger`` filters."""
    from think.ledger.queries import RunFilter, list_runs

    with _ledger(ledger) as store:
        return list_runs(store, RunFilter(status=status, model=model, text=text), limit)


def run_calls(run_id: str, *, ledger: Path | str | None = None) -> list[StoredCall]:
    """The provider calls of the run whose id starts with ``run_id``."""
    from think.ledger.queries import calls_of, find_run

    with _ledger(ledger) as store:
        return calls_of(store, find_run(store, run_id))


def _ledger(path: Path | str | None) -> Ledger:
    """The ledger the settings name (``THINK_LEDGER``, the config file), or ``path``."""
    from think.cli.wiring import open_ledger
    from think.config.settings import load_settings

    return open_ledger(load_settings({"ledger": path}))


def __getattr__(name: str) -> Any:
    # The types load on first use, so ``import think`` stays light for the command.
    if name == "ThinkError":
        from think.errors import ThinkError

        return ThinkError
    if name == "RunRecord":
        from think.events import RunRecord

        return RunRecord
    if name in ("StoredRun", "StoredCall"):
        from think.ledger import records

        return getattr(records, name)
    raise AttributeError(f"module 'think' has no attribute {name!r}")
