"""The durable store: SQLAlchemy tables, Alembic migrations and one repository per table."""

from gateway.store.database import Database
from gateway.store.tables import utcnow

__all__ = ["Database", "utcnow"]
