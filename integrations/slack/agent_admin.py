"""The agent sub-commands of `/voice`: `agents` (the list), `agent create` (with a name, or
through the create modal), `agent set` and `prompt`."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from gateway.calls.commands import CreateAgent
from gateway.context import AppContext
from gateway.oneinbox.errors import OneInboxError
from gateway.store.agents import AgentRepository
from integrations.slack import blocks, grammar
from integrations.slack.answers import answer_failures
from integrations.slack.invocation import Invocation

ADMIN_ONLY = (grammar.AgentCreateCommand, grammar.AgentSetCommand, grammar.PromptCommand)
CREATE_MODAL = "agent_create_modal"


class AgentAdmin:
    """Lists, creates and changes agents for Slack users (changes: the admins only)."""

    def __init__(self, ctx: AppContext, command: str, admins: set[str]) -> None:
        self.ctx = ctx
        self.command = command
        self.admins = admins

    def allows(self, user_id: str) -> bool:
        """True when `user_id` may create and change agents (anyone, without admins)."""
        return not self.admins or user_id in self.admins

    def refusal(self) -> str:
        admins = ", ".join(f"<@{user}>" for user in sorted(self.admins))
        return (
            "Sorry, creating and changing agents is limited to this gateway's Slack admins "
            f"({admins}). Ask one of them, or use `{self.command} call <agent>` to start a call."
        )

    async def list(self, respond: AsyncRespond) -> None:
        async with self.ctx.db.session() as session:
            stored = await AgentRepository(session).list()
        names = {row.name: row.id for row in stored}
        for alias, conf in self.ctx.config.agents.items():
            names.setdefault(alias, conf.id or "created on first use")
        if not names:
            await respond(text=f"No agents yet. Create one: `{self.command} agent create <name>`.")
            return
        lines = "\n".join(
            f"• *{blocks.escape(n)}* `{blocks.escape(i)}`" for n, i in sorted(names.items())
        )
        await respond(text=f"Agents you can call:\n{lines}")

    async def create(self, name: str, fields: dict[str, Any], respond: AsyncRespond) -> None:
        work = self.ctx.calls.create_agent(CreateAgent(name=name, fields=fields))
        created = await answer_failures(respond, work, self.command)
        if created is not None:
            await respond(
                text=f"Agent *{blocks.escape(created.name)}* is ready (`{created.agent_id}`). "
                f"Start a call: `{self.command} call {created.name}`"
            )

    async def update(self, command: grammar.AgentSetCommand, respond: AsyncRespond) -> None:
        agent_id = await answer_failures(
            respond, self.ctx.calls.update_agent(command.agent, command.fields), self.command
        )
        if agent_id is not None:
            changed = ", ".join(sorted(command.fields))
            await respond(text=f"Agent *{blocks.escape(command.agent)}* updated: {changed}.")

    async def prompt(self, command: grammar.PromptCommand, respond: AsyncRespond) -> None:
        llm_id = await answer_failures(
            respond,
            self.ctx.calls.update_prompt(
                command.agent, command.text, temperature=command.temperature
            ),
            self.command,
        )
        if llm_id is not None:
            extra = (
                f" (temperature {command.temperature})" if command.temperature is not None else ""
            )
            await respond(text=f"The prompt of *{blocks.escape(command.agent)}* is updated{extra}.")

    async def open_create_modal(
        self, inv: Invocation, client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        if not inv.trigger_id:
            await respond(
                text=grammar.UsageError(
                    "Give the agent a name.", grammar.USAGE["agent create"]
                ).text(self.command)
            )
            return
        await client.views_open(
            trigger_id=inv.trigger_id,
            view=blocks.create_agent_modal(
                callback_id=CREATE_MODAL,
                private_metadata=json.dumps({"channel_id": inv.channel_id}),
            ),
        )

    async def create_from_modal(
        self, name: str, fields: dict[str, Any], channel: str, user_id: str, client: AsyncWebClient
    ) -> None:
        try:
            created = await self.ctx.calls.create_agent(CreateAgent(name=name, fields=fields))
            text = (
                f"Agent *{blocks.escape(created.name)}* is ready (`{created.agent_id}`). "
                f"Start a call: `{self.command} call {created.name}`"
            )
        except OneInboxError as exc:
            text = f"OneInbox could not create the agent: {exc}"
        await client.chat_postEphemeral(channel=channel, user=user_id, text=text)


def modal_value(values: dict[str, Any], key: str) -> str | None:
    """The text typed in the modal's input `key` (None when empty)."""
    block = values.get(key) or {}
    element = block.get(key) or {}
    value = element.get("value")
    return str(value) if value else None
