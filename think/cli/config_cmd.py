"""``think config``: where settings come from."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from think.cli.help_panels import PanelCommand
from think.providers.credentials import SECRET_HEADER, mask

app = typer.Typer(
    help="Show the effective configuration.", no_args_is_help=True, rich_markup_mode=None
)


def _plain(value: Any) -> Any:
    from pydantic import BaseModel, SecretStr

    if isinstance(value, SecretStr):
        return mask(value.get_secret_value())
    if isinstance(value, BaseModel):
        plain = {k: _plain(v) for k, v in value.model_dump().items() if v not in (None, {})} | {
            k: _plain(getattr(value, k))
            for k in type(value).model_fields
            if isinstance(getattr(value, k), SecretStr)
        }
        headers = plain.get("headers")
        if isinstance(headers, dict):
            plain["headers"] = {
                name: mask(str(v)) if SECRET_HEADER.search(name) else v
                for name, v in headers.items()
            }
        return plain
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "__fspath__"):
        return str(value)
    return value


@app.command("show", cls=PanelCommand)
def show(
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Print every setting, its effective value and where it came from (keys masked)."""
    from rich.table import Table

    from think.cli.console import stdout_console
    from think.config.paths import config_file, default_ledger_file
    from think.config.settings import load_settings, sources
    from think.ledger.location import shown as location_shown
    from think.providers.endpoint import env_value
    from think.providers.presets import PRESETS

    settings = load_settings()
    where = sources()
    values = {name: _plain(getattr(settings, name)) for name in type(settings).model_fields}
    said = {name: source for name, (_, source) in where.items()}
    values["ledger"] = location_shown(values["ledger"] or str(default_ledger_file()))
    for name, (value, source) in _implied(settings).items():
        if values[name] is None:
            values[name], said[name] = value, source
    keys = {}
    for _name, preset in sorted(PRESETS.items()):
        for var in preset.key_env:
            found = env_value(var)
            if found:
                keys[var] = mask(found)
    path = config_file()
    if json_output:
        document = {
            "config_file": str(path),
            "config_file_exists": path.is_file(),
            "settings": {
                k: {"value": v, "origin": where[k][0], "source": said[k]} for k, v in values.items()
            },
            "keys": keys,
        }
        typer.echo(json.dumps(document, indent=2, default=str))
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("setting")
    table.add_column("value", overflow="fold")
    table.add_column("from", overflow="fold", min_width=len("default (keys: OPENAI_API_KEY)"))
    for name, value in values.items():
        shown = json.dumps(value, default=str) if isinstance(value, (dict, list)) else str(value)
        table.add_row(name, "-" if value in (None, {}) else shown, said[name])
    for var, masked in keys.items():
        table.add_row(var, masked, "env")
    console = stdout_console()
    console.print(f"config file: {path}" + ("" if path.is_file() else " (does not exist)"))
    console.print(table)


def _implied(settings: Any) -> dict[str, tuple[Any, str]]:
    """What the unset settings mean, each with why: the models the key-based defaults
    choose (the rule of :mod:`think.cli.wiring`), the strategy, effort and cascade size."""
    from think.cli import wiring
    from think.errors import ConfigError, ThinkError
    from think.strategies.cascade import CascadePolicy

    def said(choice: wiring.ModelChoice) -> str:
        if choice.key:
            return f"default (keys: {choice.key})"
        if choice.setting:
            return f"default (= {choice.setting})"
        return "default (no key set: the local model)"

    implied: dict[str, tuple[Any, str]] = {
        "effort": (wiring.DEFAULT_EFFORT, "default (the strong model)"),
        "cascade_max_samples": (
            CascadePolicy(settings.cascade_initial, settings.agreement, None).most_samples,
            "default" if settings.agreement is None else "default (with agreement)",
        ),
    }
    try:
        chosen = wiring.default_choice(settings)
    except ConfigError:  # no key and no local model: nothing to choose from
        implied["model"] = (None, "default (no key set, no local model)")
        return implied
    cheap, strong = wiring.cheap_choice(settings), wiring.strong_choice(settings)
    implied["model"] = (chosen.model, said(chosen))
    implied["cheap"] = (cheap.model, said(cheap))
    implied["strong"] = (strong.model, said(strong))
    implied["judge"] = (cheap.model, "default (= cheap)")
    try:
        name = wiring.strategy_name(settings)
    except ThinkError:  # a model that is not provider:model; think ask says so
        return implied
    implied["strategy"] = (
        name,
        "default (two models)" if name == "cascade" else "default (one model)",
    )
    return implied


@app.command("path", cls=PanelCommand)
def path() -> None:
    """Print the config file's path (it may not exist yet)."""
    from think.config.paths import config_file

    typer.echo(str(config_file()))
