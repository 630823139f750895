"""``think calibrate``: find the cheapest setting that meets a target, save it as a profile."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from think.cli.json_text import dumps


def calibrate_command(
    dataset: Annotated[
        Path, typer.Argument(metavar="DATASET", help="JSONL: question, gold, answer_kind, options.")
    ],
    target_accuracy: Annotated[
        float | None,
        typer.Option(
            metavar="SHARE", min=0, max=1, help="Cheapest setting with at least this accuracy."
        ),
    ] = None,
    max_cost_per_query: Annotated[
        float | None,
        typer.Option(
            metavar="USD",
            min=0,
            help="Most accurate setting within this mean cost per query (USD).",
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Profile name to save (default: the dataset's name)."),
    ] = None,
    grid: Annotated[
        str, typer.Option(metavar="GRID", help="'default' or a TOML/JSON grid file.")
    ] = "default",
    split_share: Annotated[
        float,
        typer.Option("--split", metavar="SHARE", help="Share of the questions used to calibrate."),
    ] = 0.5,
    seed: Annotated[int, typer.Option(metavar="N", help="Seed for the split and --sample.")] = 0,
    cheap: Annotated[
        str | None, typer.Option(metavar="MODEL", help="Cheap model (provider:model).")
    ] = None,
    strong: Annotated[
        str | None, typer.Option(metavar="MODEL", help="Strong model (provider:model).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(metavar="N", min=2, help="Only the first N questions.")
    ] = None,
    sample: Annotated[
        int | None, typer.Option(metavar="N", min=2, help="A random sample of N.")
    ] = None,
    concurrency: Annotated[
        int, typer.Option(metavar="N", min=1, help="Runs in flight at once.")
    ] = 8,
    max_cost: Annotated[
        float | None,
        typer.Option(metavar="USD", min=0, help="Never spend more than this many USD in all."),
    ] = None,
    dry: Annotated[
        bool, typer.Option("--no-save", help="Report the pick without saving a profile.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
    csv_output: Annotated[
        bool, typer.Option("--csv", help="The calibration grid as CSV, then the pick.")
    ] = False,
) -> None:
    """Run the grid on a calibration split, pick the cheapest setting that reaches
    --target-accuracy (or the most accurate within --max-cost-per-query), measure it on the
    held-out split next to the default cascade, and save it as [profiles.NAME] in the config
    file: then `think --profile NAME "..."` uses it."""
    from think.cli.eval_setup import default_results_path, eval_inputs, run_grid
    from think.cli.wiring import cheap_model, strong_model
    from think.config.paths import config_file
    from think.config.profiles import save_profile
    from think.evaluate.calibrate import choose, require_goal, split
    from think.evaluate.grid import FOUR_ROWS, load_grid

    require_goal(target_accuracy, max_cost_per_query)
    settings, items = eval_inputs(dataset, cheap, strong, sample=sample, seed=seed, limit=limit)
    calibration_items, held_items = split(items, split_share, seed)
    settings_grid = load_grid(grid)
    results_path = default_results_path(dataset, settings)
    common: dict[str, Any] = {
        "results_path": results_path,
        "concurrency": concurrency,
        "max_cost": max_cost,
    }
    calibrated = run_grid(calibration_items, settings_grid, settings, **common)
    picked = choose(
        calibrated["strategies"],
        target_accuracy=target_accuracy,
        max_cost_per_query=max_cost_per_query,
    )
    if picked is None:
        _no_pick(calibrated, target_accuracy, max_cost_per_query)
    chosen = next(s for s in settings_grid if s.name == picked["strategy"])
    defaults = next(s for s in FOUR_ROWS if s.name == "cascade")
    contenders = [chosen]
    if chosen.overrides != defaults.overrides:
        contenders.append(dataclasses.replace(defaults, name="default cascade"))
    held = run_grid(held_items, tuple(contenders), settings, **common)
    held_rows = {row["strategy"]: row for row in held["strategies"]}
    cheap_name, strong_name = str(cheap_model(settings)), str(strong_model(settings))
    profile_name = profile or dataset.stem
    record: dict[str, Any] = {
        "dataset": str(dataset.resolve()),
        "dataset_sha256": hashlib.sha256(dataset.read_bytes()).hexdigest(),
        "date": datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%d"),
        "setting": chosen.name,
        "technique": chosen.technique,
        "target_accuracy": target_accuracy,
        "max_cost_per_query": max_cost_per_query,
        "seed": seed,
        "split": split_share,
        "calibration": _numbers(picked),
        "held_out": _numbers(held_rows[chosen.name]),
        "default_cascade_held_out": _numbers(
            held_rows.get("default cascade", held_rows[chosen.name])
        ),
    }
    overrides = chosen.resolved(cheap_name, strong_name)
    if "replay:" in f"{cheap_name} {strong_name}" and settings.replay_file is not None:
        overrides["replay_file"] = str(Path(settings.replay_file).resolve())
    met = _meets(record["held_out"], target_accuracy, max_cost_per_query)
    saved = None
    if not dry:
        saved = config_file()
        save_profile(saved, profile_name, overrides, record)
    document = {
        "profile": profile_name,
        "settings": overrides,
        **record,
        "meets_target_on_held_out": met,
        "config_file": None if saved is None else str(saved),
        "grid": calibrated,
    }
    if json_output:
        from think.money import usd_fields

        typer.echo(dumps(usd_fields(document)))
    elif csv_output:
        _csv(document, calibrated)
    else:
        _print(document, calibrated)


def _numbers(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "n": row["n"],
        "accuracy": row["accuracy"],
        "accuracy_ci95": row["accuracy_ci95"],
        "mean_cost_usd": row["mean_cost_usd"],
        "escalation_rate": row["escalation_rate"],
    }


def _meets(numbers: dict[str, Any], target_accuracy: float | None, max_cost: float | None) -> bool:
    """Held-out accuracy whose 95% interval reaches the target; cost within the limit."""
    ok = True
    if target_accuracy is not None:
        ok = numbers["accuracy_ci95"][1] >= target_accuracy
    if max_cost is not None:
        ok = ok and numbers["mean_cost_usd"] <= max_cost
    return ok


def _no_pick(calibrated: dict[str, Any], target: float | None, max_cost: float | None) -> NoReturn:
    from think.errors import CalibrationError
    from think.money import format_usd

    rows = [r for r in calibrated["strategies"] if r["n"]]
    best = max(rows, key=lambda r: r["accuracy"], default=None)
    wanted = f"accuracy {target:.1%}" if target is not None else f"cost ≤ {format_usd(max_cost)}"
    detail = f"; the best is {best['strategy']} at {best['accuracy']:.1%}" if best else ""
    raise CalibrationError(f"no setting reaches {wanted} on the calibration split{detail}")


def _csv(document: dict[str, Any], calibrated: dict[str, Any]) -> None:
    """The calibration grid's rows, a ``split`` column saying which row was picked, then the
    pick's held-out row and the default cascade's."""
    import csv
    import sys

    from think.evaluate.report import CSV_COLUMNS, csv_rows

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(("split", *CSV_COLUMNS, "picked"))
    for row in csv_rows(calibrated):
        writer.writerow(("calibration", *row, row[0] == document["setting"]))
    for name, numbers in (
        (document["setting"], document["held_out"]),
        ("default cascade", document["default_cascade_held_out"]),
    ):
        low, high = numbers["accuracy_ci95"]
        values = {
            "strategy": name,
            "n": numbers["n"],
            "accuracy": numbers["accuracy"],
            "ci95_low": low,
            "ci95_high": high,
            "mean_cost_usd": numbers["mean_cost_usd"],
            "escalation_rate": numbers["escalation_rate"],
        }
        picked = name == document["setting"]
        writer.writerow(("held-out", *(values.get(c, "") for c in CSV_COLUMNS), picked))


def _print(document: dict[str, Any], calibrated: dict[str, Any]) -> None:
    from think.cli.console import stdout_console
    from think.cli.eval_view import print_table
    from think.money import format_usd

    print_table(calibrated)
    console = stdout_console()
    cal, held = document["calibration"], document["held_out"]
    default = document["default_cascade_held_out"]
    low, high = held["accuracy_ci95"]
    console.print(
        f"picked {document['setting']}: calibration {cal['accuracy']:.1%} "
        f"at {format_usd(cal['mean_cost_usd'])}/query (n={cal['n']}); held out "
        f"{held['accuracy']:.1%} (95% CI {low:.1%}–{high:.1%}) at "
        f"{format_usd(held['mean_cost_usd'])}/query (n={held['n']})",
        highlight=False,
    )
    console.print(
        f"default cascade on the held-out split: {default['accuracy']:.1%} at "
        f"{format_usd(default['mean_cost_usd'])}/query",
        highlight=False,
    )
    verdict = "meets" if document["meets_target_on_held_out"] else "does NOT meet"
    console.print(f"the pick {verdict} the target on the held-out split", highlight=False)
    if document["config_file"]:
        console.print(
            f"saved [profiles.{document['profile']}] in {document['config_file']}; "
            f'use it with: think --profile {document["profile"]} "..."',
            highlight=False,
            markup=False,
        )
