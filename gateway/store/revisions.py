"""Where the store's Alembic revisions are: the core's, then each integration's."""

from __future__ import annotations

import importlib.util
import os
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_ENTRY_POINTS = "oneinbox_gateway.migrations"


def version_locations() -> list[Path]:
    """The core's versions folder, then each integration's (entry points of
    `oneinbox_gateway.migrations`, each naming a package that holds revision files).

    One linear chain of revisions, whose files live with their owner: the core's tables here,
    an integration's in its own folder. Linear (not one Alembic branch per integration), so
    a store has one head and one `alembic_version` row, and every replica agrees on it.
    """
    found = [MIGRATIONS / "versions"]
    for ep in sorted(entry_points(group=MIGRATION_ENTRY_POINTS), key=lambda e: e.name):
        spec = importlib.util.find_spec(ep.value)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"migrations entry point {ep.name}: no package {ep.value}")
        found.append(Path(next(iter(spec.submodule_search_locations))))
    return found


def alembic_config(url: str) -> Config:
    """An Alembic configuration that runs every installed migration against `url`."""
    # Lazily: Alembic is for migrating; the command line's read-only commands never load it
    # (start-up speed, not an import cycle).
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(map(str, version_locations())))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config
