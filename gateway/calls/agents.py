"""Agents by reference: an id, a stored name or a configured alias, and the agent changes every
origin shares (create an agent, patch it, set its model's prompt)."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import structlog

from gateway.calls.commands import CreateAgent, CreatedAgent
from gateway.calls.errors import UnknownAgentError
from gateway.config import GatewayConfig
from gateway.oneinbox.client import OneInboxClient
from gateway.store.agents import AgentRepository
from gateway.store.database import Database

log = structlog.get_logger(__name__)

AGENT_ID = re.compile(r"^(agt_[A-Za-z0-9_\-]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F-]{22,})$")
NAME_TTL_SECONDS = 10.0


class Agents:
    """Resolves agent references (cached) and creates or changes agents upstream."""

    def __init__(self, client: OneInboxClient, db: Database, config: GatewayConfig) -> None:
        self.client = client
        self.db = db
        self.config = config
        self._alias_locks: dict[str, asyncio.Lock] = {}
        # Display names of agents referred to by id (an id lookup per call is pure overhead).
        self._id_names: dict[str, str | None] = {}
        # Names and aliases resolved lately (a store read per start is most of a hook's work);
        # a name stored by another replica is seen within NAME_TTL_SECONDS.
        self._named: dict[str, tuple[float, tuple[str, str | None]]] = {}

    async def resolve(self, ref: str) -> tuple[str, str | None]:
        """(agent id, display name) for an id, a stored name or a configured alias."""
        ref = ref.strip()
        if AGENT_ID.match(ref) and ref in self._id_names:
            return ref, self._id_names[ref]  # ids never move: their display name is cacheable
        cached = self._named.get(ref)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        resolved = await self._resolve_uncached(ref)
        if not AGENT_ID.match(ref):
            self._named[ref] = (time.monotonic() + NAME_TTL_SECONDS, resolved)
        return resolved

    async def _resolve_uncached(self, ref: str) -> tuple[str, str | None]:
        async with self.db.read() as session:
            agents = AgentRepository(session)
            row = await agents.by_name(ref)
            if row is not None:
                return row.id, row.name
            if AGENT_ID.match(ref):
                known = await agents.get(ref)
                self._id_names[ref] = known.name if known else None
                return ref, self._id_names[ref]
        alias = self.config.agents.get(ref)
        if alias is None:
            raise UnknownAgentError(ref)
        if alias.id is not None:
            return alias.id, ref
        # Created on first use: concurrent first uses in this process create it once.
        async with self._alias_locks.setdefault(ref, asyncio.Lock()):
            async with self.db.session() as session:
                row = await AgentRepository(session).by_name(ref)
            if row is not None:
                return row.id, row.name
            fields = dict(alias.create or {})
            created = await self.create(CreateAgent(name=ref, fields=fields))
        return created.agent_id, ref

    async def create(self, command: CreateAgent) -> CreatedAgent:
        """Create an agent upstream and remember it under its name."""
        fields = {k: v for k, v in command.fields.items() if k != "name"}
        agent = await self.client.create_agent(command.name, **fields)
        async with self.db.session() as session:
            await AgentRepository(session).remember(agent.id, command.name, agent.llm_id)
        self._id_names[agent.id] = command.name
        self._named.clear()  # a new stored name may now win over an alias
        log.info("agent.created", agent_id=agent.id, name=command.name)
        return CreatedAgent(agent_id=agent.id, llm_id=agent.llm_id, name=command.name)

    async def update(self, ref: str, fields: dict[str, Any]) -> str:
        """Patch an agent's voice and call behaviour; returns the agent id."""
        agent_id, _ = await self.resolve(ref)
        await self.client.update_agent(agent_id, **fields)
        return agent_id

    async def update_prompt(
        self, ref: str, system_prompt: str, *, temperature: float | None = None
    ) -> str:
        """Set the system prompt (and temperature) of an agent's model; returns the llm id."""
        agent_id, _ = await self.resolve(ref)
        async with self.db.session() as session:
            row = await AgentRepository(session).get(agent_id)
        llm_id = row.llm_id if row is not None and row.llm_id else None
        if llm_id is None:
            llm_id = (await self.client.get_agent(agent_id)).llm_id
        if llm_id is None:
            raise UnknownAgentError(ref)
        fields: dict[str, Any] = {"system_prompt": system_prompt}
        if temperature is not None:
            fields["temperature"] = temperature
        await self.client.update_model(llm_id, **fields)
        return llm_id
