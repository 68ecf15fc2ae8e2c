"""Connecting to the source and reading its tables' shape, with credentials kept out of every message."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bi_lake.errors import UserError


def redact(url: str) -> str:
    """The URL as it may be shown or stored: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable source URL>"


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, or None for other dialects and in-memory databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def connect(url: str) -> sa.Engine:
    """An engine for the source URL; a bad URL, a missing driver or an unreachable database is a UserError."""
    shown = redact(url)
    try:
        parsed = make_url(url)
    except Exception:
        raise UserError(f"invalid source URL {shown}: expected dialect+driver://user@host/database") from None
    database_file = sqlite_path(url)
    if database_file is not None and not database_file.exists():
        raise UserError(f"source database {database_file} does not exist (run bi seed to create a demo one)")
    try:
        engine = sa.create_engine(parsed)
    except (ImportError, sa.exc.NoSuchModuleError, sa.exc.ArgumentError) as exc:
        raise UserError(f"cannot use source {shown}: {error_line(exc)}") from None
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        raise UserError(f"cannot reach source {shown}: {error_line(exc)}") from None
    return engine


def error_line(exc: BaseException, limit: int = 300) -> str:
    """One line from a (database) error: the driver's own message, its repeated lines folded."""
    orig = getattr(exc, "orig", None) or exc
    parts = [_text(arg) for arg in orig.args]
    lines = [line.strip() for line in "\n".join(parts or [str(orig)]).splitlines()]
    kept = [line for line in dict.fromkeys(lines) if line and not line.startswith("DB-Lib error message")]
    text = " ".join(kept) or type(orig).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, tuple):
        # Some drivers raise (code, message) pairs; the message is what a person can act on.
        return "\n".join(_text(item) for item in value if not isinstance(item, int))
    return str(value)


def reflect(connection: sa.Connection, table: str) -> sa.Table:
    """The table as the source has it now; a UserError when it is missing."""
    if not sa.inspect(connection).has_table(table):
        raise UserError(f"source table {table} does not exist")
    return sa.Table(table, sa.MetaData(), autoload_with=connection)
