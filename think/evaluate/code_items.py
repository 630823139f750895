"""What a ``think eval`` dataset line may carry besides a question and its gold answer: a
code item's hidden test (``answer_kind: "code"``, scored by :mod:`think.evaluate.code_score`)
and a per-item ``verify_cmd``, the label-free check a cascade or refine setting gates on.

The hidden test is for scoring only: it is never in the prompt, the verify command's
environment or its stdin. The ``verify_cmd`` follows ``--verify-cmd``'s contract (the
answer's fenced code in ``THINK_ANSWER_CODE_FILE``, the answer on stdin, exit 0 accepts) and
replaces, for its item, the verifier of the settings that check answers.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Mapping
from typing import Any

from think.errors import UsageError
from think.evaluate.code_score import TIMEOUT, CodeTest
from think.strategies.base import Strategy
from think.strategies.verifiers import CommandVerifier

VERIFY_TIMEOUT = 30.0
"""Seconds an item's verify command may run (``--verify-timeout``'s default)."""


def parse_code_test(data: Mapping[str, Any], where: str) -> CodeTest:
    """The hidden test of the code item ``data`` (``where``: its file and line, for errors)."""
    test, command = data.get("test"), data.get("score_cmd")
    if (test is None) == (command is None):
        raise UsageError(
            f"{where}: a code item needs a hidden test: either test (Python, with an optional "
            "entry_point) or score_cmd (a command), not both"
        )
    if test is not None and not isinstance(test, str):
        raise UsageError(f"{where}: test must be Python source text")
    entry_point, prefix = data.get("entry_point"), data.get("code_prefix") or ""
    if entry_point is not None and not (
        isinstance(entry_point, str) and entry_point.isidentifier()
    ):
        raise UsageError(f"{where}: entry_point must be a Python name")
    if not isinstance(prefix, str):
        raise UsageError(f"{where}: code_prefix must be Python source text")
    timeout = data.get("timeout", TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise UsageError(f"{where}: timeout must be a positive number of seconds")
    argv = _argv(command, where, "score_cmd") if command is not None else None
    return CodeTest(test, entry_point, prefix, argv, float(timeout))


def parse_gate(data: Mapping[str, Any], where: str) -> CommandVerifier | None:
    """The item's own ``verify_cmd``, checked now (before any call is paid for)."""
    command = data.get("verify_cmd")
    if command is None:
        return None
    if not isinstance(command, str):
        raise UsageError(f"{where}: verify_cmd must be a command line (text)")
    try:
        return CommandVerifier.parse(command, VERIFY_TIMEOUT)
    except UsageError as exc:
        raise UsageError(f"{where}: verify_cmd: {str(exc).removeprefix('--verify-cmd: ')}") from exc


def _argv(command: object, where: str, field: str) -> tuple[str, ...]:
    if not isinstance(command, str):
        raise UsageError(f"{where}: {field} must be a command line (text)")
    try:
        argv = tuple(shlex.split(command))
    except ValueError as exc:
        raise UsageError(f"{where}: {field}: {exc}") from exc
    if not argv:
        raise UsageError(f"{where}: {field} is empty")
    return argv


def with_item_gate(strategy: Strategy, gate: CommandVerifier | None) -> Strategy:
    """The strategy one item runs: the item's ``verify_cmd`` replaces the verifier of a
    strategy that checks answers (cascade, refine); the others never see it."""
    from think.strategies.cascade import Cascade
    from think.strategies.refine import Refine

    if gate is not None and isinstance(strategy, Cascade | Refine):
        return dataclasses.replace(strategy, verifier=gate)
    return strategy
