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

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from gateway.calls.commands import DestinationSpec, StartedCall, StartPhoneCall, StartWebCall
from gateway.context import AppContext
from gateway.phone import mask
from gateway.store.calls import CallRepository
from integrations.slack import blocks, grammar
from integrations.slack.agent_admin import ADMIN_ONLY, AgentAdmin, modal_value
from integrations.slack.answers import answer_failures, done
from integrations.slack.backlog import Backlog, Ticket
from integrations.slack.cards import attach_card, post_card, slack_destination
from integrations.slack.dial import DialPolicy, number_to_dial
from integrations.slack.invocation import Invocation
from integrations.slack.settings import SlackSettings

Ack = Callable[..., Awaitable[Any]]
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
        # Background work waits its turn here (see `backlog.py`); a call's turn covers its
        # upstream request only.
        self._backlog = Backlog(ctx, max_concurrent=max_concurrent, max_waiting=max_waiting)
        self.command = settings.slack_command
        self.admins = set(settings.slack_admin_users)
        self.dialers = DialPolicy.of(settings.slack_dial_users, self.admins)
        self.agents = AgentAdmin(ctx, self.command, self.admins)

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
        if isinstance(command, ADMIN_ONLY) and not self.agents.allows(inv.user_id):
            await ack(text=self.agents.refusal())
            return
        if not isinstance(command, grammar.HelpCommand) and self._backlog.full:
            await ack(text=BUSY)
            return
        match command:
            case grammar.HelpCommand():
                await ack(text=grammar.help_text(self.command))
            case grammar.CallCommand():
                await ack(text=f"Starting a call with *{blocks.escape(command.agent)}*…")
                call = partial(self._call, command, inv, respond, client, bot_user_id)
                self._backlog.spawn_with(call, "call")
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
                self._backlog.spawn_with(dial, "dial")
            case grammar.StopCommand():
                await ack(text=f"Stopping call `{blocks.escape(command.call_id)}`…")
                self._spawn(self._stop(command.call_id, respond), "stop")
            case grammar.StatusCommand():
                await ack()
                self._spawn(self._status(command.call_id, respond), "status")
            case grammar.AgentsCommand():
                await ack()
                self._spawn(self.agents.list(respond), "agents")
            case grammar.AgentCreateCommand(name=None):
                await ack()
                # Not queued: Slack's trigger_id for the modal expires after 3 s.
                modal = self.agents.open_create_modal(inv, client, respond)
                self.ctx.spawn(modal, name="slack.modal")
            case grammar.AgentCreateCommand(name=str(name)):
                await ack(text=f"Creating agent *{blocks.escape(name)}*…")
                self._spawn(self.agents.create(name, command.fields, respond), "agent_create")
            case grammar.AgentSetCommand():
                await ack(text=f"Updating agent *{blocks.escape(command.agent)}*…")
                self._spawn(self.agents.update(command, respond), "agent_set")
            case grammar.PromptCommand():
                await ack(text=f"Updating the prompt of *{blocks.escape(command.agent)}*…")
                self._spawn(self.agents.prompt(command, respond), "prompt")

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
        if not await self._domain(respond, done(self.ctx.calls.stop_call(call_id))) and card:
            await client.chat_update(channel=channel, ts=ts, text=text, blocks=card)

    async def on_create_submitted(
        self, *, values: dict[str, Any], private_metadata: str, user_id: str, client: AsyncWebClient
    ) -> dict[str, str]:
        """Validate the modal; errors per field (the modal stays open) or {} and create."""
        name = str(modal_value(values, "name") or "").strip()
        if not name:
            return {"name": "Give the agent a name."}
        if not self.agents.allows(user_id):
            return {"name": "Only the gateway's Slack admins can create agents."}
        fields = {
            key: value
            for key in ("first_message", "language")
            if (value := modal_value(values, key))
        }
        channel = json.loads(private_metadata or "{}").get("channel_id") or user_id
        work = self.agents.create_from_modal(name, fields, channel, user_id, client)
        self._spawn(work, "modal_create")
        return {}

    # ---- background work ----------------------------------------------------------------
    def _spawn(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        self._backlog.spawn(coro, what)

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
        if await self._domain(respond, done(self.ctx.calls.stop_call(call_id))):
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

    async def _domain(self, respond: AsyncRespond, work: Awaitable[Any]) -> Any:
        """Run domain work; a failure becomes a clear ephemeral answer (never a secret)."""
        return await answer_failures(respond, work, self.command)
