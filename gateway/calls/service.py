"""CallService: the actions every origin shares (create agents, start and stop calls).

Agent references are resolved in `agents.py`, phone calls dialled in `outbound.py`; the web
call start (intent, upstream request, stored answer) is here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.calls import outbound
from gateway.calls.agents import Agents
from gateway.calls.commands import (
    CreateAgent,
    CreatedAgent,
    Origin,
    StartedCall,
    StartedPhoneCall,
    StartPhoneCall,
    StartWebCall,
)
from gateway.calls.errors import UnknownCallError
from gateway.calls.links import JoinCredentials, JoinLinks
from gateway.calls.outbound import OnPhoneStored
from gateway.calls.states import FIRST_POLL_AFTER, CallState
from gateway.config import GatewayConfig
from gateway.limits.policy import CallLimits, Reservation
from gateway.limits.rules import CallKind, LimitRules, Usage
from gateway.logging import redactor
from gateway.oneinbox.client import OneInboxClient
from gateway.oneinbox.errors import OneInboxError, UpstreamUnavailableError
from gateway.oneinbox.models import WebCall
from gateway.store import call_destinations
from gateway.store import idempotency as intents
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.store.idempotency import Claim, Intent
from gateway.store.tables import utcnow

log = structlog.get_logger(__name__)

# The metadata key that carries the gateway's start id to OneInbox and back.
START_ID = "gateway_start_id"
# One callback for either kind of call (a hook records its answer the same way for both).
OnAnyStored = Callable[[AsyncSession, StartedCall | StartedPhoneCall], Awaitable[None]]


@dataclass(frozen=True)
class PendingStart:
    """A claimed start: its stored intent and its place under the limits."""

    intent: Intent
    reservation: Reservation


class CallService:
    """Turns domain commands into OneInbox requests and store rows, in that order of safety."""

    def __init__(
        self,
        client: OneInboxClient,
        db: Database,
        links: JoinLinks,
        config: GatewayConfig,
        *,
        limits: CallLimits | None = None,
        intent_grace: float = 120.0,
        status_url: Callable[[str], str] | None = None,
    ) -> None:
        self.client = client
        # Where a caller can follow a call (the signed status link in the assembled app).
        self.status_url = status_url or self._api_status_url
        # How long a start's intent is its own request's business; after that the reconciler
        # resolves it (see `start_web_call`).
        self.intent_grace = intent_grace
        self.db = db
        self.links = links
        self.config = config
        self.limits = limits if limits is not None else CallLimits(db, LimitRules.none())
        self.agents = Agents(client, db, config)

    async def resolve_agent(self, ref: str) -> tuple[str, str | None]:
        """(agent id, display name) for an id, a stored name or a configured alias."""
        return await self.agents.resolve(ref)

    async def create_agent(self, command: CreateAgent) -> CreatedAgent:
        """Create an agent upstream and remember it under its name."""
        return await self.agents.create(command)

    async def update_agent(self, ref: str, fields: dict[str, Any]) -> str:
        """Patch an agent's voice and call behaviour; returns the agent id."""
        return await self.agents.update(ref, fields)

    async def update_prompt(
        self, ref: str, system_prompt: str, *, temperature: float | None = None
    ) -> str:
        """Set the system prompt (and temperature) of an agent's model; returns the llm id."""
        return await self.agents.update_prompt(ref, system_prompt, temperature=temperature)

    @asynccontextmanager
    async def within_limits(self, origin: Origin, kind: CallKind) -> AsyncIterator[None]:
        """Count a call of `kind` against the limits before the block starts it upstream.

        Raises `LimitReached` (nothing counted, nothing started) when a limit is reached. When
        the block fails the counts are given back; when it succeeds the stored call counts.
        """
        usage = Usage(
            kind=kind,
            hook=origin.name if origin.kind == "hook" else None,
            slack_user=origin.name if origin.kind == "slack" else None,
        )
        reservation = await self.limits.reserve(usage)
        try:
            yield
        except BaseException:
            await asyncio.shield(reservation.cancel())
            raise
        await reservation.settle()

    def answer_body(self, call_id: str, join_url: str | None) -> dict[str, Any]:
        """The answer to a started call's request (and its idempotent repeats)."""
        return {
            "call_id": call_id,
            "join_url": join_url,
            "status": "started",
            "status_url": self.status_url(call_id),
        }

    def _api_status_url(self, call_id: str) -> str:
        return f"{self.links.public_base}/api/calls/{call_id}"

    async def claim_start(
        self, command: StartWebCall, *, scope: str, key: str | None, fingerprint: str = ""
    ) -> tuple[Claim, PendingStart]:
        """Count the call against the limits, then claim `key` in `scope` and store the
        start's intent in the same write.

        Raises `LimitReached` before anything else (no agent created, no key taken).
        `key=None`: the start has no key of its own; its start id stands in (never clashes).
        A claim that is not `claimed` counts nothing. Pass the `PendingStart` of a `claimed`
        one to `start_web_call`.
        """
        usage = Usage(
            kind="web",
            hook=command.origin.name if command.origin.kind == "hook" else None,
            slack_user=command.origin.name if command.origin.kind == "slack" else None,
        )
        reservation = await self.limits.reserve(usage)
        try:
            agent_id, agent_name = await self.agents.resolve(command.agent)
            start_id = intents.new_start_id("gst_")
            intent = Intent(
                scope=scope,
                key=key if key is not None else start_id,
                fingerprint=fingerprint,
                start_id=start_id,
                agent_id=agent_id,
                detail={
                    "agent_name": agent_name,
                    "origin_kind": command.origin.kind,
                    "origin_name": command.origin.name,
                    "origin_context": command.origin.context,
                    "destinations": [d.model_dump() for d in command.destinations],
                },
            )
            claim = await self.db.write(
                partial(intents.claim, intent=intent, grace=self.intent_grace)
            )
        except BaseException:
            await asyncio.shield(reservation.cancel())
            raise
        if claim.outcome != "claimed":
            await reservation.cancel()
        return claim, PendingStart(intent, reservation)

    async def start_web_call(
        self,
        command: StartWebCall,
        *,
        pending: PendingStart | None = None,
        in_flight: AbstractAsyncContextManager[object] | None = None,
    ) -> StartedCall:
        """Start a web call upstream and store it with its join link, intent first.

        Without a `pending` start from `claim_start` (which counts the call against the
        limits: `LimitReached`) one is made. The intent is written before OneInbox is asked;
        its start id travels in the call's `metadata` (`gateway_start_id`, beside the origin).
        Then the call, its join link and the key's answer are written together. When OneInbox
        certainly started nothing the key is released; when that is unknown (no answer, a 5xx,
        the store failing afterwards) the intent stays for the reconciler, which finds the
        call by its start id. `in_flight` is entered around the upstream request alone (a
        caller's bound on its starts in flight), within the same deadline as the request.
        """
        if pending is None:
            claim, pending = await self.claim_start(
                command, scope=f"start:{command.origin.kind}", key=None
            )
            assert claim.outcome == "claimed", claim
        try:
            started = await self._start_web_call(command, pending.intent, in_flight)
        except BaseException:
            await asyncio.shield(pending.reservation.cancel())
            raise
        await pending.reservation.settle()
        return started

    async def _start_web_call(
        self,
        command: StartWebCall,
        intent: Intent,
        in_flight: AbstractAsyncContextManager[object] | None,
    ) -> StartedCall:
        metadata = {
            **command.metadata,
            "gateway_origin": command.origin.kind,
            "gateway_origin_name": command.origin.name,
            START_ID: intent.start_id,
        }
        web_call = await self._ask_upstream(command, intent, metadata, in_flight)
        token = web_call.participant_token or ""
        redactor.add(token)
        now = utcnow()
        detail = intent.detail
        agent_name = detail.get("agent_name")
        call = {
            "id": web_call.id,
            "agent_id": intent.agent_id,
            "agent_name": agent_name,
            "origin_kind": command.origin.kind,
            "origin_name": command.origin.name,
            "origin_context": command.origin.context,
            "destinations": detail["destinations"],
            "state": str(CallState.STARTED),
            "upstream_status": web_call.status,
            "created_at": now,
            "updated_at": now,
            "next_poll_at": now + FIRST_POLL_AFTER,
        }
        credentials = JoinCredentials(web_call.server_url or "", token)
        link = self.links.prepare(
            call_id=web_call.id, agent_name=agent_name, credentials=credentials
        )
        body = self.answer_body(web_call.id, link.url)
        recorded = await self.db.write(
            partial(
                intents.record,
                start_id=intent.start_id,
                call=call,
                link=link.row,
                status=202,
                body=body,
                detail=f"started by {command.origin.kind}",
            )
        )
        join_url: str | None = link.url
        if recorded.outcome == "resolved":  # the reconciler adopted it first: its answer holds
            join_url = (recorded.body or {}).get("join_url")
        elif recorded.outcome == "orphan":
            log.warning("call.intent_gone", call_id=web_call.id, start_id=intent.start_id)
        log.info(
            "call.started",
            call_id=web_call.id,
            agent_id=intent.agent_id,
            origin=command.origin.kind,
            origin_name=command.origin.name,
        )
        return StartedCall(
            call_id=web_call.id,
            agent_id=intent.agent_id,
            agent_name=agent_name,
            join_url=join_url or "",
            join_expires_at=link.expires_at.isoformat(),
        )

    async def _ask_upstream(
        self,
        command: StartWebCall,
        intent: Intent,
        metadata: dict[str, Any],
        in_flight: AbstractAsyncContextManager[object] | None,
    ) -> WebCall:
        """`POST /v1/calls/web` within half the intent's grace (the reconciler waits the
        whole grace, so it never looks while this request may still be answered)."""
        try:
            async with asyncio.timeout(self.intent_grace / 2), in_flight or nullcontext():
                return await self.client.start_web_call(
                    intent.agent_id,
                    variables=command.variables or None,
                    metadata=metadata,
                    overrides=command.overrides,
                )
        except TimeoutError:
            log.warning("call.start_unanswered", start_id=intent.start_id)
            raise UpstreamUnavailableError(
                f"OneInbox did not answer the call start within {self.intent_grace / 2:g} s; "
                "the gateway will find out whether the call exists",
                endpoint="POST /v1/calls/web",
                may_have_arrived=True,
            ) from None
        except OneInboxError as exc:
            if not exc.may_have_arrived:
                await asyncio.shield(
                    self.db.write(partial(intents.release, start_id=intent.start_id))
                )
            raise

    async def start_phone_call(
        self, command: StartPhoneCall, *, on_stored: OnPhoneStored | None = None
    ) -> StartedPhoneCall:
        """Place an outbound phone call upstream, then store it (type `outbound`).

        It counts against the limits as a `phone` call first (`LimitReached`: nothing is
        dialled). The numbers are E.164 already (origins normalise them with `gateway.phone`);
        the number is logged masked. `on_stored` runs in the storing transaction, as for web
        calls.
        """
        async with self.within_limits(command.origin, "phone"):
            agent = await self.agents.resolve(command.agent)
            return await outbound.dial(self.client, self.db, command, agent, on_stored)

    async def update_destination(
        self,
        call_id: str,
        key: str,
        changes: dict[str, Any],
        *,
        origin_context: dict[str, Any] | None = None,
    ) -> None:
        """Merge `changes` into the config of the call's destination `key` (and of its queued
        deliveries), and `origin_context` into the call's: how an integration points a result
        somewhere it learned of after the start (a Slack card's thread)."""
        await self.db.write(
            partial(
                call_destinations.merge_config,
                call_id=call_id,
                key=key,
                changes=changes,
                origin_context=origin_context or {},
            )
        )

    async def stop_call(self, call_id: str) -> None:
        """Ask OneInbox to end a call the gateway started; the tracker sees the end."""
        async with self.db.session() as session:
            row = await CallRepository(session).get(call_id)
        if row is None:
            raise UnknownCallError(call_id)
        await self.client.stop_call(call_id)
        async with self.db.session() as session:
            await self.links.purge_for_call(session, call_id)
            calls = CallRepository(session)
            fresh = await calls.get(call_id)
            if fresh is not None:
                fresh.next_poll_at = utcnow()  # look at it right away
        log.info("call.stop_requested", call_id=call_id)
