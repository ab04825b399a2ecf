"""The `log` destination: the result appears in the console log (local mode, demos)."""

from __future__ import annotations

import structlog

from gateway.calls.result import CallResult
from gateway.config import GatewayConfig
from gateway.delivery.registry import DeliveryAttempt, DeliveryOutcome
from gateway.settings import Settings
from gateway.store.database import Database

log = structlog.get_logger("gateway.result")


class LogDestination:
    """Registered as `log`; used for a call that has no other destination."""

    name = "log"

    async def deliver(self, attempt: DeliveryAttempt, result: CallResult) -> DeliveryOutcome:
        """Write one `call.result` log line with the outcome and the summary; the transcript
        (personal data) goes to a `call.transcript` line at debug level only."""
        log.info(
            "call.result",
            delivery_id=attempt.delivery_id,
            call_id=result.call_id,
            type=result.event_type,
            agent=result.agent_name or result.agent_id,
            status=result.status,
            outcome=result.outcome,
            summary=result.summary,
            duration_seconds=result.duration_seconds,
            end_reason=result.end_reason,
            analysis_missing=result.analysis_missing,
            **({"to_number": result.masked_to_number} if result.type == "outbound" else {}),
            origin=f"{result.origin.kind}:{result.origin.name}",
            turns=len(result.messages),
        )
        log.debug(
            "call.transcript",
            call_id=result.call_id,
            messages=[f"{m.role}: {m.content}" for m in result.messages],
        )
        return DeliveryOutcome(ok=True)


def destination(settings: Settings, config: GatewayConfig, db: Database) -> LogDestination:
    """The `log` kind's factory (entry point); always on."""
    return LogDestination()
