"""Domain work run for a Slack user: a failure becomes a clear ephemeral answer (never a
secret), so a command never fails silently."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import structlog
from slack_bolt.context.respond.async_respond import AsyncRespond

from gateway.calls.errors import UnknownAgentError, UnknownCallError
from gateway.limits.policy import LimitReached
from gateway.oneinbox.errors import OneInboxError
from integrations.slack import blocks
from integrations.slack.limits import limit_message

log = structlog.get_logger(__name__)


async def answer_failures(respond: AsyncRespond, work: Awaitable[Any], command: str) -> Any:
    """Run domain work; its result, or None once a failure was answered (`command`: the
    slash command, named in the hints)."""
    try:
        return await work
    except LimitReached as reached:
        await respond(text=limit_message(reached))
    except UnknownAgentError as exc:
        await respond(
            text=f"I don't know the agent `{blocks.escape(exc.ref)}`. "
            f"`{command} agents` lists the ones you can use."
        )
    except UnknownCallError as exc:
        await respond(text=f"I don't know call `{blocks.escape(exc.call_id)}`.")
    except OneInboxError as exc:
        await respond(text=f"OneInbox said no: {blocks.escape(str(exc))}")
    except Exception:
        log.exception("slack.command_failed")
        await respond(text="Something went wrong on the gateway; its log has the details.")
    return None


async def done(work: Awaitable[None]) -> bool:
    """True once `work` (which answers nothing) has finished: a result `answer_failures`
    tells apart from a failure."""
    await work
    return True
