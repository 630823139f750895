"""``think models``: the providers think can reach and how they are configured."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def models(
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """List providers: protocol, base URL, whether a key is configured; and model aliases."""
    from rich.table import Table

    from think.cli.console import stdout_console
    from think.providers.local_llama import bundled_model_path, local_runtime_available
    from think.providers.registry import known_provider_names, resolve_endpoint
    from think.settings import load_settings

    settings = load_settings()
    rows: list[dict[str, str | bool]] = []
    for name in known_provider_names(settings):
        endpoint = resolve_endpoint(name, settings)
        if endpoint.protocol == "llama-cpp-local":
            path = settings.local_model_path or bundled_model_path()
            location = str(path) if path else "not installed (pip install 'think-cli[local]')"
            key = "installed" if local_runtime_available() else "not installed"
        else:
            location = endpoint.base_url
            if endpoint.api_key:
                key = "configured"
            elif endpoint.key_required:
                key = f"missing ({' or '.join(endpoint.key_env)})"
            else:
                key = "not needed"
        rows.append(
            {
                "provider": name,
                "protocol": endpoint.protocol,
                "location": location,
                "key": key,
                "n_per_request": endpoint.supports_n,
                "local": endpoint.local,
            }
        )
    if json_output:
        typer.echo(json.dumps({"providers": rows, "aliases": settings.aliases}, indent=2))
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("provider", "protocol", "location", "key"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(str(row[key]) for key in ("provider", "protocol", "location", "key")))
    console = stdout_console()
    console.print(table)
    if settings.aliases:
        console.print("aliases: " + ", ".join(f"{k} = {v}" for k, v in settings.aliases.items()))
