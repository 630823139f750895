"""Built-in defaults of the settings that ``think --help`` shows.

Plain constants, cheap to import: the help reads them without loading pydantic, and
:class:`~think.config.settings.Settings` uses the same values, so the two never disagree.
"""

from __future__ import annotations

from typing import Final

SAMPLES: Final = 5
"""Samples for ``vote``."""
ROUNDS: Final = 2
"""Critique-and-revise rounds for ``refine``."""
MAX_TOKENS: Final = 1024
"""Output-token limit per call."""
ACCEPT_THRESHOLD: Final = 0.66
"""Share of the judge's verdicts that accepts an open answer (2 of 3)."""
VERIFIER: Final = "none"
ANSWER_FORMAT: Final = "auto"
EFFORT: Final = "medium"
"""Reasoning effort of the strong model when none is set."""
REUSE_MAX_AGE: Final = "7d"
"""The oldest earlier answer a run reuses."""
