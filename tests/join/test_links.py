"""JoinLinks on a real store (SQLite, and PostgreSQL when available), the template, the limiter."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import sqlalchemy as sa

from gateway.calls.link_crypto import TokenBox
from gateway.calls.link_janitor import LinkJanitor
from gateway.calls.links import JoinCredentials, JoinLinks, token_expiry
from gateway.calls.states import CallState
from gateway.http.retry_after import retry_after_header
from gateway.limits.buckets import Budget, RateLimiter
from gateway.settings import template_problem
from gateway.store.database import Database
from gateway.store.tables import CallRow, JoinLinkRow, utcnow

SERVER_URL = "wss://media.example/rtc?region=eu&x=a b"


def participant_token(expires_in: int, call_id: str = "call_1") -> str:
    now = int(time.time())
    claims = {"exp": now + expires_in, "iat": now, "call_id": call_id, "video": {"room": "r"}}
    return jwt.encode(claims, "the-upstream-key-not-ours-0123456789", algorithm="HS256")


def links(ttl: int = 900, template: str | None = None) -> JoinLinks:
    box = TokenBox(b"a-secret-key-for-tests")
    return JoinLinks(box, public_base="https://gw.example/", ttl_seconds=ttl, template=template)


async def add_call(db: Database, call_id: str, state: CallState = CallState.STARTED) -> None:
    async with db.session() as session:
        session.add(
            CallRow(
                id=call_id,
                agent_id="agt_1",
                agent_name="Ada",
                origin_kind="admin",
                origin_name="tests",
                state=str(state),
            )
        )


async def test_a_link_is_opaque_and_its_credentials_are_sealed(db: Database) -> None:
    join = links()
    await add_call(db, "call_1")
    token = participant_token(600)
    async with db.session() as session:
        issued = await join.issue(
            session,
            call_id="call_1",
            agent_name="Ada",
            credentials=JoinCredentials(SERVER_URL, token),
        )
    assert issued.url == f"https://gw.example/join/{issued.link_id}"
    assert len(issued.link_id) >= 22  # ≥ 128 random bits, URL-safe base64
    assert "call_1" not in issued.link_id
    async with db.session() as session:
        raw = (await session.execute(sa.text("SELECT * FROM join_links"))).mappings().one()
        assert token not in str(dict(raw)) and SERVER_URL not in str(dict(raw))
        row = await join.find_live(session, issued.link_id)
        assert row is not None
        assert join.reveal(row) == JoinCredentials(SERVER_URL, token)
    # Another key cannot open what this one sealed.
    other = JoinLinks(TokenBox(b"another-key"), public_base="https://gw.example", ttl_seconds=9)
    assert other.reveal(row) is None


def test_sealed_credentials_open_with_their_key_only_and_old_fernet_values_still_open() -> None:
    import hashlib

    from cryptography.fernet import Fernet

    box = TokenBox(b"a-secret-key-for-tests")
    sealed = box.seal(SERVER_URL)
    assert sealed.startswith("v2.") and SERVER_URL not in sealed
    assert sealed != box.seal(SERVER_URL)  # a fresh nonce each time
    assert box.open(sealed) == SERVER_URL
    assert TokenBox(b"another-key").open(sealed) is None
    # A flipped byte in the ciphertext, a cut value, garbage: refused, never a wrong plaintext.
    raw = bytearray(base64.urlsafe_b64decode(sealed[3:]))
    raw[-1] ^= 1
    assert box.open("v2." + base64.urlsafe_b64encode(bytes(raw)).decode()) is None
    assert box.open(sealed[:20]) is None
    assert box.open("v2.!!!") is None
    # What an earlier release stored (Fernet, keyed the same way) still opens.
    digest = hashlib.sha256(b"oneinbox-gateway/join-links/v1\x00a-secret-key-for-tests").digest()
    old = Fernet(base64.urlsafe_b64encode(digest)).encrypt(SERVER_URL.encode()).decode()
    assert box.open(old) == SERVER_URL
    assert TokenBox(b"another-key").open(old) is None


async def test_a_link_never_outlives_the_participant_token(db: Database) -> None:
    join = links(ttl=900)
    short = JoinCredentials(SERVER_URL, participant_token(120))
    assert join.expiry_for(short) <= utcnow() + timedelta(seconds=121)
    long = JoinCredentials(SERVER_URL, participant_token(86_400))
    assert join.expiry_for(long) <= utcnow() + timedelta(seconds=901)
    opaque = JoinCredentials(SERVER_URL, "not-a-jwt")
    assert join.expiry_for(opaque) > utcnow() + timedelta(seconds=890)
    assert token_expiry("not-a-jwt") is None


async def test_links_die_with_expiry_and_with_their_call(db: Database) -> None:
    join = links()
    ids = {}
    for call_id in ("call_live", "call_expired", "call_over"):
        await add_call(db, call_id)
        async with db.session() as session:
            issued = await join.issue(
                session,
                call_id=call_id,
                agent_name=None,
                credentials=JoinCredentials(SERVER_URL, participant_token(600, call_id)),
            )
        ids[call_id] = issued.link_id
    async with db.session() as session:
        await session.execute(
            sa.update(JoinLinkRow)
            .where(JoinLinkRow.call_id == "call_expired")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.execute(
            sa.update(CallRow).where(CallRow.id == "call_over").values(state="analyzed")
        )
    async with db.session() as session:
        assert await join.find_live(session, ids["call_live"]) is not None
        assert await join.find_live(session, ids["call_expired"]) is None
        assert await join.find_live(session, ids["call_over"]) is None
        assert await join.find_live(session, "x" * 32) is None
        assert await join.find_live(session, "short") is None
        # Leave still finds an expired link while its call runs, never a finished call's.
        assert await join.find_for_leave(session, ids["call_expired"]) is not None
        assert await join.find_for_leave(session, ids["call_over"]) is None
    async with db.session() as session:
        assert await join.purge_expired(session) == 1
        assert await join.purge_finished(session) == 1
        assert await join.purge_expired(session) == 0
    async with db.session() as session:
        rows = {r.call_id: r for r in (await session.execute(sa.select(JoinLinkRow))).scalars()}
    assert rows["call_live"].participant_token_enc is not None
    for gone in ("call_expired", "call_over"):
        assert rows[gone].participant_token_enc is None
        assert rows[gone].server_url_enc is None
        assert rows[gone].purged_at is not None


def test_join_url_template_url_encodes_every_value() -> None:
    template = (
        "https://meet.example/custom?liveKitUrl={server_url}&token={participant_token}&c={call_id}"
    )
    assert template_problem(template) is None
    token = participant_token(60) + "+/="
    url = links(template=template).url_for("link", "call 1&x", JoinCredentials(SERVER_URL, token))
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "meet.example", "/custom")
    query = parse_qs(parts.query)
    assert query == {"liveKitUrl": [SERVER_URL], "token": [token], "c": ["call 1&x"]}
    assert "wss%3A%2F%2Fmedia.example%2Frtc%3Fregion%3Deu%26x%3Da%20b" in url


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("https://x.example/?t={token}", "unknown placeholder {token}"),
        ("https://x.example/?t={participant_token!r}", "no format spec or conversion"),
        ("https://x.example/?t={participant_token:>9}", "no format spec or conversion"),
        ("https://x.example/?t={participant_token", "not a valid template"),
        ("meet.example/{participant_token}", "http:// or https://"),
    ],
)
def test_a_bad_join_url_template_is_named(template: str, problem: str) -> None:
    found = template_problem(template)
    assert found is not None and problem in found


def test_the_rate_limiter_allows_a_burst_then_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(Budget(requests=3, seconds=60), clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]
    wait = limiter.take("a")
    assert 0 < wait <= 20
    assert retry_after_header(wait) == "20"
    assert limiter.take("b") == 0  # keys are independent
    now[0] += 20
    assert limiter.take("a") == 0
    assert limiter.take("a") > 0


def test_the_rate_limiter_forgets_the_oldest_keys() -> None:
    limiter = RateLimiter(Budget(requests=1, seconds=60), max_keys=2, clock=lambda: 0.0)
    limiter.take("a")
    limiter.take("b")
    limiter.take("c")  # "a" is forgotten: its budget starts afresh
    assert limiter.take("a") == 0
    assert limiter.take("c") > 0


async def test_the_janitor_sweeps_in_the_background_and_stops(db: Database) -> None:
    join = links()
    await add_call(db, "call_1")
    async with db.session() as session:
        issued = await join.issue(
            session,
            call_id="call_1",
            agent_name=None,
            credentials=JoinCredentials(SERVER_URL, participant_token(600)),
        )
        await session.execute(
            sa.update(JoinLinkRow).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    janitor = LinkJanitor(db, join, interval=0.05)
    await janitor.start()
    try:
        for _ in range(100):
            row = await link_row(db, issued.link_id)
            if row.purged_at is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        await janitor.stop()
    assert row.purged_at is not None and row.participant_token_enc is None
    assert await janitor.sweep() == 0


async def link_row(db: Database, link_id: str) -> JoinLinkRow:
    async with db.session() as session:
        row = await session.get(JoinLinkRow, link_id)
    assert row is not None
    return row


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "x.!!!.y",
        "x." + base64.urlsafe_b64encode(b"not json").decode() + ".y",
        "x." + base64.urlsafe_b64encode(b"[1, 2]").decode() + ".y",
        "x." + base64.urlsafe_b64encode(b'{"exp": true}').decode() + ".y",
        "x." + base64.urlsafe_b64encode(b'{"exp": "1700000000"}').decode() + ".y",
        "x." + base64.urlsafe_b64encode(b'{"exp": 1e300}').decode() + ".y",
        "x." + base64.urlsafe_b64encode(b'{"sub": "no exp"}').decode() + ".y",
    ],
)
def test_a_token_without_a_readable_expiry_has_none(token: str) -> None:
    assert token_expiry(token) is None


def test_the_expiry_read_is_the_one_pyjwt_reads() -> None:
    token = participant_token(600)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert token_expiry(token) == datetime.fromtimestamp(claims["exp"], UTC)
    unpadded = token.rstrip("=")  # JWT segments carry no padding; it is restored
    assert token_expiry(unpadded) == datetime.fromtimestamp(claims["exp"], UTC)
