"""The batch jobs a ``think batch --mode batch`` sent, kept in a JSON file beside its results.

Written as soon as a job is created (before it is polled), so that an interruption or the
poll deadline loses no job: the same command attaches to it by its requests' custom ids
(:func:`think.batch.rounds._requests` gives a call the same id every time), and ``think batch
status|cancel`` can name it. A job whose results were delivered is marked so: reading it
again (for a run the interruption cut short) is not paid twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from think.errors import UsageError


@dataclass(frozen=True)
class KeptJob:
    provider: str
    job_id: str
    ids: tuple[str, ...]
    delivered: bool = False


class JobState:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.jobs: list[KeptJob] = self._load()

    def _load(self) -> list[KeptJob]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise UsageError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        try:
            return [
                KeptJob(str(j["provider"]), str(j["job_id"]), tuple(j["ids"]), bool(j["delivered"]))
                for j in json.loads(text)["jobs"]
            ]
        except (ValueError, KeyError, TypeError):
            raise UsageError(
                f"{self.path}: not a think batch job file (remove it, or use --restart)"
            ) from None

    def find(self, provider: str, ids: list[str]) -> KeptJob | None:
        """A job of ``provider`` that holds every one of ``ids``."""
        wanted = set(ids)
        for job in reversed(self.jobs):
            if job.provider == provider and wanted <= set(job.ids):
                return job
        return None

    def add(self, provider: str, job_id: str, ids: list[str]) -> None:
        self.jobs.append(KeptJob(provider, job_id, tuple(ids)))
        self._save()

    def delivered(self, job_id: str) -> None:
        self.jobs = [
            KeptJob(j.provider, j.job_id, j.ids, True) if j.job_id == job_id else j
            for j in self.jobs
        ]
        self._save()

    def forget(self, job_id: str) -> None:
        self.jobs = [job for job in self.jobs if job.job_id != job_id]
        self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        document = {"jobs": [asdict(job) for job in self.jobs]}
        temporary.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)
