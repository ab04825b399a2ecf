"""From a mapped request to a started call or a created agent, with every error made clear.

Planning (mapping, agent reference, callback checks) happens for every item before anything
is started, so bad input changes nothing. Each item then runs under its idempotency key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import pydantic
import structlog

from gateway.calls.commands import (
    CreateAgent,
    DestinationSpec,
    Origin,
    StartedCall,
    StartedPhoneCall,
    StartPhoneCall,
    StartWebCall,
)
from gateway.calls.errors import UnknownAgentError
from gateway.context import AppContext
from gateway.delivery.crm import record_destination
from gateway.delivery.ssrf import UnsafeCallbackURL, check_callback_url
from gateway.http.errors import HTTPProblem
from gateway.http.retry_after import retry_after_header
from gateway.limits.answers import limit_problem
from gateway.limits.policy import LimitReached
from gateway.oneinbox.errors import (
    NotFoundError,
    OneInboxError,
)
from gateway.oneinbox.problems import upstream_problem
from gateway.phone import InvalidPhoneNumber, to_e164
from gateway.store import idempotency as intents
from gateway.store.idempotency import Claim, Intent, request_hash
from gateway.validation import what
from integrations.hooks.adapters import Answer, Item
from integrations.hooks.config import Hook, WriteBack
from integrations.hooks.mapping import MappingError, map_fields

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Plan:
    """One item, ready to run: the command and the key that makes it idempotent."""

    command: StartWebCall | StartPhoneCall | CreateAgent
    key: str | None
    fingerprint: str


def _unprocessable(exc: MappingError) -> HTTPProblem:
    return HTTPProblem(422, "mapping_failed", f"mapped field {exc}")


async def plan_item(
    ctx: AppContext, hook: Hook, item: Item, document: Mapping[str, Any], key: str | None
) -> Plan:
    """Map one item into its command; raises 422 `HTTPProblem` for anything wrong in it."""
    fingerprint = request_hash(item.raw)
    try:
        if hook.config.action == "create_agent":
            fields = map_fields(hook.agent_fields, document, scalars=False)
            name = hook.agent_fields["name"].text(document)
            try:
                command: StartWebCall | StartPhoneCall | CreateAgent = CreateAgent(
                    name=name, fields=fields
                )
            except pydantic.ValidationError as exc:
                message = what(exc.errors()[0])
                raise HTTPProblem(422, "invalid_agent", f"agent_fields.name: {message}") from None
            return Plan(command, key, fingerprint)
        agent = hook.config.agent
        if hook.agent_from is not None:
            agent = hook.agent_from.text(document)
        assert agent is not None
        to_number = _to_number(ctx, hook, document) if hook.to_number is not None else None
        variables = map_fields(hook.variables, document, scalars=True)
        metadata = map_fields(hook.metadata, document, scalars=False)
        destinations = await _destinations(ctx, hook, document)
    except MappingError as exc:
        raise _unprocessable(exc) from None
    origin = Origin(kind="hook", name=hook.name, context=metadata)
    if to_number is not None:
        command = StartPhoneCall(
            agent=agent,
            to_number=to_number,
            from_number=hook.from_number or ctx.settings.oneinbox_from_number,
            variables=variables,
            metadata=metadata,
            origin=origin,
            destinations=destinations,
        )
        return Plan(command, key, fingerprint)
    command = StartWebCall(
        agent=agent,
        variables=variables,
        metadata=metadata,
        origin=origin,
        destinations=destinations,
    )
    return Plan(command, key, fingerprint)


def _to_number(ctx: AppContext, hook: Hook, document: Mapping[str, Any]) -> str:
    """The mapped `to_number` as E.164; 422 `invalid_phone_number` naming the field if not."""
    assert hook.to_number is not None
    where = f"to_number (`{hook.to_number.source}`)"
    try:
        raw = hook.to_number.search(document)
    except MappingError as exc:
        raise HTTPProblem(422, "invalid_phone_number", f"{where}: {exc}") from None
    try:
        if isinstance(raw, dict | list):
            raise InvalidPhoneNumber(
                "it is not a phone number (the request holds a list or object)"
            )
        return to_e164(raw, ctx.settings.phone_default_region)
    except InvalidPhoneNumber as exc:
        message = f"{where} cannot be dialled: {exc.reason}; nothing was started"
        raise HTTPProblem(422, "invalid_phone_number", message) from None


async def _destinations(
    ctx: AppContext, hook: Hook, document: Mapping[str, Any]
) -> list[DestinationSpec]:
    out: list[DestinationSpec] = []
    for index, entry in enumerate(hook.config.notify):
        destination = await _destination(ctx, hook, index, document)
        if entry.redact:  # the outbox masks these before the destination sees the result
            destination.config["redact"] = list(entry.redact)
        out.append(destination)
    if not out and ctx.settings.local_mode:
        out.append(DestinationSpec(kind="log", key="log"))
    return out


async def _destination(
    ctx: AppContext, hook: Hook, index: int, document: Mapping[str, Any]
) -> DestinationSpec:
    entry = hook.config.notify[index]
    if index in hook.write_backs:
        return _record_destination(hook.write_backs[index], document)
    if entry.slack_channel is not None:
        channel = entry.slack_channel
        return DestinationSpec(kind="slack", key=f"slack:{channel}", config={"channel": channel})
    url = entry.callback_url
    if url is not None:
        # A configured URL: its shape was checked when the config loaded, and every delivery
        # checks where its name resolves then (a look-up per hook would only add latency).
        return DestinationSpec.callback(url, entry.secret_env)
    url = hook.callback_from[index].text(document)
    try:
        await check_callback_url(url, allow_private=ctx.settings.callback_allow_private)
    except UnsafeCallbackURL as exc:
        raise HTTPProblem(422, "unsafe_callback_url", str(exc)) from None
    return DestinationSpec.callback(url, entry.secret_env)


def _record_destination(write_back: WriteBack, document: Mapping[str, Any]) -> DestinationSpec:
    """The CRM record this request names, resolved now and stored with the delivery."""
    kind = write_back.kind
    record_id = write_back.record.text(document)
    try:
        kind.check_record_id(record_id)
    except ValueError as exc:
        raise HTTPProblem(
            422, "invalid_record_id", f"mapped field `{write_back.record.source}` {exc}"
        ) from None
    mapped: dict[str, str | None] = {}
    for name, expression in write_back.mapped.items():
        value = expression.search(document)
        mapped[name] = None if value is None or value == "" else str(value)
    return record_destination(kind, record_id, write_back.options, mapped)


class HookRunner:
    """Runs planned items for every hook, under their idempotency keys."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def run(self, hook: Hook, plan: Plan) -> Answer:
        """The answer for one item; a repeat of a finished item gets the first answer.

        A web call's key is claimed in the same write that stores the start's intent, and
        its answer is written with the call (see `CallService.start_web_call`). A repeat
        while the first try is unresolved gets 409 with `Retry-After`, never a second call.
        """
        command = plan.command
        if plan.key is None or not isinstance(command, StartWebCall):
            return await self._keyed_other(hook, plan)
        scope = f"hook:{hook.name}"
        try:
            claim, pending = await self.ctx.calls.claim_start(
                command, scope=scope, key=plan.key, fingerprint=plan.fingerprint
            )
        except LimitReached as reached:
            raise limit_problem(reached) from None
        except UnknownAgentError as exc:
            raise HTTPProblem(422, "unknown_agent", str(exc)) from None
        except OneInboxError as exc:  # creating an alias on first use failed
            raise _upstream_problem(exc) from None
        if claim.outcome != "claimed":
            return _claim_answer(hook, claim)
        try:
            started = await self.ctx.calls.start_web_call(command, pending=pending)
        except OneInboxError as exc:
            raise _upstream_problem(exc) from None
        # The same body the key keeps for its repeats (written with the call).
        return Answer(202, self.ctx.calls.answer_body(started.call_id, started.join_url))

    async def _keyed_other(self, hook: Hook, plan: Plan) -> Answer:
        """Unkeyed items, and keyed phone calls and agent creations: claim, act, record.

        These keys hold no start intent the reconciler could look up (their agent is blank),
        so an unresolved one is released after the grace rather than adopted.
        """
        if plan.key is None:
            return await self._execute(hook, plan)
        scope = f"hook:{hook.name}"
        start_id = intents.new_start_id("gsa_")
        intent = Intent(scope, plan.key, plan.fingerprint, start_id, agent_id="", detail={})
        grace = self.ctx.calls.intent_grace
        claim = await self.ctx.db.write(partial(intents.claim, intent=intent, grace=grace))
        if claim.outcome != "claimed":
            return _claim_answer(hook, claim)
        try:
            answer = await self._execute(hook, plan)
        except BaseException:
            # Nothing was started, or it is not reconciled: give the key back for the retry.
            await asyncio.shield(
                self.ctx.db.write(partial(intents.release, start_id=intent.start_id))
            )
            raise
        await self.ctx.db.write(
            partial(
                intents.complete,
                start_id=intent.start_id,
                status=answer.status,
                body=answer.body,
            )
        )
        return answer

    async def _execute(self, hook: Hook, plan: Plan) -> Answer:
        try:
            if isinstance(plan.command, CreateAgent):
                created = await self.ctx.calls.create_agent(plan.command)
                return Answer(201, {"agent_id": created.agent_id, "llm_id": created.llm_id})
            # CallService creates a create-on-first-use alias once, however many requests race.
            started: StartedCall | StartedPhoneCall
            if isinstance(plan.command, StartPhoneCall):
                started = await self.ctx.calls.start_phone_call(plan.command)
            else:
                started = await self.ctx.calls.start_web_call(plan.command)
        except LimitReached as reached:
            raise limit_problem(reached) from None
        except UnknownAgentError as exc:
            raise HTTPProblem(422, "unknown_agent", str(exc)) from None
        except OneInboxError as exc:
            raise _upstream_problem(exc) from None
        return Answer(202, self._call_body(started))

    def _call_body(self, started: StartedCall | StartedPhoneCall) -> dict[str, Any]:
        # A link the caller can poll without the admin token (signed per call).
        status_url = self.ctx.status_links.url(started.call_id)
        if isinstance(started, StartedPhoneCall):
            return {
                "call_id": started.call_id,
                "status": "started",
                "status_url": status_url,
                "to_number": started.to_number,
            }
        return {
            "call_id": started.call_id,
            "join_url": started.join_url,
            "status": "started",
            "status_url": status_url,
        }


def _claim_answer(hook: Hook, claim: Claim) -> Answer:
    """The answer to a request whose key was not claimed (a repeat, or a reuse)."""
    if claim.outcome == "replay":
        log.info("hook.replayed", hook=hook.name)
        return Answer(claim.status or 200, claim.body or {})
    if claim.outcome == "mismatch":
        raise HTTPProblem(
            422, "idempotency_key_reused", "this idempotency key was used for another request"
        )
    wait = claim.retry_after or 1.0
    raise HTTPProblem(
        409,
        "in_progress",
        "a request with this idempotency key is not finished yet; retry later",
        headers={"Retry-After": retry_after_header(wait)},
    )


def _upstream_problem(exc: OneInboxError) -> HTTPProblem:
    """The core's answer, except that the one thing a hook names upstream is its agent."""
    if isinstance(exc, NotFoundError):
        return HTTPProblem(422, "unknown_agent", f"OneInbox does not know that agent: {exc}")
    return upstream_problem(exc)
