"""Console-script entry point. ``think --version`` answers without importing the CLI stack."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from think import __version__

        sys.stdout.write(f"think {__version__}\n")
        return
    from think.cli.app import run

    sys.exit(run())
