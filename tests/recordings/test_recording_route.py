"""A result's recording link still opens after OneInbox's own URL expired; expired or forged
links get a clear page; the result never carries an upstream URL."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.calls.harness import HOOK_TOKEN, hook_toml, local_gateway
from tests.support.receiver import CallbackReceiver
from tests.support.servers import serve_app, wait_until


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> CallbackReceiver:
    receiver = CallbackReceiver()
    monkeypatch.setenv("TEST_HOOK_TOKEN", HOOK_TOKEN)
    monkeypatch.setenv("TEST_RECEIVER_SECRET", receiver.secret)
    return receiver


def test_the_link_outlives_the_upstream_url(tmp_path: Path, receiver: CallbackReceiver) -> None:
    with serve_app(receiver.app) as rx:
        config = hook_toml(agent="create", callbacks=[(rx.url + "/hook", "TEST_RECEIVER_SECRET")])
        with local_gateway(tmp_path, config) as gw:
            wait_until(lambda: gw.sim_webhooks(), what="webhook registered")
            gw.sim_config(recording_url_ttl_seconds=3)  # OneInbox's URLs expire in 3 s
            started = gw.start_call({"name": "Ada"})
            gw.join_call(started["call_id"])
            gw.end_call(started["call_id"])
            wait_until(lambda: receiver.accepted(), timeout=20, what="the callback")
            link = receiver.accepted()[0].payload["data"]["recording_url"]
            assert link.startswith(gw.url + "/recordings/")

            first = httpx.get(link)
            assert first.status_code == 302
            upstream = first.headers["location"]
            assert upstream.startswith(gw.sim + "/recordings/")
            assert first.headers["cache-control"] == "no-store"
            assert httpx.get(upstream).status_code == 200

            wait_until(
                lambda: httpx.get(upstream).status_code == 403, timeout=15, what="upstream expiry"
            )
            again = httpx.get(link)
            assert again.status_code == 302
            fresh = httpx.get(again.headers["location"])
            assert fresh.status_code == 200
            assert fresh.headers["content-type"] == "audio/wav"
            assert fresh.content[:4] == b"RIFF"

            forged = httpx.get(link[:-3] + ("abc" if not link.endswith("abc") else "xyz"))
            assert forged.status_code == 404
            assert "This recording link is not valid" in forged.text
            assert "oneinbox-sim" not in forged.text


def test_an_expired_link_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_HOOK_TOKEN", HOOK_TOKEN)
    with local_gateway(tmp_path, hook_toml(agent="create", callbacks=[])) as gw:
        links = gw.ctx.recording_links
        started = gw.start_call({})
        expired = links.url_for(started["call_id"], now=time.time() - links.ttl_seconds - 1)
        answer = httpx.get(expired)
        assert answer.status_code == 410
        assert "This recording link has expired" in answer.text
        not_recorded = httpx.get(links.url_for(started["call_id"]))  # nobody joined: no recording
        assert not_recorded.status_code == 404
        assert "There is no recording for this call" in not_recorded.text
