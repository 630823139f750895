"""``think --dry-run``: show the plan and its cost bounds without calling any provider."""

from __future__ import annotations

import typer

from think.budget import unknown_price
from think.cli import wiring
from think.cli.json_text import dumps
from think.config.settings import Settings
from think.money import format_usd, usd_fields
from think.plan import price_plan
from think.run import messages_for
from think.strategies.reasoning import ANSWER_LINE, SHORT_OR_OPEN_LINE, with_system

LEFT = ("stage", "model", "tier")


def print_plan(prompt: str, settings: Settings, *, json_output: bool) -> int:
    strategy = wiring.build_strategy(settings)
    catalog = wiring.provider_catalog(settings)
    for ref in strategy.models:
        catalog.endpoint(ref.provider)
    options = wiring.query_options(settings)
    messages = messages_for(prompt, settings.system)
    if strategy.name != "single":
        # what the strategy will send: the cascade under auto asks for the line only where
        # the question has a short answer
        auto = options.answer_format is None or options.answer_format.kind == "auto"
        line = SHORT_OR_OPEN_LINE if strategy.name == "cascade" and auto else ANSWER_LINE
        messages = with_system(messages, line)
    price_for = wiring.price_lookup(settings, catalog)
    steps = strategy.plan(options)
    tiers = wiring.tier_policy(settings)
    if tiers:
        wiring.check_tiers(tiers, steps, catalog)
    pricing, tier_notes = wiring.step_pricing(settings, catalog)
    plan = price_plan(steps, messages, price_for, pricing if tiers else None)
    unpriced = [str(ref) for ref in wiring.unpriced_models((p.step for p in plan.steps), price_for)]
    cap = settings.max_cost
    worst = plan.worst_usd
    fits = None if cap is None or worst is None else worst <= cap
    if json_output:
        document = {
            "strategy": strategy.name,
            "input_tokens": plan.input_tokens,
            "input_tokens_exact": plan.input_exact,
            "steps": [
                {
                    "stage": p.step.stage,
                    "model": str(p.step.model),
                    "max_calls": p.step.max_calls,
                    "expected_calls": p.step.expected_calls,
                    "max_tokens": p.step.max_tokens,
                    "tier": p.tier,
                    "worst_usd": p.worst_usd,
                    "expected_usd": p.expected_usd,
                }
                for p in plan.steps
            ],
            "worst_usd": worst,
            "expected_usd": plan.expected_usd,
            "max_cost_usd": cap,
            "worst_fits_cap": fits,
            "unpriced_models": unpriced,
            "tier_notes": tier_notes,
        }
        typer.echo(dumps(usd_fields(document)))
        return 0
    from rich.table import Table

    from think.cli.console import stdout_console

    counted = "" if plan.input_exact else " (estimated)"
    table = Table(
        title=f"{strategy.name}: prompt {plan.input_tokens} tokens{counted}", header_style="bold"
    )
    columns = ["stage", "model", *(["tier"] if tiers else []), "calls", "max tokens"]
    for column in (*columns, "worst case", "expected"):
        table.add_column(column, justify="left" if column in LEFT else "right")
    for p in plan.steps:
        table.add_row(
            p.step.stage,
            str(p.step.model),
            *([p.tier or "-"] if tiers else []),
            f"≤{p.step.max_calls}",
            str(p.step.max_tokens),
            format_usd(p.worst_usd),
            format_usd(p.expected_usd),
        )
    blanks = [""] * (len(columns) - 1)
    table.add_row("total", *blanks, format_usd(worst), format_usd(plan.expected_usd))
    console = stdout_console()
    console.print(table)
    for model in unpriced:
        console.print(f"cost unknown: {unknown_price(model)}")
    for note in tier_notes:
        console.print(note)
    if cap is not None:
        verdict = "fits within" if fits else "may exceed (calls that do not fit are not made)"
        console.print(f"worst case {verdict} --max-cost {format_usd(cap)}")
    return 0
