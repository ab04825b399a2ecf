"""What every command shares: one-line failures, settings that exit 2 when wrong, and a
store opened for one command.

Start-up speed: the command line imports a module when a command needs it, not when it
starts (`--help` and `--version` need neither pydantic-settings nor SQLAlchemy). So the
heavy imports here and in every command module sit inside the functions that use them;
each says so. None of them is there to break an import cycle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from gateway.settings import Settings
    from gateway.store.database import Database

T = TypeVar("T")


class CommandError(Exception):
    """A command's expected failure (an unknown id, nothing to replay): one line, exit 1."""


def group(help: str) -> typer.Typer:
    """A group of commands (`calls …`): help as plain text, like every command's.

    Plain (not rich) help: flags read `--failed`, never `--failed <bool>`, usage errors are
    two short lines, and `--help` does not import rich.
    """
    return typer.Typer(
        help=help, no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False
    )


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear line to stderr and exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit(*, cache_loggers: bool = False, **overrides: Any) -> Settings:
    """The settings, or one line naming the wrong one and exit 2 (logging configured;
    `cache_loggers` in a server's process, see `configure_logging`)."""
    # Lazily (start-up speed): pydantic-settings and every integration's settings.
    from gateway.config import ConfigError, load_config
    from gateway.logging import configure_logging
    from gateway.settings import SettingsError, load_settings

    try:
        settings = load_settings(**overrides)
        load_config(settings.config_path)
    except (SettingsError, ConfigError) as exc:
        fail(str(exc))
    configure_logging(
        fmt=settings.log_format,
        level=settings.log_level,
        secrets=settings.secret_values(),
        cache=cache_loggers,
    )
    return settings


def run_with_store(work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` against the store of DATABASE_URL; a failure is one line and exit 1.

    `work` raises `CommandError` (or the errors it names) for what the operator got wrong.
    """
    # Lazily (start-up speed): SQLAlchemy and the store.
    from gateway.store.database import Database

    settings = settings_or_exit()
    db = Database(settings.database_url)

    async def main() -> T:
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except CommandError as exc:
        fail(str(exc), code=1)
    except Exception as exc:  # e.g. the database is unreachable or not migrated yet
        fail(f"{type(exc).__name__}: {exc}".splitlines()[0], code=1)
