"""The one way a CRM write-back builds its HTTP client: no redirects, a timeout, our name."""

from __future__ import annotations

import httpx


def crm_client(api_url: str, *, timeout: float) -> httpx.AsyncClient:
    """A connection pool for one CRM API (`api_url` its base URL), shared by every try."""
    return httpx.AsyncClient(
        base_url=api_url.rstrip("/"),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        headers={"User-Agent": "oneinbox-gateway"},
    )
