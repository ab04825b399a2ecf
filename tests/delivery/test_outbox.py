"""The outbox over real HTTP: dead after the last try and visible, replayed from the CLI,
redirects not followed, a destination nobody registered waits with a clear error."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway.delivery.replay import UnknownDeliveryError, replay_delivery
from gateway.store.database import Database
from tests.calls.harness import HOOK_TOKEN, LocalGateway, hook_toml, local_gateway, read_store
from tests.support.receiver import CallbackReceiver
from tests.support.servers import serve_app, wait_until


async def replay_on(database_url: str, delivery_id: str) -> None:
    db = Database(database_url)
    try:
        await replay_delivery(db, delivery_id)
    finally:
        await db.dispose()


def cli(gw: LocalGateway, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": gw.ctx.settings.database_url,
        "ONEINBOX_API_KEY": "",
        "GATEWAY_CONFIG": "",
        "LOG_FORMAT": "json",
    }
    env.pop("GATEWAY_CONFIG")
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_HOOK_TOKEN", HOOK_TOKEN)


def finished_call(gw: LocalGateway) -> str:
    call_id = str(gw.start_call()["call_id"])
    gw.join_call(call_id)
    gw.end_call(call_id, outcome="interested", summary="Call me back.")
    return call_id


def test_a_delivery_that_never_succeeds_goes_dead_and_a_replay_delivers_it(
    tmp_path: Path, env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = CallbackReceiver(fail_first=1000)
    monkeypatch.setenv("TEST_RECEIVER_SECRET", receiver.secret)
    with serve_app(receiver.app) as rx:
        config = hook_toml(agent="create", callbacks=[(rx.url + "/hook", "TEST_RECEIVER_SECRET")])
        # The whole schedule (~28 h) squeezed into about a second.
        with local_gateway(tmp_path, config, delivery_schedule_scale=0.00001) as gw:
            gw.sim_config(analysis_delay=0.1)
            call_id = finished_call(gw)
            store = wait_until(
                lambda: (
                    (s := read_store(gw.ctx.settings.database_url, call_id))["deliveries"]
                    and s["deliveries"][0].state == "dead"
                    and s
                ),
                timeout=30,
                what="dead",
            )
            [dead] = store["deliveries"]
            assert dead.attempts == 8
            assert store["call"].state == "delivered"  # nothing left to try: done, visibly
            assert len(receiver.all()) == 8

            listed = cli(gw, "deliveries", "list", "--failed")
            assert listed.returncode == 0, listed.stderr
            assert dead.id in listed.stdout and "dead" in listed.stdout

            receiver.fail_first = 0
            replayed = cli(gw, "deliveries", "replay", dead.id)
            assert replayed.returncode == 0, replayed.stderr
            wait_until(receiver.accepted, timeout=15, what="the replayed delivery")
            wait_until(
                lambda: (
                    read_store(gw.ctx.settings.database_url, call_id)["deliveries"][0].state
                    == "delivered"
                ),
                what="delivered",
            )
            again = cli(gw, "deliveries", "replay", dead.id)
            shown = cli(gw, "calls", "show", call_id)
            listed_calls = cli(gw, "calls", "list", "--state", "delivered")
            with pytest.raises(UnknownDeliveryError):
                asyncio.run(replay_on(gw.ctx.settings.database_url, "msg_nope"))
    assert again.returncode == 1 and "only failed ones can be replayed" in again.stderr
    assert shown.returncode == 0, shown.stderr
    assert listed_calls.returncode == 0 and call_id in listed_calls.stdout
    assert "hook:crm" in listed_calls.stdout
    for expected in ("-> ended", "ended -> analyzed", "analyzed -> delivered", dead.id):
        assert expected in shown.stdout
    assert shown.stdout.count("status=500") == 8 and "status=200" in shown.stdout
    bodies = receiver.bodies_by_id()
    assert list(bodies) == [dead.id] and len(bodies[dead.id]) == 1  # one body for nine tries


def test_a_redirect_is_not_followed(
    tmp_path: Path, env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = CallbackReceiver()
    with serve_app(target.app) as rx_target:
        redirecting = CallbackReceiver(redirect_to=rx_target.url + "/hook")
        monkeypatch.setenv("TEST_RECEIVER_SECRET", redirecting.secret)
        with serve_app(redirecting.app) as rx:
            config = hook_toml(
                agent="create", callbacks=[(rx.url + "/hook", "TEST_RECEIVER_SECRET")]
            )
            with local_gateway(tmp_path, config, delivery_schedule_scale=0.0001) as gw:
                gw.sim_config(analysis_delay=0.1)
                call_id = finished_call(gw)
                wait_until(lambda: len(redirecting.all()) >= 2, timeout=20, what="two tries")
                store = read_store(gw.ctx.settings.database_url, call_id)
    assert target.all() == []
    [delivery] = store["deliveries"]
    assert delivery.last_status == 307
    assert "redirect not followed" in (delivery.last_error or "")


def test_a_destination_nobody_registered_waits_with_a_clear_error(
    tmp_path: Path, env: None
) -> None:
    config = (
        '[agents.tester]\ncreate = { first_message = "hi" }\n\n[hooks.crm]\n'
        'auth = { scheme = "bearer", token_env = "TEST_HOOK_TOKEN" }\nagent = "tester"\n'
        'notify = [{ slack_channel = "C0123" }]\n'
    )
    with local_gateway(tmp_path, config) as gw:  # Slack is not configured
        gw.sim_config(analysis_delay=0.1)
        call_id = finished_call(gw)
        store: dict[str, Any] = wait_until(
            lambda: (
                (s := read_store(gw.ctx.settings.database_url, call_id))["deliveries"]
                and s["deliveries"][0].last_error
                and s
            ),
            timeout=20,
            what="the delivery's error",
        )
    [delivery] = store["deliveries"]
    assert delivery.state == "pending" and delivery.attempts == 0
    assert "no destination named 'slack' is registered" in (delivery.last_error or "")
    assert store["call"].state == "analyzed"
