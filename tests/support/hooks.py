"""A gateway that hook senders (the hooks and CRM tests) post to: `running_gateway` with a
hooks config file, and `post`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.support.gateway import RunningGateway, running_gateway

PUBLIC = "https://gateway.example"  # what senders call; the test reaches it on loopback


class Gateway(RunningGateway):
    """A running gateway that hook senders post to."""

    def post(self, hook: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(f"{self.url}/hooks/{hook}", timeout=30, **kwargs)


@contextlib.contextmanager
def gateway(
    tmp_path: Path,
    toml: str | None,
    *,
    database_url: str | None = None,
    **settings: Any,
) -> Iterator[Gateway]:
    """A local-mode gateway (in-process simulator) serving `toml` as its GATEWAY_CONFIG."""
    values: dict[str, Any] = {"public_base_url": PUBLIC, "callback_allow_private": True}
    if database_url is not None:
        values["database_url"] = database_url
    values.update(settings)
    with running_gateway(tmp_path, toml=toml, configure_logs=True, **values) as running:
        yield Gateway(running.server, running.app, running.settings, running.database_url)
