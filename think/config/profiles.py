"""Named profiles: settings that ``think calibrate`` measured, saved in the config file.

``[profiles.NAME]`` holds settings (the same keys as the rest of the file) and a
``calibration`` table recording the dataset, the date and the measured numbers.
``think --profile NAME`` applies the settings above the environment and the file, below
explicit flags. The file is edited with tomlkit, so the user's comments and layout stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from think.errors import ConfigError

CALIBRATION_KEY = "calibration"


def profile_settings(profiles: Mapping[str, Mapping[str, Any]], name: str) -> dict[str, Any]:
    """The settings a profile sets (its calibration record left out)."""
    profile = profiles.get(name)
    if profile is None:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(
            f"no profile {name!r} in the config (known: {known}); "
            "think calibrate DATASET --profile NAME creates one"
        )
    return {key: value for key, value in profile.items() if key != CALIBRATION_KEY}


def save_profile(
    path: Path, name: str, settings: Mapping[str, Any], calibration: Mapping[str, Any]
) -> None:
    """Write ``[profiles.NAME]`` into the config file at ``path``, replacing an older one."""
    import tomlkit

    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        document = tomlkit.parse(text)
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.ParseError) as exc:
        raise ConfigError(f"cannot update config file {path}: {exc}") from exc
    profiles = document.get("profiles")
    if profiles is None:
        profiles = tomlkit.table(is_super_table=True)
        document["profiles"] = profiles
    table = tomlkit.table()
    for key, value in settings.items():
        table[key] = value
    record = tomlkit.table()
    for key, value in calibration.items():
        if value is not None:
            record[key] = value
    table[CALIBRATION_KEY] = record
    profiles[name] = table
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tomlkit.dumps(document), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write config file {path}: {exc.strerror}") from exc
