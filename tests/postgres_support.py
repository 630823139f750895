"""A real PostgreSQL server for the ledger's tests: a throwaway cluster in a temp dir.

``pg_server`` (session) runs ``initdb`` and ``pg_ctl`` (as the ``postgres`` user when the
tests run as root: the server refuses root) on a free loopback port, with password
authentication, and stops it at the end; a test may stop and start it meanwhile
(:meth:`PgServer.stop`, :meth:`PgServer.start`: the server going away under a run).
``pg_url`` (per test) is a fresh database on it.
Without the server's binaries (or psycopg) the tests skip, except in CI
(``CI`` or ``THINK_REQUIRE_POSTGRES=1``), where they fail: there they must run.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fakes.loopback import free_port

if TYPE_CHECKING:
    from tests.fakes.loopback import LoopbackServer
    from think.ledger.store import Ledger

REQUIRED = bool(os.environ.get("CI")) or os.environ.get("THINK_REQUIRE_POSTGRES") == "1"
"""Read at import: the per-test environment drops every ``THINK_*`` variable."""
PG_USER = "think_admin"
PG_PASSWORD = "pg-Secret-4f9a2c7e1b"
"""The cluster's password: tests check it appears in no output and no row."""


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"PostgreSQL is required here (CI / THINK_REQUIRE_POSTGRES=1): {reason}")
    pytest.skip(reason)


def server_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


@dataclass(frozen=True)
class PgServer:
    port: int
    directory: Path
    bin_dir: Path
    fsync: bool = False
    """Flush the WAL as a real server does (the benchmarks); the tests need no durability."""

    def url(self, database: str = "postgres", password: str = PG_PASSWORD) -> str:
        return f"postgresql://{PG_USER}:{password}@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *argv: str) -> list[str]:
        return _as_server_user(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.directory / "data"), *argv]
        )

    def start(self) -> None:
        """Start the server (``pg_ctl start``, waiting until it accepts connections)."""
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory}"
        options += "" if self.fsync else " -c fsync=off"
        log = str(self.directory / "log")
        _run(self._pg_ctl("-o", options, "-l", log, "-w", "start"))

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``pg_ctl stop``; ``fast`` ends every open session, as an
        administrator's restart does), waiting until it is down."""
        _run(self._pg_ctl("-m", mode, "-w", "stop"))


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _run(argv: list[str], *, check: bool = True) -> None:
    done = subprocess.run(argv, capture_output=True, timeout=120, check=False)
    if check and done.returncode:
        raise RuntimeError(f"{argv[:5]} failed: {done.stderr.decode(errors='replace')}")


@contextmanager
def throwaway_cluster(bin_dir: Path, *, fsync: bool = False) -> Iterator[PgServer]:
    """A new cluster in a temp dir, started on a free loopback port; removed at the end
    (also for the benchmarks: ``fsync`` as a real server has it)."""
    directory = Path(tempfile.mkdtemp(prefix="think-pg-"))
    data, password_file = directory / "data", directory / "password"
    password_file.write_text(PG_PASSWORD + "\n", encoding="utf-8")
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
        shutil.chown(password_file, "postgres", "postgres")
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", PG_USER, "-E", "UTF8"]
    initdb += ["--pwfile", str(password_file), "-A", "scram-sha-256", "--locale=C.UTF-8"]
    _run(_as_server_user(initdb))
    server = PgServer(free_port(), directory, bin_dir, fsync)
    server.start()
    try:
        yield server
    finally:
        _run(server._pg_ctl("-m", "immediate", "stop"), check=False)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bin_dir = server_binaries()
    if bin_dir is None:
        _unavailable("PostgreSQL's initdb is not installed (/usr/lib/postgresql/*/bin)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install -e '.[postgres]')")
    assert bin_dir is not None
    with throwaway_cluster(bin_dir) as server:
        yield server


REQUEST_WAIT_S = 60.0
"""How long :func:`stopped_during_a_call` waits for the call to reach the provider (a bound,
not a timing)."""


@contextmanager
def stopped_during_a_call(server: PgServer, provider: LoopbackServer) -> Iterator[None]:
    """Inside: the fake ``provider`` holds every answer until a request has arrived and the
    PostgreSQL ``server`` has stopped (``pg_ctl stop -m fast``: every session ended). On
    leaving, the server is started again."""
    provider.hold = hold = threading.Event()
    failures: list[BaseException] = []

    def outage() -> None:
        try:
            deadline = time.monotonic() + REQUEST_WAIT_S
            while not provider.requests and time.monotonic() < deadline:
                time.sleep(0.02)
            server.stop()
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)
        finally:
            hold.set()

    stopper = threading.Thread(target=outage, name="pg-outage")
    stopper.start()
    try:
        yield
    finally:
        stopper.join()
        server.start()
        provider.hold = None
    assert not failures, failures


def _admin(server: PgServer, statement: str) -> None:
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A new, empty database on the test server, dropped after the test."""
    name = f"t_{secrets.token_hex(6)}"
    _admin(pg_server, f"CREATE DATABASE {name}")
    try:
        yield pg_server.url(name)
    finally:
        _admin(pg_server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_ledger(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``THINK_LEDGER`` set to a new database on the test server."""
    monkeypatch.setenv("THINK_LEDGER", pg_url)
    return pg_url


def pg_rows(url: str, sql: str, params: tuple[object, ...] = ()) -> list[dict[str, object]]:
    """Rows read straight from the database (not through think)."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, row_factory=dict_row) as conn:
        return list(conn.execute(sql, params))  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """An open, empty ledger on each engine in turn: a file, then a database."""
    from think.ledger.store import Ledger

    if request.param == "sqlite":
        location: Path | str = tmp_path / "ledger.db"
    else:
        location = request.getfixturevalue("pg_url")
    opened = Ledger(location)
    yield opened
    opened.close()
