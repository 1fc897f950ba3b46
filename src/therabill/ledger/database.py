"""Connecting to the ledger's database and bringing its tables up to date.

SQLite (the default, a file in the user data directory) or PostgreSQL through psycopg 3. On
SQLite every transaction starts with ``BEGIN IMMEDIATE``, so writers queue on the database lock
instead of failing half-way; on PostgreSQL writers lock the patient's row.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from therabill.ledger import URL_ENV
from therabill.reference.paths import user_data_dir

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any constant works: it only keeps two processes from migrating the same database at once.
_MIGRATION_LOCK = 7_302_415_931


class LedgerError(Exception):
    """A one-line problem with the ledger (bad URL, unknown visit, visit without patient)."""


class UnknownVisit(LedgerError):
    """The patient has no posted visit with that id."""


class LedgerUnavailable(LedgerError):
    """The database could not be reached or refused the work (nothing was written)."""


def default_path() -> Path:
    return user_data_dir() / "ledger" / "ledger.sqlite3"


def resolve_url(url: str | None) -> str:
    """The URL given, else ``THERABILL_DATABASE_URL``, else the SQLite file (folder created)."""
    url = url or os.environ.get(URL_ENV) or None
    if url is None:
        path = default_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite+pysqlite:///{path}"
    # postgresql:// and postgres:// mean psycopg 3 here (SQLAlchemy's default driver is v2).
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def connect(url: str | None) -> SqlEngine:
    resolved = resolve_url(url)
    try:
        parsed = make_url(resolved)
    except ArgumentError:
        raise LedgerError(f"not a database URL: {_safe(resolved)!r}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise LedgerError(f"the ledger keeps its data in SQLite or PostgreSQL, not {backend}")


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling off: SQLAlchemy's "begin" event starts them.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade(engine: SqlEngine, revision: str = "head") -> str:
    """Run the migrations up to ``revision`` in one transaction; returns the revision now in
    force. Safe to call from several processes at once."""
    return _migrate(engine, revision, down=False)


def downgrade(engine: SqlEngine, revision: str) -> str:
    """Undo migrations down to ``revision`` ("base" removes the ledger's tables)."""
    return _migrate(engine, revision, down=True)


def _migrate(engine: SqlEngine, revision: str, *, down: bool) -> str:
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
        current = MigrationContext.configure(connection).get_current_revision()
    return current or "base"


def current_revision(engine: SqlEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _safe(url: str) -> str:
    """A URL fit for a message: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]
