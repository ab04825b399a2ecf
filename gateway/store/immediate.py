"""An `AsyncSession`'s API over a synchronous `Session`, for store code run whole at once.

Store code is written once, against `AsyncSession` (`await session.execute(...)`). On a SQLite
file, `Database.reading` runs read code in a worker thread over the standard `sqlite3` driver,
and `Database.writing` runs write code as a unit of the next write batch: every call below
answers at once, so the coroutine never suspends and is driven to its end in one go
(`run_at_once`). A page then costs the event loop one thread hop, and a write no hop at all,
where aiosqlite costs about four per statement; under load each hop waits a turn of a busy
loop, and a write session held SQLite's write lock all the while (measured: bench/README.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

T = TypeVar("T")


class ImmediateConnection:
    """`AsyncConnection.run_sync` over a synchronous connection."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    async def run_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return fn(self._connection, *args, **kwargs)


class ImmediateSession:
    """What store code asks of an `AsyncSession`, answered by a synchronous `Session`."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        return self._session.execute(statement, *args, **kwargs)

    async def scalar(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        return self._session.scalar(statement, *args, **kwargs)

    async def get(self, entity: Any, ident: Any, **kwargs: Any) -> Any:
        return self._session.get(entity, ident, **kwargs)

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.get_bind(*args, **kwargs)

    def add(self, instance: object) -> None:
        self._session.add(instance)

    async def flush(self) -> None:
        self._session.flush()

    async def delete(self, instance: object) -> None:
        self._session.delete(instance)

    async def connection(self) -> ImmediateConnection:
        return ImmediateConnection(self._session.connection())


class Suspended(RuntimeError):
    """Store code run at once awaited something that does not answer at once."""


def run_at_once(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never suspends (its awaits all answer at once)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise Suspended("store code run at once awaited more than its session")


def run_on(session: Session, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`work`, written against `AsyncSession`, run to its end on the synchronous `session`."""
    facade = cast(AsyncSession, ImmediateSession(session))
    return run_at_once(cast(Coroutine[Any, Any, T], work(facade)))
