"""Before `serve` builds anything: can the gateway write where it keeps its data?

A read-only or missing data directory, or a SQLite file the process cannot write, would end
start-up with a traceback from deep inside the store; here it is one line naming the path
and the reason, and `serve` exits 2.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from gateway.settings import Settings


def storage_problem(settings: Settings) -> str | None:
    """One line saying why the data directory or the SQLite database is not writable."""
    if settings.local_mode and settings.gateway_secret_key is None:
        problem = _directory_problem(settings.data_dir)
        if problem is not None:
            return f"DATA_DIR {settings.data_dir}: {problem}"
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = Path(url.database)
    problem = _directory_problem(database.parent)
    if problem is None and database.exists():
        problem = _file_problem(database)
    if problem is not None:
        return f"DATABASE_URL {database}: {problem}"
    return None


def _directory_problem(directory: Path) -> str | None:
    """Create `directory` if needed and write a scratch file in it; the reason it failed."""
    if directory.exists() and not directory.is_dir():
        return "not writable (Not a directory)"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".write-test-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"not writable ({exc.strerror or type(exc).__name__})"
    return None


def _file_problem(path: Path) -> str | None:
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as exc:
        return f"not writable ({exc.strerror or type(exc).__name__})"
    os.close(fd)
    return None
