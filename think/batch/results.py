"""The results of a batch, kept in a JSONL file as they land, so that it can resume.

Each line is one finished prompt: its id, the fingerprint of its query (what shapes the answer,
:func:`think.ledger.reuse.fingerprint`), the batch's id and its output document. A rerun of
the same batch loads them: a prompt whose kept result answered it (status ``ok`` or
``reused``) under the same fingerprint is not asked again; a failed one, or one whose
settings changed, is. A line cut short by an interruption is ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from think.errors import UsageError

ANSWERED = frozenset({"ok", "reused"})
"""The statuses of a kept result that a resumed batch does not ask again."""


class JsonLines:
    """A results file: read whole, appended to a record at a time, each line flushed as it
    is written (an interruption loses at most the line being written). ``think eval``'s
    results file is one too."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def records(self) -> Iterator[Any]:
        """Every line's JSON value; a line cut short (or not JSON) is skipped."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the results file {self.path}: {exc}") from exc
        for line in text.split("\n"):  # not splitlines: U+2028 may be in a JSON string
            try:
                yield json.loads(line)
            except ValueError:
                continue

    def append(self, record: dict[str, Any]) -> None:
        if self._handle is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = self.path.open("a", encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"cannot write the results file {self.path}: {exc}") from exc
        self._handle.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
        self._handle.flush()

    def remove(self) -> None:
        """Forget every kept result (start over)."""
        self.close()
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot remove the results file {self.path}: {exc}") from exc

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


@dataclass(frozen=True)
class Kept:
    """A finished prompt's result."""

    id: str
    fingerprint: str | None
    batch_id: str
    document: dict[str, Any]

    @property
    def answered(self) -> bool:
        return self.document.get("status") in ANSWERED


class ResultsStore(JsonLines):
    """The results file of one batch (a line per finished prompt)."""

    def load(self) -> dict[str, Kept]:
        """The kept results by prompt id (the last one of an id wins)."""
        found: dict[str, Kept] = {}
        for data in self.records():
            try:
                kept = Kept(
                    str(data["id"]), data["fingerprint"], str(data["batch_id"]), data["document"]
                )
            except (KeyError, TypeError):
                continue
            if isinstance(kept.document, dict):
                found[kept.id] = kept
        return found

    def add(self, kept: Kept) -> None:
        self.append(
            {
                "id": kept.id,
                "fingerprint": kept.fingerprint,
                "batch_id": kept.batch_id,
                "document": kept.document,
            }
        )
