"""Reuse: answer a run from the ledger, at $0, with the answer of an earlier identical run.

A run's *fingerprint* hashes everything that shapes its answer: think's version, the strategy
with all its parameters (the models it calls — cheap, strong, judge —, samples, the cascade's
policy, the verifier and its command, rounds, the judge's samples and threshold), the query
options (system prompt, ``max_tokens``, temperature, effort, answer format), the endpoints the
models are served by (protocol, base URL, weights or replay file) and the composed prompt (the
argument, stdin and ``--file`` together, as sent). It leaves out what does not: ``--max-cost``,
spending caps, timeouts and retries, keys and headers, the ledger, the output flags.

Only a successful run (status ``ok``) that recorded its content is reused: never a failed,
cut, cancelled, budget-limited or abandoned run, nor a ``--no-log`` run (it stores no
fingerprint). A reused run (status ``reused``) points at the run whose answer it gave, the
root original, never at another reused run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from think.ledger.records import StoredRun
from think.ledger.store import Ledger

if TYPE_CHECKING:
    from think import events
    from think.run import Query

DETERMINISTIC_STRATEGIES = frozenset({"single"})
"""Strategies whose answer at temperature 0 is the same each time: one call, no sampling
(a cascade or a vote samples at a temperature above 0 by design; a model's native reasoning
mode, which ``reason`` uses, takes no temperature)."""


def fingerprint(query: Query, endpoints: Iterable[str]) -> str:
    """The hash of what shapes ``query``'s answer (see the module's docstring);
    ``endpoints`` identify how each provider the query may call serves its models."""
    from think import __version__

    identity = {
        "think": __version__,
        "strategy": repr(query.strategy),
        "options": repr(query.options),
        "endpoints": sorted(endpoints),
        "prompt": query.prompt,
    }
    text = json.dumps(identity, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def deterministic(query: Query) -> bool:
    """Reuse cannot change what the run would answer: temperature 0 and one call."""
    return query.strategy.name in DETERMINISTIC_STRATEGIES and query.options.temperature == 0


ORIGINAL_SQL = (
    "SELECT * FROM runs WHERE fingerprint = ? AND started_at >= ? AND status = 'ok' "
    "AND no_log = 0 AND answer IS NOT NULL ORDER BY started_at DESC LIMIT 1"
)
"""The run a reuse answers with (the fingerprint index finds it)."""


def find_original(ledger: Ledger, run_fingerprint: str, since: str) -> StoredRun | None:
    """The newest successful run with this fingerprint started at or after ``since`` (UTC
    ISO), with an answer to give; one look-up in the fingerprint index."""
    row = ledger.one(ORIGINAL_SQL, [run_fingerprint, since])
    return None if row is None else StoredRun.from_row(row)


def reused_record(run: events.RunRecord, original: StoredRun) -> events.RunRecord:
    """``run`` (just started) answered by ``original``'s answer: status ``reused``, no
    calls, cost $0 (``computed``: nothing was called, as for any run without calls)."""
    from think.ids import utc_now
    from think.pricing import Cost
    from think.usage import Usage

    return dataclasses.replace(
        run,
        status="reused",
        finished_at=utc_now(),
        duration_ms=0,
        answer=original.answer,
        answer_model=original.answer_model,
        final_answer=original.row.get("final_answer"),
        answer_shape=original.answer_shape,
        exit_code=0,
        cost=Cost(Decimal(0), "computed"),
        usage=Usage(),
        calls=0,
        reused_from=original.id,
    )
