"""Which OneInbox the gateway talks to: the real API, or in local mode the simulator in-process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from gateway.oneinbox.client import OneInboxClient
from gateway.oneinbox.transport import OneInboxTransport
from gateway.settings import Settings
from gateway.simulator import SimulatorConfig, create_simulator_app

# Where the gateway mounts the simulator in local mode (browsers reach its /rtc there).
SIMULATOR_MOUNT = "/oneinbox-sim"
LOCAL_API_KEY = "oi_sk_local_simulator"


def local_simulator(settings: Settings) -> Any:
    """The simulator app for local mode; its `server_url` points at the gateway's mount.

    With `ADMIN_TOKEN` set, its `/_sim/*` control routes need that token.
    """
    public_url = settings.public_base.replace("http", "ws", 1) + SIMULATOR_MOUNT
    # Local mode shows everything a real call has: a live transcript and a recording.
    config = SimulatorConfig(public_url=public_url, transcript_events=True, record_calls=True)
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    return create_simulator_app(config, control_token=token)


def oneinbox_client(
    settings: Settings,
    *,
    simulator_app: Any = None,
    on_request: Callable[[str, str, float], None] | None = None,
    max_retries: int = 4,
) -> OneInboxClient:
    """A client of the real API, or of `simulator_app` in-process when one is given."""
    if simulator_app is not None:
        return OneInboxClient(
            "http://oneinbox-simulator",
            LOCAL_API_KEY,
            timeout=settings.oneinbox_timeout_seconds,
            max_retries=max_retries,
            transport=httpx.ASGITransport(app=simulator_app),
            on_request=on_request,
        )
    assert settings.oneinbox_api_key is not None
    return OneInboxClient(
        settings.oneinbox_base_url,
        settings.oneinbox_api_key.get_secret_value(),
        timeout=settings.oneinbox_timeout_seconds,
        max_retries=max_retries,
        transport=OneInboxTransport(max_connections=settings.oneinbox_max_connections),
        on_request=on_request,
    )
