"""The options of a query (``think ask``), defined once: ``think batch`` takes the same.

Each option is an ``Annotated`` type naming its flag, panel (``rich_help_panel``), default
as shown and help; a command lists the ones it takes as its parameters. The parameters that
are settings keep the settings' names (:data:`SETTING_FLAGS`), so
:func:`query_settings` turns a command's parameters into its effective settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

from think.config import defaults

if TYPE_CHECKING:
    from think.config.settings import Settings

MODELS = "Models"
BUDGET = "Budget"
STRATEGY = "Strategy"
INPUT = "Input"
OUTPUT = "Output"
BY_KEY = "by API key: think config show"
"""The default model's help: which models are used depends on the keys that are set."""

SETTING_FLAGS = (
    "model",
    "cheap",
    "strong",
    "strategy",
    "samples",
    "agreement",
    "verifier",
    "judge",
    "accept_threshold",
    "verify_cmd",
    "rounds",
    "effort",
    "answer_format",
    "max_cost",
    "max_tokens",
    "temperature",
    "system",
    "hide_reasoning",
    "profile",
    "no_log",
    "reuse",
    "reuse_max_age",
)
"""The query options that are settings (each parameter named as its setting; ``tier`` too,
which sets every role's tier)."""


def query_settings(flags: Mapping[str, Any]) -> Settings:
    """The effective settings of a command given its parameters (``flags``: by name; the
    settings among them are taken, an option not given is ``None``)."""
    from think.config.settings import load_settings

    values = {name: flags.get(name) for name in SETTING_FLAGS}
    # --tier is every call's: it wins over the per-role keys of the config too
    values.update(
        dict.fromkeys(("tier", "cheap_tier", "strong_tier", "judge_tier"), flags.get("tier"))
    )
    return load_settings(values)


FileOpt = Annotated[
    str | None,
    typer.Option(
        "--file",
        "-f",
        metavar="FILE",
        rich_help_panel=INPUT,
        help="Read the prompt (or the material) from FILE; - is stdin.",
    ),
]
SystemOpt = Annotated[
    str | None, typer.Option(metavar="TEXT", rich_help_panel=INPUT, help="System prompt.")
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        metavar="MODEL",
        rich_help_panel=MODELS,
        show_default=BY_KEY,
        help="The model for single-model strategies (provider:model).",
    ),
]
CheapOpt = Annotated[
    str | None,
    typer.Option(
        metavar="MODEL",
        rich_help_panel=MODELS,
        show_default=BY_KEY,
        help="Cheap model for cascades (provider:model).",
    ),
]
StrongOpt = Annotated[
    str | None,
    typer.Option(
        metavar="MODEL",
        rich_help_panel=MODELS,
        show_default=BY_KEY,
        help="Strong reasoning model for cascades (provider:model).",
    ),
]
JudgeOpt = Annotated[
    str | None,
    typer.Option(
        metavar="MODEL",
        rich_help_panel=MODELS,
        show_default="the cheap model",
        help="Model that judges open answers (and the judge verifier).",
    ),
]
EffortOpt = Annotated[
    str | None,
    typer.Option(
        metavar="LEVEL",
        rich_help_panel=MODELS,
        show_default=defaults.EFFORT,
        help="Reasoning effort of the strong model: low|medium|high.",
    ),
]
TemperatureOpt = Annotated[
    float | None,
    typer.Option(
        metavar="TEMP",
        rich_help_panel=MODELS,
        show_default="the provider's",
        help="Sampling temperature, 0 to 2.",
    ),
]
MaxCostOpt = Annotated[
    float | None,
    typer.Option(
        metavar="USD",
        rich_help_panel=BUDGET,
        show_default="no limit",
        help="Never spend more than this many USD on the run.",
    ),
]
MaxTokensOpt = Annotated[
    int | None,
    typer.Option(
        metavar="N",
        rich_help_panel=BUDGET,
        show_default=str(defaults.MAX_TOKENS),
        help="Output-token limit per call.",
    ),
]
TierOpt = Annotated[
    str | None,
    typer.Option(
        metavar="TIER",
        rich_help_panel=BUDGET,
        show_default="the provider's (none asked)",
        help="Service tier of every call: standard, flex (cheaper, slower) or priority; "
        "flex,standard falls back to standard when flex has no capacity.",
    ),
]
ReuseOpt = Annotated[
    bool | None,
    typer.Option(
        "--reuse/--no-reuse",
        rich_help_panel=BUDGET,
        show_default="at temperature 0 with single",
        help="Answer at $0 with an identical earlier run's answer from the ledger.",
    ),
]
ReuseMaxAgeOpt = Annotated[
    str | None,
    typer.Option(
        metavar="AGE",
        rich_help_panel=BUDGET,
        show_default=defaults.REUSE_MAX_AGE,
        help="Reuse answers at most this old: 30m, 12h, 7d, 2w.",
    ),
]
DryRunOpt = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        rich_help_panel=BUDGET,
        help="Print the plan's worst-case and expected cost; spend nothing.",
    ),
]
StrategyOpt = Annotated[
    str | None,
    typer.Option(
        "--strategy",
        "-s",
        metavar="NAME",
        rich_help_panel=STRATEGY,
        show_default="cascade with two models, else single",
        help="single, reason, vote, cascade or refine.",
    ),
]
SamplesOpt = Annotated[
    int | None,
    typer.Option(
        "--samples",
        "-n",
        metavar="N",
        rich_help_panel=STRATEGY,
        show_default=str(defaults.SAMPLES),
        help="Samples for vote.",
    ),
]
AgreementOpt = Annotated[
    float | None,
    typer.Option(
        metavar="SHARE",
        rich_help_panel=STRATEGY,
        help="Cascade: accept when this share of up to cascade_max_samples (default 4) "
        "agree (k of m), instead of the default: the first 2 agree, then 3 of 5.",
    ),
]
VerifierOpt = Annotated[
    str | None,
    typer.Option(
        metavar="NAME",
        rich_help_panel=STRATEGY,
        show_default=defaults.VERIFIER,
        help="none or judge (an LLM checks the answer).",
    ),
]
AcceptThresholdOpt = Annotated[
    float | None,
    typer.Option(
        metavar="SHARE",
        rich_help_panel=STRATEGY,
        show_default=f"{defaults.ACCEPT_THRESHOLD}: 2 of 3",
        help="Cascade, open answers: accept when this share of the judge's verdicts pass.",
    ),
]
VerifyCmdOpt = Annotated[
    str | None,
    typer.Option(
        metavar="CMD",
        rich_help_panel=STRATEGY,
        help="Command that gets the answer on stdin; exit 0 accepts it.",
    ),
]
RoundsOpt = Annotated[
    int | None,
    typer.Option(
        metavar="N",
        rich_help_panel=STRATEGY,
        show_default=str(defaults.ROUNDS),
        help="Refine: critique-and-revise rounds.",
    ),
]
AnswerFormatOpt = Annotated[
    str | None,
    typer.Option(
        metavar="FORMAT",
        rich_help_panel=STRATEGY,
        show_default=defaults.ANSWER_FORMAT,
        help="auto|number|choice|yesno|date|text|regex:PATTERN (short answers) or open "
        "(prose, proofs, code: judged whole).",
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        metavar="NAME",
        rich_help_panel=STRATEGY,
        help="Use the settings of [profiles.NAME] (saved by think calibrate).",
    ),
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        rich_help_panel=OUTPUT,
        help="Print one JSON document instead of the answer.",
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", rich_help_panel=OUTPUT, help="No live view or summary on stderr."
    ),
]
HideReasoningOpt = Annotated[
    bool | None,
    typer.Option(
        "--hide-reasoning",
        rich_help_panel=OUTPUT,
        help="Do not show the model's reasoning text live (it is still in the ledger).",
    ),
]
NoLogOpt = Annotated[
    bool | None,
    typer.Option(
        "--no-log",
        rich_help_panel=OUTPUT,
        help="Record cost, tokens and timings but no prompt, answer or reasoning.",
        show_default=False,
    ),
]
