"""Ledger fixtures: a SQLite file and a real PostgreSQL 15 server started for the session.

``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` user (through
``runuser``) in a temporary directory it owns, on a free port, with its socket in that
directory. The server is stopped and its directory removed when the session ends. Only a machine
without the server binaries skips the PostgreSQL half (``.ci/setup-ledger.sh`` installs them).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("THERABILL_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server for the session; yields the URL of its ``postgres`` database."""
    initdb = PG_BIN / "initdb"
    if not initdb.exists():
        pytest.skip(f"no PostgreSQL server binaries at {PG_BIN} (run .ci/setup-ledger.sh or "
                    "set THERABILL_PG_BIN)")
    base = Path(tempfile.mkdtemp(prefix="therabill-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    port = _free_port()
    run = {"check": True, "capture_output": True, "text": True, "cwd": base}
    try:
        subprocess.run(_as_server_user([str(initdb), "-D", str(data), "-U", "postgres",
                                        "--auth=trust", "-E", "UTF8", "--no-sync"]), **run)
        subprocess.run(_as_server_user([
            str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w",
            "-t", "60", "-o",
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50",
            "start"]), **run)
    except subprocess.CalledProcessError as exc:
        log = base / "server.log"
        detail = log.read_text() if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {exc.stderr}{exc.stdout}{detail}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast",
                                        "-w", "stop"]), capture_output=True, cwd=base)
        shutil.rmtree(base, ignore_errors=True)


def _new_database(server_url: str) -> str:
    """A fresh, empty database on the session's server for one test."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return plain.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each ledger test runs once on a SQLite file and once on an empty PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    return _new_database(request.getfixturevalue("postgres_server"))
