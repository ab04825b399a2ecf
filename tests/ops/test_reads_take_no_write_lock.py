"""Pages and polls that only read take no write lock: in WAL mode SQLite's readers see their
own snapshot, so a writer that holds the lock (another replica, a long batch, a backup) does
not hold them back. Each used to wait SQLite's busy timeout (10 s) for a lock it never used."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.admin.rig import AdminRig, admin_rig
from tests.dashboard.test_dashboard_http import sign_in


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[AdminRig]:
    with admin_rig(tmp_path) as running:
        yield running


@contextmanager
def write_lock_held(rig: AdminRig) -> Iterator[None]:
    """Another connection holds the store's write lock meanwhile."""
    holder = sqlite3.connect(rig.database_url.removeprefix("sqlite+aiosqlite:///"))
    holder.isolation_level = None
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_dashboard_pages_answer_while_the_write_lock_is_held(rig: AdminRig) -> None:
    call_id = rig.start_call()["call_id"]
    client, _ = sign_in(rig)
    with write_lock_held(rig):
        for path in ("/", "/dashboard/calls", f"/dashboard/calls/{call_id}"):
            page = client.get(path, timeout=5)
            assert page.status_code == 200, (path, page.status_code)
            assert call_id in page.text, path
        for path in ("/dashboard/rates", "/dashboard/destinations"):
            page = client.get(path, timeout=5)
            assert page.status_code == 200, (path, page.status_code)
        listed = rig.api("GET", "/api/calls")
        assert listed.status_code == 200
        assert call_id in listed.text
        metrics = httpx.get(rig.url + "/metrics", timeout=5)
        assert metrics.status_code == 200
        assert 'gateway_calls{state="started"}' in metrics.text


def test_the_join_page_and_the_signed_status_page_answer_while_the_write_lock_is_held(
    rig: AdminRig,
) -> None:
    started = rig.start_call()
    with write_lock_held(rig):
        page = httpx.get(started["join_url"], timeout=5)
        assert page.status_code == 200
        signed = rig.ctx.calls.status_url(started["call_id"])  # the page a hook's caller polls
        status = httpx.get(signed, timeout=5)
        assert status.status_code == 200, status.text
        assert status.json()["call_id"] == started["call_id"]
