"""The floor: the least a durable keyed proxy in front of OneInbox must do, and nothing else.

A Starlette app (served by uvicorn like the gateway): bearer check, `INSERT OR IGNORE` of the
idempotency key, the upstream `POST /v1/calls/web` through one shared aiohttp session, then one
SQLite transaction (WAL, synchronous=NORMAL, run in the event loop thread) that stores the call
and the key's answer, and a 202. The hooks benchmark runs it beside the gateway, on the same
stand-in upstream, in the same run: the gateway's figures are read as ratios to this one.

`POST /webhooks/oneinbox?token=…` is the floor of a transcript event (the live benchmark): a
token check, the JSON read, one upsert of the call's turn (its text, a version bumped), a 202.

Configured by environment: FLOOR_UPSTREAM, FLOOR_API_KEY, FLOOR_AGENT, FLOOR_DB, FLOOR_TOKEN.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, status INTEGER, body TEXT);
CREATE TABLE IF NOT EXISTS calls (id TEXT PRIMARY KEY, key TEXT, join_token TEXT);
CREATE TABLE IF NOT EXISTS turns (
  call_id TEXT, turn INTEGER, text TEXT, version INTEGER, PRIMARY KEY (call_id, turn)
);
"""


def app() -> Starlette:
    """The floor app (a uvicorn `--factory`)."""
    upstream = os.environ["FLOOR_UPSTREAM"].rstrip("/")
    agent = os.environ["FLOOR_AGENT"]
    expected = f"Bearer {os.environ['FLOOR_TOKEN']}"
    upstream_auth = {"Authorization": f"Bearer {os.environ['FLOOR_API_KEY']}"}
    db = sqlite3.connect(os.environ["FLOOR_DB"], isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=100)
        async with aiohttp.ClientSession(connector=connector, headers=upstream_auth) as session:
            state["http"] = session
            yield
        db.close()

    async def hook(request: Request) -> Response:
        if request.headers.get("authorization") != expected:
            return PlainTextResponse("unauthorized", status_code=401)
        body = await request.json()
        key = request.headers.get("idempotency-key") or ""
        if db.execute("INSERT OR IGNORE INTO keys (key) VALUES (?)", (key,)).rowcount != 1:
            return JSONResponse({"error": "repeat"}, status_code=409)
        payload = {"agent_id": agent, "variables": {"customer_name": body.get("name")}}
        async with state["http"].post(f"{upstream}/v1/calls/web", json=payload) as answer:
            call = await answer.json()
        answer_body = {"call_id": call["id"], "status": "started"}
        db.execute("BEGIN")
        db.execute(
            "INSERT INTO calls (id, key, join_token) VALUES (?, ?, ?)",
            (call["id"], key, call.get("participant_token")),
        )
        db.execute(
            "UPDATE keys SET status = 202, body = ? WHERE key = ?", (json.dumps(answer_body), key)
        )
        db.execute("COMMIT")
        return JSONResponse(answer_body, status_code=202)

    async def event(request: Request) -> Response:
        if request.query_params.get("token") != os.environ["FLOOR_TOKEN"]:
            return PlainTextResponse("unauthorized", status_code=401)
        data = await request.json()
        db.execute(
            "INSERT INTO turns (call_id, turn, text, version) VALUES (?, ?, ?, 1) "
            "ON CONFLICT (call_id, turn) DO UPDATE SET text = excluded.text, version = version + 1",
            (data["call_id"], data["turn"], data["text"]),
        )
        return JSONResponse({"accepted": True}, status_code=202)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/hooks/bench", hook, methods=["POST"]),
            Route("/webhooks/oneinbox", event, methods=["POST"]),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )
