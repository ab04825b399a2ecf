"""Wires call tracking and delivery into an `AppContext`: destinations, workers, the route."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from gateway.calls.budget import UpstreamBudget
from gateway.calls.progress import CallProgress, Timing
from gateway.calls.tracker import CallTracker
from gateway.calls.webhooks import (
    register_webhook,
    should_register,
    webhook_routes,
    webhook_token,
    webhook_url,
)
from gateway.context import AppContext
from gateway.delivery.callback import CallbackDestination
from gateway.delivery.log import LogDestination
from gateway.delivery.outbox import Outbox, OutboxOptions, disable_after
from gateway.live.events import is_transcript_event, parse_transcript_event
from gateway.live.feeds import LiveFeeder
from gateway.live.transcript import LiveTranscript
from gateway.logging import redactor
from gateway.oneinbox.client import OneInboxClient
from gateway.recordings.links import RecordingLinks
from gateway.recordings.routes import recording_routes
from gateway.recordings.updates import RECORDING_EVENT, RecordingUpdates
from gateway.upstream import oneinbox_client


def tracker_client(ctx: AppContext) -> OneInboxClient:
    """A client of its own for the tracker, without retries: every request it makes is
    paid for from the poll budget, and a failed look is simply looked at again later."""
    metrics = ctx.extras.get("metrics")
    return oneinbox_client(
        ctx.settings,
        simulator_app=ctx.extras.get("simulator_app"),
        on_request=getattr(metrics, "observe_upstream", None),  # polls counted like all requests
        max_retries=0,
    )


def delivery_routes(ctx: AppContext) -> list[BaseRoute]:
    """Register `callback` and `log`, the outbox and the tracker (as workers), and the
    webhook registration; return `POST /webhooks/oneinbox`.

    `ctx.extras["outbox"]` and `ctx.extras["tracker"]` are there for the admin API.
    """
    settings = ctx.settings
    callback = CallbackDestination(allow_private=settings.callback_allow_private)
    ctx.destinations.register(callback)
    ctx.destinations.register(LogDestination())
    ctx.on_shutdown.append(callback.aclose)

    outbox = Outbox(
        ctx.db,
        ctx.destinations,
        identity=ctx.identity,
        options=OutboxOptions(
            schedule_scale=settings.delivery_schedule_scale,
            disable_after=disable_after(settings.destination_disable_after_seconds),
            phone_region=settings.phone_default_region,
        ),
    )
    metrics = ctx.extras.get("metrics")
    if metrics is not None:
        outbox.attempt_observers.append(metrics.observe_delivery)
    timing = Timing(
        poll_interval=settings.poll_interval_seconds,
        join_timeout=settings.join_timeout_seconds,
        analysis_wait=settings.analysis_wait_seconds,
    )
    client = tracker_client(ctx)
    ctx.on_shutdown.append(client.aclose)
    recordings = RecordingLinks(
        settings.secret_key(),
        public_base=settings.public_base,
        ttl_seconds=settings.recording_link_ttl_seconds,
    )
    transcript = LiveTranscript(ctx.db)
    feeder = LiveFeeder(
        ctx.db,
        ctx.destinations,
        identity=ctx.identity,
        interval=settings.live_update_interval_seconds,
        phone_region=settings.phone_default_region,
    )
    progress = CallProgress(
        ctx.db, outbox, ctx.links, timing, recordings=recordings, transcript=transcript
    )
    tracker = CallTracker(
        ctx.db,
        client,
        progress,
        outbox,
        identity=ctx.identity,
        budget=UpstreamBudget(settings.poll_budget_per_second),
        idle_seconds=min(1.0, settings.poll_interval_seconds),
    )
    # Stopped in reverse order: the tracker stops queueing before the outbox drains.
    ctx.workers.extend([outbox, feeder, tracker])
    ctx.extras["outbox"] = outbox
    ctx.extras["tracker"] = tracker
    ctx.extras["live_feeder"] = feeder
    ctx.extras["recording_links"] = recordings
    updates = RecordingUpdates(
        ctx.db, ctx.client, recordings, ctx.destinations, wake_outbox=outbox.wake
    )

    async def on_event(name: str, data: dict[str, Any]) -> bool:
        if is_transcript_event(name):
            event = parse_transcript_event(data)
            if await transcript.record(event):
                feeder.wake()
            return event.has_text  # no text: look at the call record instead
        if name == RECORDING_EVENT:
            await updates.available(str(data.get("call_id") or ""))
        return False

    token = webhook_token(settings.secret_key())
    redactor.add(token)
    if should_register(settings):
        url = webhook_url(settings, token)

        async def register() -> None:
            ctx.spawn(register_webhook(ctx.client, url), name="register-oneinbox-webhook")

        ctx.on_startup.append(register)
    routes: list[BaseRoute] = [*webhook_routes(tracker, token, on_event=on_event)]
    routes += recording_routes(recordings, ctx.client, ctx.db, local_mode=settings.local_mode)
    return routes
