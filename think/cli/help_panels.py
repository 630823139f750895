"""Help in panels: each option under the title of its ``rich_help_panel``, in plain text.

The commands print help with Rich markup off (help texts such as ``[profiles.NAME]`` are
shown as written), so Typer's plain formatter would drop the panels: this one keeps them.
``think --help`` shows the ``ask`` options too — the same panels as ``think ask --help``,
read from the one definition of the command — since ``think PROMPT`` is ``think ask PROMPT``.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperCommand

OTHER = "Options"
"""The section of options without a panel (``--help``)."""


def _record(param: Any, ctx: Any) -> tuple[str, str] | None:
    record: tuple[str, str] | None = param.get_help_record(ctx)
    if record is not None and param.param_type_name == "argument" and param.metavar:
        dots = "..." if param.nargs != 1 else ""
        record = f"{param.metavar}{dots}", record[1]  # not "PROMPT... <list[str]>"
    show_default = getattr(param, "show_default", None)
    if record is not None and isinstance(show_default, str):
        # click writes a default given as text in parentheses: "[default: (5)]"
        name, text = record
        record = name, text.replace(f"default: ({show_default})", f"default: {show_default}")
    return record


def sections(
    command: Any, ctx: Any, skip: frozenset[str] = frozenset()
) -> list[tuple[str, list[tuple[str, str]]]]:
    """``command``'s arguments, then its options by panel, in the order they first appear."""
    grouped: dict[str, list[tuple[str, str]]] = {}
    for param in command.get_params(ctx):
        record = _record(param, ctx)
        if record is None or param.name in skip:
            continue
        if param.param_type_name == "argument":
            title = "Arguments"
        else:
            title = getattr(param, "rich_help_panel", None) or OTHER
        grouped.setdefault(title, []).append(record)
    if OTHER in grouped:  # after the panels
        grouped[OTHER] = grouped.pop(OTHER)
    return list(grouped.items())


def write_sections(formatter: Any, found: list[tuple[str, list[tuple[str, str]]]]) -> None:
    for title, rows in found:
        with formatter.section(title):
            formatter.write_dl(rows)


class PanelCommand(TyperCommand):
    """A command whose help groups its options by panel."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        write_sections(formatter, sections(self, ctx))


def format_root_options(group: Any, ctx: Any, formatter: Any, default: str = "ask") -> None:
    """The root's own options, the ``default`` command's panels, then the commands."""
    write_sections(formatter, sections(group, ctx))
    command = group.get_command(ctx, default)
    if command is not None:
        sub = command.context_class(command, info_name=default, parent=ctx)
        write_sections(formatter, sections(command, sub, skip=frozenset({"help"})))
    group.format_commands(ctx, formatter)
