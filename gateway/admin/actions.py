"""Operator actions shared by the admin API and the dashboard, with their errors as HTTP."""

from __future__ import annotations

import os

from gateway.admin.models import StartCallRequest
from gateway.calls.commands import (
    DestinationSpec,
    Origin,
    StartedCall,
    StartedPhoneCall,
    StartPhoneCall,
    StartWebCall,
)
from gateway.calls.errors import UnknownAgentError, UnknownCallError
from gateway.context import AppContext
from gateway.delivery.ssrf import UnsafeCallbackURL, check_callback_url
from gateway.http.errors import HTTPProblem
from gateway.limits.answers import limit_problem
from gateway.limits.policy import LimitReached
from gateway.oneinbox.errors import (
    OneInboxError,
)
from gateway.oneinbox.problems import upstream_problem
from gateway.phone import InvalidPhoneNumber, to_e164


async def start_call(ctx: AppContext, request: StartCallRequest, origin: Origin) -> StartedCall:
    """Check the callback, resolve the agent, then start the web call.

    Cheap checks come first so a bad request costs no upstream call and changes nothing.
    """
    destinations: list[DestinationSpec] = []
    if request.callback is not None:  # before the agent: resolving one may create it upstream
        destinations.append(await _callback_destination(ctx, request))
    try:
        await ctx.calls.resolve_agent(request.agent)
    except UnknownAgentError as exc:
        raise HTTPProblem(404, "unknown_agent", str(exc)) from None
    except OneInboxError as exc:
        raise upstream_problem(exc) from None
    command = StartWebCall(
        agent=request.agent,
        variables=dict(request.variables),
        metadata=dict(request.metadata),
        origin=origin,
        destinations=destinations,
    )
    try:
        return await ctx.calls.start_web_call(command)
    except LimitReached as reached:
        raise limit_problem(reached) from None
    except UnknownAgentError as exc:
        raise HTTPProblem(404, "unknown_agent", str(exc)) from None
    except OneInboxError as exc:
        raise upstream_problem(exc) from None


async def check_callback_target(ctx: AppContext, url: str, secret_env: str | None) -> None:
    """422 unless the secret variable is set and the URL passes the SSRF guard."""
    if secret_env is not None and not os.environ.get(secret_env):
        raise HTTPProblem(
            422, "missing_secret", f"the environment variable {secret_env} is not set"
        )
    try:
        await check_callback_url(url, allow_private=ctx.settings.callback_allow_private)
    except UnsafeCallbackURL as exc:
        raise HTTPProblem(422, "unsafe_callback_url", str(exc)) from None


async def start_phone_call(
    ctx: AppContext, agent: str, number: str, origin: Origin
) -> StartedPhoneCall:
    """Normalise `number` (422 `invalid_phone_number`, nothing dialled), then ring it."""
    try:
        to_number = to_e164(number, ctx.settings.phone_default_region)
    except InvalidPhoneNumber as exc:
        raise HTTPProblem(422, "invalid_phone_number", f"phone: {exc.reason}") from None
    command = StartPhoneCall(
        agent=agent,
        to_number=to_number,
        from_number=ctx.settings.oneinbox_from_number,
        origin=origin,
    )
    try:
        return await ctx.calls.start_phone_call(command)
    except LimitReached as reached:
        raise limit_problem(reached) from None
    except UnknownAgentError as exc:
        raise HTTPProblem(404, "unknown_agent", str(exc)) from None
    except OneInboxError as exc:
        raise upstream_problem(exc) from None


async def _callback_destination(ctx: AppContext, request: StartCallRequest) -> DestinationSpec:
    assert request.callback is not None
    callback = request.callback
    await check_callback_target(ctx, callback.url, callback.secret_env)
    return DestinationSpec.callback(callback.url, callback.secret_env)


async def stop_call(ctx: AppContext, call_id: str) -> None:
    """Ask OneInbox to end the call; 404 for a call the gateway does not know."""
    try:
        await ctx.calls.stop_call(call_id)
    except UnknownCallError as exc:
        raise HTTPProblem(404, "unknown_call", str(exc)) from None
    except OneInboxError as exc:
        raise upstream_problem(exc) from None
