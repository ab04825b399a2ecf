"""A fake Slack Web API on loopback: records every call, keeps messages, injects errors.

Serve `FakeSlack().app` with `serve_app`; point `SLACK_API_URL` at `<url>/api/`. Slash
commands in tests carry `response_url=<url>/response/<id>`; what the gateway sends there is
recorded too. `fail(method, error, times=, retry_after=)` makes a method answer an error
(`not_in_channel`, `ratelimited` → HTTP 429 with `Retry-After`, …) the next `times` calls.

`enforce_rate_limits()` makes it limit methods per channel the way Slack does (token buckets;
`chat.postMessage` about one message a second per channel with short bursts, `chat.update`
alike): a call over the limit gets HTTP 429 `{"ok": false, "error": "ratelimited"}` with
`Retry-After` in whole seconds, and is recorded in `limited`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BOT_USER = "UBOT0001"
TEAM = "T0001"


@dataclass
class Recorded:
    method: str
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Bucket:
    per_second: float
    burst: int
    tokens: float
    at: float

    def take(self, now: float) -> float:
        """Spend one call: 0 when allowed, else seconds until one is."""
        self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_second


# Slack's published limits for the methods the gateway calls in bursts ("about one message
# per second per channel, short bursts allowed"), per method and channel.
SLACK_LIMITS = {"chat.postMessage": (1.0, 3), "chat.update": (1.0, 3)}


@dataclass
class Fault:
    error: str
    times: int
    retry_after: int | None = None


class FakeSlack:
    """State and the Starlette app of one fake workspace."""

    def __init__(self, *, token: str = "xoxb-test-token") -> None:  # noqa: S107
        self.token = token
        self.calls: list[Recorded] = []
        self.responses: list[tuple[str, dict[str, Any]]] = []  # (response_url id, payload)
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel -> messages
        self.members: set[str] = set()  # channels the bot is in; empty set = every channel
        self.joinable: set[str] = set()  # public channels conversations.join may enter
        self.restrict_membership = False
        self.faults: dict[str, list[Fault]] = {}
        # While set, a thread reply is stored but its answer is held back (a crash window).
        self.hold_thread_replies = False
        # While set, a message posted in a channel (a card) is stored but its answer is held.
        self.hold_cards = False
        self.limits: dict[str, tuple[float, int]] = {}
        self.limited: list[Recorded] = []  # calls answered 429 by the rate limits
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route("/response/{rid}", self._response, methods=["POST"]),
            ]
        )

    # ---- test helpers -------------------------------------------------------------------
    def fail(
        self, method: str, error: str, *, times: int = 1, retry_after: int | None = None
    ) -> None:
        """Answer the next `times` calls of `method` with `error`."""
        with self._lock:
            self.faults.setdefault(method, []).append(Fault(error, times, retry_after))

    def enforce_rate_limits(self, limits: dict[str, tuple[float, int]] | None = None) -> None:
        """Limit methods per channel: {method: (calls per second, burst)}; Slack's by default."""
        with self._lock:
            self.limits = dict(SLACK_LIMITS if limits is None else limits)
            self._buckets.clear()

    def only_members_of(self, *channels: str, joinable: tuple[str, ...] = ()) -> None:
        """The bot is in `channels` only; `joinable` are public channels it may join."""
        with self._lock:
            self.restrict_membership = True
            self.members = set(channels)
            self.joinable = set(joinable)

    def called(self, method: str) -> list[Recorded]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def posts(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages in a channel (or all), thread replies included."""
        with self._lock:
            if channel is not None:
                return list(self.messages.get(channel, []))
            return [m for msgs in self.messages.values() for m in msgs]

    def replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        return [m for m in self.posts(channel) if m.get("thread_ts") == thread_ts]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.posts(channel) if m["ts"] == ts), None)

    # ---- HTTP ---------------------------------------------------------------------------
    async def _args(self, request: Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query_params)
        raw = await request.body()
        ctype = request.headers.get("content-type", "")
        if raw and "json" in ctype:
            args.update(json.loads(raw))
        elif raw:
            args.update(dict(parse_qsl(raw.decode())))
        for key in ("blocks", "metadata", "view"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        args = await self._args(request)
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.get("token")
        with self._lock:
            recorded = Recorded(method, args, token)
            self.calls.append(recorded)
            wait = self._over_limit(method, str(args.get("channel", "")), recorded.at)
            if wait > 0:
                self.limited.append(recorded)
            fault = self._take_fault(method) if wait == 0 else None
        if wait > 0:
            headers = {"Retry-After": str(max(1, math.ceil(wait)))}
            return JSONResponse({"ok": False, "error": "ratelimited"}, 429, headers=headers)
        if fault is not None:
            if fault.error == "ratelimited":
                headers = {"Retry-After": str(fault.retry_after or 1)}
                return JSONResponse({"ok": False, "error": "ratelimited"}, 429, headers=headers)
            return JSONResponse({"ok": False, "error": fault.error})
        if token != self.token and method != "oauth.v2.access":
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return JSONResponse({"ok": False, "error": "unknown_method"})
        with self._lock:
            body = handler(args)
        if method == "chat.postMessage" and args.get("thread_ts"):
            while self.hold_thread_replies:
                await asyncio.sleep(0.05)
        elif method == "chat.postMessage":
            while self.hold_cards:
                await asyncio.sleep(0.05)
        return JSONResponse(body)

    async def _response(self, request: Request) -> Response:
        payload = json.loads(await request.body())
        with self._lock:
            self.responses.append((request.path_params["rid"], payload))
        return Response("ok")

    def _over_limit(self, method: str, channel: str, now: float) -> float:
        limit = self.limits.get(method)
        if limit is None:
            return 0.0
        bucket = self._buckets.get((method, channel))
        if bucket is None:
            bucket = Bucket(limit[0], limit[1], float(limit[1]), now)
            self._buckets[(method, channel)] = bucket
        return bucket.take(now)

    def _take_fault(self, method: str) -> Fault | None:
        queue = self.faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _in_channel(self, channel: str) -> bool:
        return not self.restrict_membership or channel in self.members

    # ---- methods ------------------------------------------------------------------------
    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake",
            "user": "voice",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": "B0001",
        }

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not self._in_channel(channel):
            return {"ok": False, "error": "not_in_channel"}
        message = {
            "ts": self._next_ts(),
            "user": BOT_USER,
            "bot_id": "B0001",
            "text": args.get("text", ""),
            "blocks": args.get("blocks", []),
        }
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        if args.get("metadata"):
            message["metadata"] = args["metadata"]
        self.messages.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        for message in self.messages.get(channel, []):
            if message["ts"] == ts:
                message["text"] = args.get("text", message["text"])
                message["blocks"] = args.get("blocks", message["blocks"])
                message["edited"] = message.get("edited", 0) + 1
                return {"ok": True, "channel": channel, "ts": ts}
        return {"ok": False, "error": "message_not_found"}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if not self._in_channel(str(args.get("channel", ""))):
            return {"ok": False, "error": "not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if self.restrict_membership and channel not in self.joinable:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        self.members.add(channel)
        return {"ok": True, "channel": {"id": channel}}

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        if not self._in_channel(channel):
            return {"ok": False, "error": "not_in_channel"}
        thread = [m for m in self.messages.get(channel, []) if m["ts"] == ts]
        thread += [m for m in self.messages.get(channel, []) if m.get("thread_ts") == ts]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        return {"ok": True, "messages": thread, "has_more": False}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not self._in_channel(channel):
            return {"ok": False, "error": "not_in_channel"}
        top = [m for m in self.messages.get(channel, []) if "thread_ts" not in m]
        return {"ok": True, "messages": list(reversed(top)), "has_more": False}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return {"ok": True, "view": {"id": "V0001", **(args.get("view") or {})}}

    def _oauth_v2_access(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "app_id": "A0001",
            "authed_user": {"id": "U0001"},
            "scope": "commands,chat:write",
            "token_type": "bot",
            "access_token": self.token,
            "bot_user_id": BOT_USER,
            "team": {"id": TEAM, "name": "Fake"},
            "enterprise": None,
            "is_enterprise_install": False,
        }
