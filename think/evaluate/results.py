"""Per-question results of ``think eval``, kept in a JSONL results file as they land.

The file makes an evaluation resumable: a rerun with the same file skips every (setting,
question) pair already there whose setting fingerprint is unchanged. A line cut short by
an interruption is ignored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from think.batch.results import JsonLines


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


class ResultsFile(JsonLines):
    def load(self) -> dict[tuple[str, str], ItemResult]:
        found: dict[tuple[str, str], ItemResult] = {}
        for data in self.records():
            try:
                result = ItemResult(**data)
            except TypeError:
                continue  # not a result of this format
            found[(result.setting, result.item_id)] = result
        return found

    def add(self, result: ItemResult) -> None:
        self.append(asdict(result))
