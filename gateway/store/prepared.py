"""Prepared statements for the hot path: compiled by SQLAlchemy once, run on the driver.

A keyed hook is five statements on SQLite (claim, finish, call, event, join link), two on
PostgreSQL (the last four are one, see `record_statement`). Executed through
SQLAlchemy's Connection, even with the compiled form cached, each costs about 100 µs of the
event loop's time; on the `sqlite3` cursor it is about 20 µs (measured: bench/README.md).
`Prepared` keeps SQLAlchemy's SQL text, parameter order, column defaults and type processing
(JSON, UTC datetimes) and skips its per-execution machinery: the statement runs on the DB-API
cursor of the connection (the standard `sqlite3` driver's, or SQLAlchemy's asyncpg adapter's
under a write batch's greenlet, which starts the transaction and caches the prepared
statement as it does for SQLAlchemy's own statements). Other drivers go through
`Connection.execute`, the same statement with the same parameters.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import UpdateBase

Processor = Callable[[Any], Any] | None
# Drivers whose DB-API cursor takes the compiled SQL and positional values as they are.
DRIVERS = frozenset({"pysqlite", "asyncpg"})
# What `execute` and `first` read off the cursor.
_ROWCOUNT = operator.attrgetter("rowcount")
_FIRST_ROW = operator.methodcaller("fetchone")


class Prepared:
    """One INSERT/UPDATE/DELETE, executed with a dict of parameters; `execute` returns the
    number of rows it changed. (Or a statement that returns rows, run with `first`.)"""

    def __init__(self, statement: UpdateBase | sa.Select[Any]) -> None:
        self.statement = statement
        self._table: sa.Table | None = getattr(statement, "table", None)
        self._is_insert = isinstance(statement, sa.Insert)
        self._is_update = isinstance(statement, sa.Update)
        # (dialect name, parameter names) -> (SQL, [(name, processor, default)])
        self._forms: dict[tuple[str, tuple[str, ...]], tuple[str, list[Any]]] = {}

    def execute(self, conn: sa.Connection, params: Mapping[str, Any]) -> int:
        if conn.dialect.driver not in DRIVERS:
            return int(conn.execute(self.statement, dict(params)).rowcount)
        return int(self._run(conn, params, _ROWCOUNT))

    def first(self, conn: sa.Connection, params: Mapping[str, Any]) -> Any:
        """Run a statement that returns rows (a SELECT, or DML with RETURNING); its first row,
        or None."""
        if conn.dialect.driver not in DRIVERS:
            return conn.execute(self.statement, dict(params)).first()
        return self._run(conn, params, _FIRST_ROW)

    def _run(
        self, conn: sa.Connection, params: Mapping[str, Any], read: Callable[[Any], Any]
    ) -> Any:
        """Execute on the connection's DB-API cursor; what `read` takes from the cursor."""
        sql, values = self._bound(conn.dialect, params)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, values)
            return read(cursor)
        finally:
            cursor.close()

    def _bound(self, dialect: Dialect, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        names = tuple(params)
        form = self._forms.get((dialect.name, names))
        if form is None:
            form = self._forms[(dialect.name, names)] = self._compile(dialect, names)
        sql, order = form
        values = []
        for name, process, default in order:
            value = params[name] if name in params else default()
            values.append(process(value) if process is not None else value)
        return sql, values

    def _compile(self, dialect: Dialect, names: tuple[str, ...]) -> tuple[str, list[Any]]:
        keys = list(names)
        defaults: dict[str, Callable[[], Any]] = {}
        if (self._is_insert or self._is_update) and self._table is not None:
            for column in self._table.columns:
                found = client_default(column.default if self._is_insert else column.onupdate)
                if column.key not in names and found is not None:
                    keys.append(column.key)
                    defaults[column.key] = found
        # for_executemany: no implicit RETURNING of the new row's id (nobody reads it).
        compiled = self.statement.compile(dialect=dialect, column_keys=keys, for_executemany=True)
        if compiled.positiontup is None:
            raise TypeError(f"{dialect.name}: not a positional paramstyle")
        order = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            fallback = defaults.get(name)
            if fallback is None:
                # A value written into the statement (`.values(state="done")`, a WHERE literal).
                fallback = _missing(name) if bind.required else _constant(bind.effective_value)
            # The dialect's own form of the type (a generic DateTime has no processor; SQLite's
            # renders the text SQLAlchemy stores, not the driver's default adapter's).
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            order.append((name, process, fallback))
        return compiled.string, order


def client_default(default: Any) -> Callable[[], Any] | None:
    """What SQLAlchemy fills in for an omitted column (its Python-side `default` on INSERT,
    its `onupdate` on UPDATE), or None."""
    if not isinstance(default, sa.ColumnDefault):
        return None
    if default.is_callable:
        fn = default.arg
        return lambda: fn(None)
    value = default.arg
    return lambda: value


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


def _missing(name: str) -> Callable[[], Any]:
    def fail() -> Any:
        raise KeyError(f"no value for parameter {name!r}")

    return fail
