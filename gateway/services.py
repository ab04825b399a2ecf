"""`build_services`: the one place the gateway's shared objects are built and wired.

Database, OneInbox clients (the tracker's own without retries), metrics, join links, the
call service, the destination registry (from entry points), the outbox, the call tracker
and the link janitor: each a typed field of the returned `AppContext`. Nothing here does
I/O; the app's lifespan (`gateway.app`) starts and stops what runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette

from gateway.calls.budget import UpstreamBudget
from gateway.calls.link_crypto import TokenBox
from gateway.calls.link_janitor import LinkJanitor
from gateway.calls.links import JoinLinks
from gateway.calls.progress import CallProgress, Timing
from gateway.calls.reconciler import IntentReconciler
from gateway.calls.service import CallService
from gateway.calls.tracker import CallTracker
from gateway.calls.webhooks import webhook_token
from gateway.config import GatewayConfig, load_config
from gateway.context import AppContext, worker_identity
from gateway.delivery.outbox import Outbox, OutboxOptions, disable_after
from gateway.delivery.registry import DestinationRegistry
from gateway.limits.policy import CallLimits
from gateway.limits.rules import load_rules
from gateway.live.events import is_transcript_event, parse_transcript_event
from gateway.live.feeds import LiveFeeder
from gateway.live.transcript import LiveTranscript
from gateway.logging import redactor
from gateway.metrics import GatewayMetrics
from gateway.recordings.links import RecordingLinks
from gateway.recordings.updates import RECORDING_EVENT, RecordingUpdates
from gateway.settings import Settings
from gateway.status.links import StatusLinks
from gateway.store.database import Database
from gateway.upstream import local_simulator, oneinbox_client
from gateway.workers import Worker


def build_services(settings: Settings, config: GatewayConfig | None = None) -> AppContext:
    """Every shared object of one app, built once and wired by constructor arguments."""
    config = config if config is not None else load_config(settings.config_path)
    db = Database(settings.database_url)
    metrics = GatewayMetrics()
    simulator: Starlette | None = local_simulator(settings) if settings.local_mode else None
    client = oneinbox_client(settings, simulator_app=simulator, on_request=metrics.observe_upstream)
    # Polls are counted like every request, but never retried: a failed look is looked at
    # again later, and every request it makes is paid for from the poll budget.
    tracker_client = oneinbox_client(
        settings, simulator_app=simulator, on_request=metrics.observe_upstream, max_retries=0
    )
    links = JoinLinks(
        TokenBox(settings.secret_key()),
        public_base=settings.public_base,
        ttl_seconds=settings.join_link_ttl_seconds,
        template=settings.join_url_template,
    )
    rules = load_rules(
        settings.limit_values(), config.tables.get("limits"), path=str(config.path or "config")
    )
    limits = CallLimits(db, rules, on_refused=metrics.observe_limit_refused)
    identity = worker_identity()
    destinations = DestinationRegistry.from_entry_points(settings, config, db)
    outbox = Outbox(
        db,
        destinations,
        identity=identity,
        options=OutboxOptions(
            schedule_scale=settings.delivery_schedule_scale,
            disable_after=disable_after(settings.destination_disable_after_seconds),
            phone_region=settings.phone_default_region,
        ),
    )
    outbox.attempt_observers.append(metrics.observe_delivery)
    timing = Timing(
        poll_interval=settings.poll_interval_seconds,
        join_timeout=settings.join_timeout_seconds,
        analysis_wait=settings.analysis_wait_seconds,
    )
    recordings = RecordingLinks(
        settings.secret_key(),
        public_base=settings.public_base,
        ttl_seconds=settings.recording_link_ttl_seconds,
    )
    transcript = LiveTranscript(db)
    feeder = LiveFeeder(
        db,
        destinations,
        identity=identity,
        interval=settings.live_update_interval_seconds,
        phone_region=settings.phone_default_region,
    )
    progress = CallProgress(db, outbox, links, timing, recordings=recordings, transcript=transcript)
    tracker = CallTracker(
        db,
        tracker_client,
        progress,
        outbox,
        identity=identity,
        budget=UpstreamBudget(settings.poll_budget_per_second),
        idle_seconds=min(1.0, settings.poll_interval_seconds),
    )
    token = webhook_token(settings.secret_key())
    redactor.add(token)
    status_links = StatusLinks(settings.secret_key(), public_base=settings.public_base)
    calls = CallService(
        client,
        db,
        links,
        config,
        limits=limits,
        intent_grace=settings.intent_grace_seconds,
        status_url=status_links.url,  # the answer a key keeps links the signed status page
    )
    return AppContext(
        settings=settings,
        config=config,
        db=db,
        metrics=metrics,
        client=client,
        tracker_client=tracker_client,
        links=links,
        calls=calls,
        destinations=destinations,
        outbox=outbox,
        tracker=tracker,
        link_janitor=LinkJanitor(db, links),
        live_feeder=feeder,
        transcript=transcript,
        recording_links=recordings,
        recording_updates=RecordingUpdates(
            db, client, recordings, destinations, wake_outbox=outbox.wake
        ),
        status_links=status_links,
        webhook_token=token,
        simulator=simulator,
        identity=identity,
    )


def core_workers(ctx: AppContext) -> list[Worker]:
    """The core's background loops, in start order (stopped in reverse: the tracker stops
    queueing before the outbox drains)."""
    return [ctx.link_janitor, ctx.outbox, ctx.live_feeder, ctx.tracker, IntentReconciler(ctx.calls)]


def oneinbox_events(ctx: AppContext) -> Callable[[str, dict[str, Any]], Awaitable[bool]]:
    """What `POST /webhooks/oneinbox` does with an event beyond hinting the tracker: live
    transcript lines feed the live updates, a recording event refreshes the recording link.
    Returns True when the event itself carried what was needed (no look at the call)."""

    async def on_event(name: str, data: dict[str, Any]) -> bool:
        if is_transcript_event(name):
            event = parse_transcript_event(data)
            if (await ctx.transcript.record(event)).feeds_due:
                ctx.live_feeder.wake()
            return event.has_text  # no text: look at the call record instead
        if name == RECORDING_EVENT:
            await ctx.recording_updates.available(str(data.get("call_id") or ""))
        return False

    return on_event


async def close_services(ctx: AppContext) -> None:
    """Close what the services hold open (after the workers stopped)."""
    await ctx.destinations.aclose()
    if ctx.simulator is not None:
        # A mounted app's own lifespan never runs: close its timers with the gateway's.
        await ctx.simulator.state.simulator.aclose()
    await ctx.tracker_client.aclose()
    await ctx.client.aclose()
    await ctx.db.dispose()
