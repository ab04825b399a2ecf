"""The call state machine. Every transition is written to the store before it is acted on."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class CallState(StrEnum):
    # Outbound phone calls map onto the same states: queued and ringing (upstream `queued`,
    # `initiated`) are STARTED, answered is LIVE; no_answer, busy, voicemail and a refused
    # number are FAILED (with outcome Not Connected or Voicemail).
    STARTED = "started"  # the call exists upstream; nobody has joined (or answered) yet
    LIVE = "live"  # a participant joined / the phone was answered (upstream in_progress)
    ENDED = "ended"  # upstream completed; waiting for the analysis
    ANALYZED = "analyzed"  # the CallResult is built and the deliveries are queued
    DELIVERED = "delivered"  # every destination has its result (or gave up for good)
    FAILED = "failed"  # upstream failed the call; its result is still delivered
    EXPIRED = "expired"  # nobody joined in time: the gateway stopped it
    LOST = "lost"  # upstream no longer knows the call (404)


class IllegalTransition(Exception):
    """A transition the state machine does not allow (someone else moved the call first)."""


TERMINAL = frozenset({CallState.DELIVERED, CallState.LOST})
# States in which the tracker still looks at a call upstream (`expired`: it was stopped and
# its end record is still to be read).
POLLED = frozenset({CallState.STARTED, CallState.LIVE, CallState.ENDED, CallState.EXPIRED})
UNPOLLED = frozenset(CallState) - POLLED
# States in which someone may still join the call (or, in local mode, end it by hand).
JOINABLE = frozenset({CallState.STARTED, CallState.LIVE})
# The first look at a new call: soon enough to notice a quick end, late enough to cost little.
FIRST_POLL_AFTER = timedelta(seconds=5)

ALLOWED: dict[CallState, frozenset[CallState]] = {
    CallState.STARTED: frozenset(
        {CallState.LIVE, CallState.ENDED, CallState.FAILED, CallState.EXPIRED, CallState.LOST}
    ),
    CallState.LIVE: frozenset({CallState.ENDED, CallState.FAILED, CallState.LOST}),
    CallState.ENDED: frozenset({CallState.ANALYZED, CallState.FAILED, CallState.LOST}),
    CallState.ANALYZED: frozenset({CallState.DELIVERED}),
    CallState.FAILED: frozenset({CallState.DELIVERED}),
    CallState.EXPIRED: frozenset({CallState.ENDED, CallState.ANALYZED, CallState.DELIVERED}),
    CallState.DELIVERED: frozenset(),
    CallState.LOST: frozenset(),
}


def can_move(src: CallState | str, dst: CallState | str) -> bool:
    """True when the state machine allows `src → dst`."""
    return CallState(dst) in ALLOWED[CallState(src)]
