"""Short handlers: acknowledge at once, do the upstream work in a kept task, answer after.

Slack gives a command 3 s; OneInbox may take longer. Every handler acks first (with a usage
message when the command is wrong, so nothing is created), then the domain work runs in a task
kept by `ctx.spawn`, and the answer goes out through the Web API or the `response_url`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from functools import partial
from typing import Any

import structlog
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from gateway.calls.commands import (
    CreateAgent,
    DestinationSpec,
    StartedCall,
    StartPhoneCall,
    StartWebCall,
)
from gateway.calls.errors import UnknownAgentError, UnknownCallError
from gateway.calls.phone import mask
from gateway.context import AppContext
from gateway.limits.policy import LimitReached
from gateway.oneinbox.errors import OneInboxError
from gateway.store.agents import AgentRepository
from gateway.store.calls import CallRepository
from integrations.slack import blocks, grammar
from integrations.slack.cards import attach_card, post_card, slack_destination
from integrations.slack.dial import DialPolicy, number_to_dial
from integrations.slack.invocation import Invocation
from integrations.slack.limits import limit_message
from integrations.slack.settings import SlackSettings
from integrations.slack.work import Ticket, WorkQueue

log = structlog.get_logger(__name__)

Ack = Callable[..., Awaitable[Any]]
ADMIN_ONLY = (grammar.AgentCreateCommand, grammar.AgentSetCommand, grammar.PromptCommand)
CREATE_MODAL = "agent_create_modal"
BUSY = "I'm handling a lot of requests right now; nothing was started. Try again in a minute."


class SlackHandlers:
    """The domain side of every `/voice` sub-command, button and modal."""

    def __init__(
        self,
        ctx: AppContext,
        settings: SlackSettings,
        *,
        auto_join: bool,
        max_concurrent: int = 200,
        max_waiting: int = 1000,
        live_transcript: bool = False,
        redact: Sequence[str] = (),
    ) -> None:
        self.ctx = ctx
        self.redact = tuple(redact)
        self.auto_join = auto_join
        self.live_transcript = live_transcript  # `[slack] live_transcript`: the default
        # Background work waits its turn here, parked, so a burst of commands cannot flood
        # the event loop and delay the acks of the commands that follow; past `max_waiting`
        # a command is turned away at once rather than queued without bound. A call's turn
        # covers its start only (see `work`): its card is posted after.
        self.work = WorkQueue(max_concurrent, max_waiting)
        self.command = settings.slack_command
        self.admins = set(settings.slack_admin_users)
        self.dialers = DialPolicy.of(settings.slack_dial_users, self.admins)

    async def on_command(
        self,
        *,
        body: dict[str, Any],
        ack: Ack,
        respond: AsyncRespond,
        client: AsyncWebClient,
        bot_user_id: str | None,
    ) -> None:
        """Parse, check, ack; the work itself runs in the background."""
        inv = Invocation.from_payload(body)
        if not inv.user_id or not inv.channel_id:
            await ack(text="That request is missing its user or channel; try the command again.")
            return
        try:
            command = grammar.parse(str(body.get("text") or ""))
        except grammar.UsageError as exc:
            await ack(text=exc.text(self.command))
            return
        if isinstance(command, ADMIN_ONLY) and self.admins and inv.user_id not in self.admins:
            await ack(text=self._refusal())
            return
        if not isinstance(command, grammar.HelpCommand) and self.work.full:
            await ack(text=BUSY)
            return
        match command:
            case grammar.HelpCommand():
                await ack(text=grammar.help_text(self.command))
            case grammar.CallCommand():
                await ack(text=f"Starting a call with *{blocks.escape(command.agent)}*…")
                call = partial(self._call, command, inv, respond, client, bot_user_id)
                self._spawn_with(call, "call")
            case grammar.DialCommand():
                if not self.dialers.allows(inv.user_id):
                    await ack(text=self.dialers.refusal(self.command))
                    return
                try:
                    number = number_to_dial(command, self.ctx.settings.phone_default_region)
                except grammar.UsageError as exc:
                    await ack(text=exc.text(self.command))
                    return
                agent = blocks.escape(command.agent)
                await ack(text=f"Dialling `{mask(number)}` with *{agent}*…")
                dial = partial(self._dial, command, number, inv, respond, client, bot_user_id)
                self._spawn_with(dial, "dial")
            case grammar.StopCommand():
                await ack(text=f"Stopping call `{blocks.escape(command.call_id)}`…")
                self._spawn(self._stop(command.call_id, respond), "stop")
            case grammar.StatusCommand():
                await ack()
                self._spawn(self._status(command.call_id, respond), "status")
            case grammar.AgentsCommand():
                await ack()
                self._spawn(self._agents(respond), "agents")
            case grammar.AgentCreateCommand(name=None):
                await ack()
                # Not queued: Slack's trigger_id for the modal expires after 3 s.
                self.ctx.spawn(self._open_create_modal(inv, client, respond), name="slack.modal")
            case grammar.AgentCreateCommand(name=str(name)):
                await ack(text=f"Creating agent *{blocks.escape(name)}*…")
                self._spawn(self._create(name, command.fields, respond), "agent_create")
            case grammar.AgentSetCommand():
                await ack(text=f"Updating agent *{blocks.escape(command.agent)}*…")
                self._spawn(self._set(command, respond), "agent_set")
            case grammar.PromptCommand():
                await ack(text=f"Updating the prompt of *{blocks.escape(command.agent)}*…")
                self._spawn(self._prompt(command, respond), "prompt")

    async def on_stop_button(
        self, *, call_id: str, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        """The card's Stop button (already acked): stop, and show "Stopping…" on the card."""
        self._spawn(self._stop_from_card(call_id, body, respond, client), "stop_button")

    async def _stop_from_card(
        self, call_id: str, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        # "Stopping…" goes on the card before the stop, so the ended card can never be
        # overwritten by it; if the stop fails, the card is put back as it was.
        channel = str((body.get("channel") or {}).get("id") or "")
        message = body.get("message") or {}
        ts = str((body.get("container") or {}).get("message_ts") or message.get("ts") or "")
        text = str(message.get("text") or "Voice call")
        card = message.get("blocks") if channel and ts else None
        if card:
            stopping = blocks.stopping_card(card, call_id)
            await client.chat_update(channel=channel, ts=ts, text=text, blocks=stopping)
        if not await self._domain(respond, _done(self.ctx.calls.stop_call(call_id))) and card:
            await client.chat_update(channel=channel, ts=ts, text=text, blocks=card)

    async def on_create_submitted(
        self, *, values: dict[str, Any], private_metadata: str, user_id: str, client: AsyncWebClient
    ) -> dict[str, str]:
        """Validate the modal; errors per field (the modal stays open) or {} and create."""
        name = str(_modal_value(values, "name") or "").strip()
        if not name:
            return {"name": "Give the agent a name."}
        if self.admins and user_id not in self.admins:
            return {"name": "Only the gateway's Slack admins can create agents."}
        fields = {
            key: value
            for key in ("first_message", "language")
            if (value := _modal_value(values, key))
        }
        channel = json.loads(private_metadata or "{}").get("channel_id") or user_id
        self._spawn(self._create_from_modal(name, fields, channel, user_id, client), "modal_create")
        return {}

    # ---- background work ----------------------------------------------------------------
    def _spawn(self, work: Coroutine[Any, Any, None], what: str) -> None:
        """Run `work` in the background, all of it in one turn (see `work`)."""
        self._spawn_with(partial(_in_turn, work), what)

    def _spawn_with(self, work: Callable[[Ticket], Awaitable[None]], what: str) -> None:
        """Run `work(ticket)` in the background; it takes its turn with the ticket."""
        ticket = self.work.admit()
        self.ctx.spawn(_with_ticket(ticket, work), name=f"slack.{what}")

    async def _call(
        self,
        command: grammar.CallCommand,
        inv: Invocation,
        respond: AsyncRespond,
        client: AsyncWebClient,
        bot_user_id: str | None,
        ticket: Ticket,
    ) -> None:
        start = StartWebCall(
            agent=command.agent,
            variables=dict(command.variables),
            origin=inv.origin,
            destinations=[self._destination(inv, command.live)],
        )
        started = await self._domain(respond, self._start_call(start, ticket))
        if started is None:
            return
        card = blocks.call_card(
            call_id=started.call_id,
            agent_name=started.agent_name or command.agent,
            started_by=f"<@{inv.user_id}>",
            join_url=started.join_url,
        )
        await self._post_card(started.call_id, card, inv, respond, client, bot_user_id)

    async def _start_call(self, start: StartWebCall, ticket: Ticket) -> StartedCall:
        """The intent is stored while next in line; the turn covers the upstream request."""
        await ticket.next_in_line()
        claim, pending = await self.ctx.calls.claim_start(start, scope="start:slack", key=None)
        assert claim.outcome == "claimed", claim  # no key of its own: its start id never clashes
        return await self.ctx.calls.start_web_call(start, pending=pending, in_flight=ticket.turn())

    async def _dial(
        self,
        command: grammar.DialCommand,
        number: str,
        inv: Invocation,
        respond: AsyncRespond,
        client: AsyncWebClient,
        bot_user_id: str | None,
        ticket: Ticket,
    ) -> None:
        dial = StartPhoneCall(
            agent=command.agent,
            to_number=number,
            from_number=self.ctx.settings.oneinbox_from_number,
            variables=dict(command.variables),
            origin=inv.origin,
            destinations=[self._destination(inv, command.live)],
        )
        async with ticket.turn():
            started = await self._domain(respond, self.ctx.calls.start_phone_call(dial))
        if started is None:
            return
        card = blocks.phone_card(
            call_id=started.call_id,
            agent_name=started.agent_name or command.agent,
            started_by=f"<@{inv.user_id}>",
            to_number=started.to_number,
        )
        await self._post_card(started.call_id, card, inv, respond, client, bot_user_id)

    def _destination(self, inv: Invocation, live: bool | None) -> DestinationSpec:
        """The `slack` destination of a call started here (`live`: the command's option)."""
        live = self.live_transcript if live is None else live
        return slack_destination(inv.channel_id, inv.team_id, redact=self.redact, live=live)

    async def _post_card(
        self,
        call_id: str,
        message: tuple[str, list[blocks.Block]],
        inv: Invocation,
        respond: AsyncRespond,
        client: AsyncWebClient,
        bot_user_id: str | None,
    ) -> None:
        posted = await post_card(
            client,
            call_id=call_id,
            message=message,
            channel=inv.channel_id,
            auto_join=self.auto_join,
            respond=respond,
            bot_user_id=bot_user_id,
        )
        if posted is not None:
            await attach_card(self.ctx.calls, call_id, channel=inv.channel_id, ts=posted)

    async def _stop(self, call_id: str, respond: AsyncRespond) -> None:
        if await self._domain(respond, _done(self.ctx.calls.stop_call(call_id))):
            await respond(
                text=f"Call `{blocks.escape(call_id)}` is stopping.", replace_original=False
            )

    async def _status(self, call_id: str, respond: AsyncRespond) -> None:
        async with self.ctx.db.session() as session:
            row = await CallRepository(session).get(call_id)
        if row is None:
            await respond(text=f"I don't know call `{blocks.escape(call_id)}`.")
            return
        who = blocks.who(row.origin_kind, row.origin_name, row.origin_context or {})
        agent = blocks.escape(row.agent_name or row.agent_id)
        label, kind, to = blocks.state_label(row.state), "Call", ""
        if row.call_type == "outbound":
            label = blocks.phone_state_label(row.state, row.upstream_status)
            kind, to = "Phone call", f" to `{mask(row.to_number)}`"
        await respond(
            text=f"{kind} `{blocks.escape(row.id)}`{to} with *{agent}*"
            f": {label} (started by {who}, "
            f"<!date^{int(row.created_at.timestamp())}^{{date_short_pretty}} {{time}}|"
            f"{row.created_at:%Y-%m-%d %H:%M} UTC>)"
        )

    async def _agents(self, respond: AsyncRespond) -> None:
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

    async def _create(self, name: str, fields: dict[str, Any], respond: AsyncRespond) -> None:
        created = await self._domain(
            respond, self.ctx.calls.create_agent(CreateAgent(name=name, fields=fields))
        )
        if created is not None:
            await respond(
                text=f"Agent *{blocks.escape(created.name)}* is ready (`{created.agent_id}`). "
                f"Start a call: `{self.command} call {created.name}`"
            )

    async def _set(self, command: grammar.AgentSetCommand, respond: AsyncRespond) -> None:
        agent_id = await self._domain(
            respond, self.ctx.calls.update_agent(command.agent, command.fields)
        )
        if agent_id is not None:
            changed = ", ".join(sorted(command.fields))
            await respond(text=f"Agent *{blocks.escape(command.agent)}* updated: {changed}.")

    async def _prompt(self, command: grammar.PromptCommand, respond: AsyncRespond) -> None:
        llm_id = await self._domain(
            respond,
            self.ctx.calls.update_prompt(
                command.agent, command.text, temperature=command.temperature
            ),
        )
        if llm_id is not None:
            extra = (
                f" (temperature {command.temperature})" if command.temperature is not None else ""
            )
            await respond(text=f"The prompt of *{blocks.escape(command.agent)}* is updated{extra}.")

    async def _open_create_modal(
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

    async def _create_from_modal(
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

    async def _domain(self, respond: AsyncRespond, work: Awaitable[Any]) -> Any:
        """Run domain work; a failure becomes a clear ephemeral answer (never a secret)."""
        try:
            return await work
        except LimitReached as reached:
            await respond(text=limit_message(reached))
        except UnknownAgentError as exc:
            await respond(
                text=f"I don't know the agent `{blocks.escape(exc.ref)}`. "
                f"`{self.command} agents` lists the ones you can use."
            )
        except UnknownCallError as exc:
            await respond(text=f"I don't know call `{blocks.escape(exc.call_id)}`.")
        except OneInboxError as exc:
            await respond(text=f"OneInbox said no: {blocks.escape(str(exc))}")
        except Exception:
            log.exception("slack.command_failed")
            await respond(text="Something went wrong on the gateway; its log has the details.")
        return None

    def _refusal(self) -> str:
        admins = ", ".join(f"<@{user}>" for user in sorted(self.admins))
        return (
            "Sorry, creating and changing agents is limited to this gateway's Slack admins "
            f"({admins}). Ask one of them, or use `{self.command} call <agent>` to start a call."
        )


async def _with_ticket(ticket: Ticket, work: Callable[[Ticket], Awaitable[None]]) -> None:
    try:
        await work(ticket)
    finally:
        ticket.done()


async def _in_turn(work: Coroutine[Any, Any, None], ticket: Ticket) -> None:
    try:
        async with ticket.turn():
            await work
    finally:
        work.close()  # cancelled while waiting its turn: never started, nothing to warn


async def _done(work: Awaitable[None]) -> bool:
    await work
    return True


def _modal_value(values: dict[str, Any], key: str) -> str | None:
    block = values.get(key) or {}
    element = block.get(key) or {}
    value = element.get("value")
    return str(value) if value else None
