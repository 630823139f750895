"""The wire protocols think speaks, one module each, and what they share.

httpx's ``__init__`` imports its command-line client (``httpx._main``: click, Rich, Pygments;
a third of a query's import time) whenever click is installed, which sqlite-utils makes it.
think never runs that client, so before any provider module imports httpx a stand-in takes
its place in ``sys.modules``; ``httpx.main`` then loads the real one if it is ever called.
"""

from __future__ import annotations

import sys
from types import ModuleType


def _httpx_cli() -> None:  # pragma: no cover - httpx's own command line, never think's
    del sys.modules["httpx._main"]
    from httpx._main import main

    main()


if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
    _stand_in = ModuleType("httpx._main", "httpx's command line, loaded when it is called")
    _stand_in.main = _httpx_cli  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = _stand_in
