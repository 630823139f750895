"""The Typer application: ``think PROMPT`` and the subcommands side by side.

The first argument picks a subcommand when it names one; anything else (a prompt, an
option such as ``--model``) goes to ``ask``. ``think ask ledger`` or ``think -- ledger``
asks about the word "ledger".
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from think import __version__
from think.cli import (
    ask_cmd,
    batch_cmd,
    calibrate_cmd,
    config_cmd,
    eval_cmd,
    ledger_cmd,
    models_cmd,
)
from think.cli.console import report_error
from think.cli.help_panels import PanelCommand, format_root_options
from think.errors import ExitCode, ThinkError, UsageError

ROOT_OPTIONS = {"--help", "-h", "--version", "-V"}


class PromptFirstGroup(TyperGroup):
    """Routes anything that is not a subcommand or a root option to ``ask``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        names = set(self.list_commands(ctx))
        if args and (args[0] == "--" or (args[0] not in names and args[0] not in ROOT_OPTIONS)):
            _refuse_a_typo(args[0], names)
            args = ["ask", *args]
        elif not args and not ctx.resilient_parsing and _stdin_is_piped():
            args = ["ask"]
        return super().parse_args(ctx, args)

    def format_options(self, ctx: Any, formatter: Any) -> None:
        format_root_options(self, ctx, formatter)  # the ask options, then the commands


TYPO = re.compile(r"[a-z][a-z-]{3,}")
"""A first argument that may be a mistyped command: one lower-case word of 4+ letters."""


def _refuse_a_typo(word: str, names: set[str]) -> None:
    """``think ledgr`` is a mistyped command, not a question to pay for: a usage error that
    says what was meant (``think ask ledgr`` or ``think -- ledgr`` sends the word)."""
    if not TYPO.fullmatch(word):
        return
    import difflib

    close = difflib.get_close_matches(word, sorted(names - {"ask"}), n=1, cutoff=0.8)
    if close:
        raise UsageError(
            f"unknown command {word!r}: did you mean `think {close[0]}`? (to ask it as a "
            f"question: think ask {word} …, or think -- {word} …)"
        )


def _stdin_is_piped() -> bool:
    try:
        return not sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


app = typer.Typer(
    cls=PromptFirstGroup,
    name="think",
    help=(
        "Cost-aware reasoning queries: answer with a cheap model, check the answer, "
        "escalate to a reasoning model only when needed.\n\n"
        'Examples: think "what is 17*23?"  ·  cat notes.md | think "summarise" --json  ·  '
        "think ledger"
    ),
    no_args_is_help=False,
    subcommand_metavar="PROMPT... | COMMAND [ARGS]...",
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"think {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        callback=_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


app.command(
    "ask",
    cls=PanelCommand,
    help="Ask a question (the default command: `think PROMPT` is `think ask PROMPT`).",
)(ask_cmd.ask)
app.command(
    "batch",
    cls=PanelCommand,
    help="Run a file of prompts (JSONL), many at once; a JSON line of result per prompt.",
)(batch_cmd.batch_command)
app.add_typer(ledger_cmd.app, name="ledger")
app.command(
    "eval", cls=PanelCommand, help="Accuracy against cost of strategies and settings on a dataset."
)(eval_cmd.eval_command)
app.command(
    "calibrate",
    cls=PanelCommand,
    help="Pick the cheapest setting that meets a target; save a profile.",
)(calibrate_cmd.calibrate_command)
app.add_typer(config_cmd.app, name="config")
app.command("models", cls=PanelCommand, help="List providers and models, their prices and keys.")(
    models_cmd.models
)


@app.command("completion", cls=PanelCommand)
def completion(
    shell: Annotated[str | None, typer.Argument(metavar="SHELL", help="bash, zsh or fish.")] = None,
    write: Annotated[
        Path | None,
        typer.Option(
            "--write", metavar="DIR", help="Write all three scripts into DIR (as completions/)."
        ),
    ] = None,
) -> None:
    """Print the shell completion script (as committed under completions/)."""
    import typer.main

    from think.cli.completion_scripts import SHELLS, script, write_all

    command = typer.main.get_command(app)
    if write is not None:
        for path in write_all(write, command):
            typer.echo(path)
        return
    if shell not in SHELLS:
        raise typer.BadParameter(f"choose one of {', '.join(SHELLS)}", param_hint="SHELL")
    typer.echo(script(shell, command), nl=False)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (never raises for expected failures)."""
    from think.cli.prompt_input import check_arguments

    try:
        check_arguments(sys.argv[1:] if argv is None else argv)
        result: Any = app(args=argv, prog_name="think", standalone_mode=False)
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0))
    except typer.Abort:
        return ExitCode.INTERRUPTED
    except typer.TyperException as exc:  # bad command line (click's UsageError and kin)
        if type(exc).__name__ == "NoArgsIsHelpError":  # `think config`: the help, as click does
            sys.stderr.write(str(exc).rstrip("\n") + "\n")
            return ExitCode.USAGE
        format_message = getattr(exc, "format_message", None)
        report_error(format_message() if format_message else str(exc))
        return int(getattr(exc, "exit_code", ExitCode.USAGE)) or ExitCode.USAGE
    except ThinkError as exc:
        report_error(str(exc))
        return int(exc.exit_code)
    except KeyboardInterrupt:
        report_error("interrupted")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return ExitCode.OK
    except SystemExit as exc:
        # click turns a broken stdout pipe into exit 1 before we see the BrokenPipeError.
        if isinstance(exc.__context__, BrokenPipeError):
            _silence_stdout()
            return ExitCode.OK
        raise
    return int(result) if isinstance(result, int) else ExitCode.OK


def _silence_stdout() -> None:
    """The reader of our stdout went away (``| head``): stop writing, quietly."""
    from think.cli.stdout_writer import silence

    silence(sys.stdout)
