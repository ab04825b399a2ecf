"""Everything the simulator knows, in memory, and how a call moves through its life.

Time-driven transitions (auto-live, max duration, analysis) are loop timers
(``loop.call_later``), a few per call at most, so tens of thousands of concurrent calls
cost no polling at all.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections import deque
from typing import Any

import structlog

from gateway.simulator.config import SimulatorConfig
from gateway.simulator.records import (
    UNANSWERED_SUMMARIES,
    CallRecord,
    iso,
    new_id,
    title_case,
)
from gateway.simulator.speech import steps
from gateway.simulator.stats import RequestStats
from gateway.simulator.tokens import TokenIssuer
from gateway.simulator.transcripts import canned_analysis
from gateway.simulator.webhooks import WebhookDispatcher, WebhookRecord

log = structlog.get_logger(__name__)


class SimulatorState:
    """The simulator's memory: agents, models, calls, webhooks, rtc connections and stats."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.initial_config = config.model_copy(deep=True)
        self.config = config
        self.tokens = TokenIssuer()
        self.dispatcher = WebhookDispatcher(
            lambda: (self.config.webhook_timeout_seconds, self.config.webhook_retries)
        )
        self._init_memory()

    def _init_memory(self) -> None:
        self.fault_rng = random.Random(self.config.seed)
        self.stats = RequestStats()
        self.agents: dict[str, dict[str, Any]] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, CallRecord] = {}
        self.webhooks: dict[str, WebhookRecord] = {}
        self.rtc: deque[dict[str, Any]] = deque(maxlen=10_000)

    # Agents and models

    def create_agent(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Store an agent and its auto-created model; answers the agent."""
        now = iso(time.time())
        llm_id = new_id("llm")
        self.models[llm_id] = {
            "id": llm_id,
            "name": f"{fields['name']} model",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "system_prompt": "You are a helpful voice assistant.",
            "temperature": 0.7,
            "max_tokens": None,
            "tool_ids": [],
            "knowledge_base_ids": [],
            "created_at": now,
        }
        agent = {
            "id": new_id("agt"),
            "language": "en",
            "first_message": None,
            "max_duration_seconds": None,
            "enable_recording": False,
            **fields,
            "llm_id": llm_id,
            "created_at": now,
        }
        self.agents[agent["id"]] = agent
        return agent

    # Calls

    def create_call(
        self,
        agent_id: str,
        *,
        server_url: str,
        variables: dict[str, Any],
        metadata: dict[str, Any],
        overrides: dict[str, Any],
    ) -> CallRecord:
        """A new ``initiated`` web call with its token; schedules auto-live if configured."""
        call_id = new_id("call")
        room = f"web-{secrets.token_hex(4)}"
        token = self.tokens.issue(
            call_id=call_id, room=room, ttl_seconds=self.config.token_ttl_seconds
        )
        call = CallRecord(
            id=call_id,
            agent_id=agent_id,
            room_name=room,
            server_url=server_url,
            participant_token=token,
            variables=variables,
            metadata=metadata,
            overrides=overrides,
        )
        self.calls[call_id] = call
        if self.config.auto_live_after is not None:
            self._schedule(call, "live", self.config.auto_live_after, self._auto_live, call_id)
        return call

    def create_phone_call(
        self,
        agent_id: str,
        *,
        to_number: str,
        from_number: str | None,
        variables: dict[str, Any],
        metadata: dict[str, Any],
    ) -> CallRecord:
        """A new ``queued`` outbound call; it rings, then is answered or fails by the config."""
        call = CallRecord(
            id=new_id("call"),
            agent_id=agent_id,
            room_name=f"phone-{secrets.token_hex(4)}",
            server_url="",
            participant_token="",
            variables=variables,
            metadata=metadata,
            overrides={},
            status="queued",
            type="outbound",
            to_number=to_number,
            from_number=from_number,
        )
        self.calls[call.id] = call
        self._schedule(call, "dial", self.config.phone_dial_seconds, self._ring, call.id)
        return call

    def go_live(self, call: CallRecord, *, via: str) -> bool:
        """``initiated -> in_progress``; False if the call was not waiting to start."""
        if call.status != "initiated":
            return False
        call.status = "in_progress"
        call.started_at = time.time()
        self._cancel(call, "live")
        limit = self._max_duration(call)
        if limit is not None:
            self._schedule(call, "max", limit, self._max_reached, call.id)
        log.debug("simulator.call_live", call_id=call.id, via=via)
        self._emit(call, "call.started")
        if self.config.transcript_events:
            canned = canned_analysis(
                call.id,
                seed=self.config.seed,
                joined=True,
                variables=call.variables,
                outcome=self.config.outcome,
            )
            call.script = canned.messages
            self._schedule(call, "speak", self.config.transcript_step_seconds, self._speak, call.id)
        return True

    def end_call(
        self,
        call: CallRecord,
        *,
        end_reason: str,
        failed: bool = False,
        outcome: str | None = None,
        summary: str | None = None,
    ) -> bool:
        """End a call (``completed`` or ``failed``); False if it had already ended.

        Messages and analysis are written ``analysis_delay`` seconds later.
        """
        if call.is_terminal:
            return False
        call.status = "failed" if failed else "completed"
        call.ended_at = time.time()
        call.end_reason = end_reason
        if outcome is not None or summary is not None:
            call.scripted = (outcome, summary)
        for name in list(call.timers):
            self._cancel(call, name)
        for closed in call.sockets:
            closed.set()
        self._emit(call, "call.failed" if failed else "call.ended")
        self._schedule(call, "analysis", self.config.analysis_delay, self._analyse, call.id)
        if call.started_at is not None and self._records(call):
            self._schedule(call, "recording", self.config.recording_delay, self._recorded, call.id)
        return True

    def set_outcome(self, call: CallRecord, outcome: str) -> None:
        """Override the outcome (stored Title Case), now or once the analysis is written."""
        call.outcome_override = title_case(outcome)
        if call.analysis is not None:
            call.analysis["outcome"] = call.outcome_override

    def attach_socket(self, call: CallRecord) -> asyncio.Event:
        """An event set when ``call`` ends, so an rtc socket knows to close."""
        closed = asyncio.Event()
        call.sockets.add(closed)
        if call.is_terminal:
            closed.set()
        return closed

    def detach_socket(self, call: CallRecord, closed: asyncio.Event) -> None:
        """Forget a socket; may end the call when configured to end on disconnect."""
        call.sockets.discard(closed)
        if self.config.end_on_disconnect and not call.sockets and call.status == "in_progress":
            self.end_call(call, end_reason="customer_ended_call")

    def reset(self) -> None:
        """Forget everything and restore the config the simulator was created with."""
        for call in self.calls.values():
            for name in list(call.timers):
                self._cancel(call, name)
            for closed in call.sockets:
                closed.set()
        self.config = self.initial_config.model_copy(deep=True)
        self._init_memory()

    async def aclose(self) -> None:
        """Cancel timers and webhook deliveries; call it when the simulator shuts down."""
        for call in self.calls.values():
            for name in list(call.timers):
                self._cancel(call, name)
            for closed in call.sockets:
                closed.set()
        await self.dispatcher.aclose()

    # Timers

    def _schedule(self, call: CallRecord, name: str, delay: float, fn: Any, *args: Any) -> None:
        self._cancel(call, name)
        call.timers[name] = asyncio.get_running_loop().call_later(delay, fn, *args)

    def _cancel(self, call: CallRecord, name: str) -> None:
        handle = call.timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    def _max_duration(self, call: CallRecord) -> float | None:
        agent_limit = self.agents.get(call.agent_id, {}).get("max_duration_seconds")
        if isinstance(agent_limit, int | float) and agent_limit > 0:
            return float(agent_limit)
        return self.config.max_duration_seconds

    def _auto_live(self, call_id: str) -> None:
        call = self.calls.get(call_id)
        if call is not None:
            call.timers.pop("live", None)
            self.go_live(call, via="auto_live_after")

    def _ring(self, call_id: str) -> None:
        call = self.calls.get(call_id)
        if call is None or call.status != "queued":
            return
        call.timers.pop("dial", None)
        pickup = self.config.phone_numbers.get(call.to_number or "", self.config.phone_pickup)
        if pickup in ("busy", "invalid_number"):
            summary = UNANSWERED_SUMMARIES[pickup]
            self.end_call(
                call, end_reason=pickup, failed=True, outcome="Not Connected", summary=summary
            )
            return
        call.status = "initiated"  # ringing
        if pickup == "no_answer":
            timeout = self.config.phone_ring_timeout
            self._schedule(call, "ring", timeout, self._unanswered, call_id, "no_answer")
        elif pickup == "voicemail":
            after = self.config.phone_answer_after
            self._schedule(call, "ring", after, self._unanswered, call_id, "voicemail")
        else:
            self._schedule(call, "ring", self.config.phone_answer_after, self._answered, call_id)

    def _unanswered(self, call_id: str, reason: str) -> None:
        call = self.calls.get(call_id)
        if call is not None and call.status == "initiated":
            call.timers.pop("ring", None)
            outcome = "Voicemail" if reason == "voicemail" else "Not Connected"
            summary = UNANSWERED_SUMMARIES[reason]
            self.end_call(call, end_reason=reason, failed=True, outcome=outcome, summary=summary)

    def _answered(self, call_id: str) -> None:
        call = self.calls.get(call_id)
        if call is None:
            return
        call.timers.pop("ring", None)
        if self.go_live(call, via="answered") and self.config.phone_hangup_after is not None:
            delay = self.config.phone_hangup_after
            self._schedule(call, "hangup", delay, self._hung_up, call_id)

    def _hung_up(self, call_id: str) -> None:
        call = self.calls.get(call_id)
        if call is not None:
            call.timers.pop("hangup", None)
            self.end_call(call, end_reason="customer_ended_call")

    def _max_reached(self, call_id: str) -> None:
        call = self.calls.get(call_id)
        if call is not None:
            call.timers.pop("max", None)
            self.end_call(call, end_reason="max_duration")

    def _records(self, call: CallRecord) -> bool:
        agent = self.agents.get(call.agent_id, {})
        return self.config.record_calls or agent.get("enable_recording") is True

    def _recorded(self, call_id: str) -> None:
        call = self.calls.get(call_id)
        if call is not None:
            call.timers.pop("recording", None)
            call.recorded = True
            self._emit(call, "call.recording.available")

    def _speak(self, call_id: str) -> None:
        """Say the next few words of the script as a transcript event."""
        call = self.calls.get(call_id)
        if call is None or call.script is None or call.status != "in_progress":
            return
        call.timers.pop("speak", None)
        index = sum(1 for m in call.spoken if m.get("final") == "yes")
        if index >= len(call.script):
            return
        turn = call.script[index]
        said = next((m for m in call.spoken if m.get("final") != "yes"), None)
        plan = steps(turn["content"])
        done = (
            0
            if said is None
            else next((i + 1 for i, (text, _) in enumerate(plan) if text == said["content"]), 0)
        )
        text, final = plan[min(done, len(plan) - 1)]
        if said is None:
            said = {"role": turn["role"], "content": text, "final": "no"}
            call.spoken.append(said)
        said["content"] = text
        said["final"] = "yes" if final else "no"
        self._emit_transcript(call, turn["role"], text, final)
        if not final or index + 1 < len(call.script):
            self._schedule(call, "speak", self.config.transcript_step_seconds, self._speak, call_id)

    def _emit_transcript(self, call: CallRecord, role: str, text: str, final: bool) -> None:
        hooks = list(self.webhooks.values())
        if hooks:
            payload = {
                "event": "transcript.final" if final else "transcript.partial",
                "call_id": call.id,
                "agent_id": call.agent_id,
                "role": role,
                "content": text,
                "timestamp": iso(time.time()),
            }
            self.dispatcher.dispatch(hooks, payload)

    def _analyse(self, call_id: str) -> None:
        call = self.calls.get(call_id)
        if call is None:
            return
        call.timers.pop("analysis", None)
        canned = canned_analysis(
            call.id,
            seed=self.config.seed,
            joined=call.started_at is not None and call.status == "completed",
            variables=call.variables,
            outcome=self.config.outcome,
        )
        outcome, summary = call.scripted or (None, None)
        call.messages = canned.messages
        call.analysis = {
            "outcome": call.outcome_override
            or (title_case(outcome) if outcome else None)
            or canned.outcome,
            "summary": summary or canned.summary,
        }
        self._emit(call, "call.analyzed")

    def _emit(self, call: CallRecord, event: str) -> None:
        hooks = list(self.webhooks.values())
        if hooks:
            self.dispatcher.dispatch(hooks, call.event(event))
