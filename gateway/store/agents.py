"""Agents the gateway knows by name."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import AgentRow, utcnow


class AgentRepository:
    """Look agents up by id or name, and remember new ones."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, agent_id: str) -> AgentRow | None:
        return await self.session.get(AgentRow, agent_id)

    async def by_name(self, name: str) -> AgentRow | None:
        result = await self.session.execute(
            sa.select(AgentRow).where(sa.func.lower(AgentRow.name) == name.lower())
        )
        return result.scalar_one_or_none()

    async def list(self) -> list[AgentRow]:
        result = await self.session.execute(sa.select(AgentRow).order_by(AgentRow.name))
        return list(result.scalars())

    async def remember(self, agent_id: str, name: str, llm_id: str | None) -> AgentRow:
        """Store (or refresh) an agent under its name; a name moves to the newest agent."""
        existing = await self.by_name(name)
        if existing is not None and existing.id != agent_id:
            await self.session.delete(existing)
            await self.session.flush()
        row = await self.get(agent_id)
        if row is None:
            row = AgentRow(id=agent_id, name=name, llm_id=llm_id)
            self.session.add(row)
        else:
            row.name, row.llm_id, row.updated_at = name, llm_id or row.llm_id, utcnow()
        await self.session.flush()
        return row
