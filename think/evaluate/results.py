"""Per-question results of ``think eval``, kept in a JSONL results file as they land.

The file makes an evaluation resumable: a rerun with the same file skips every (setting,
question) pair already there whose setting fingerprint is unchanged. A line cut short by
an interruption is ignored.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from think.errors import UsageError


@dataclass(frozen=True)
class ItemResult:
    setting: str
    item_id: str
    correct: bool
    cost_usd: float | None
    escalated: bool
    status: str
    duration_ms: int
    fingerprint: str = ""
    detail: str = ""
    """Why a scored test failed or passed (code items); empty for compared answers."""


class ResultsFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def load(self) -> dict[tuple[str, str], ItemResult]:
        found: dict[tuple[str, str], ItemResult] = {}
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return found
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the results file {self.path}: {exc}") from exc
        for line in lines:
            try:
                result = ItemResult(**json.loads(line))
            except (ValueError, TypeError):
                continue  # a line cut short when the evaluation was interrupted
            found[(result.setting, result.item_id)] = result
        return found

    def append(self, result: ItemResult) -> None:
        if self._handle is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = self.path.open("a", encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"cannot write the results file {self.path}: {exc}") from exc
        self._handle.write(json.dumps(asdict(result)) + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
