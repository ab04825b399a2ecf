"""The Salesforce client against the org stand-in over real HTTP: token, create, query."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import httpx
import pytest

from integrations.salesforce.api import (
    SalesforceClient,
    SalesforceError,
    TokenRefused,
    soql_quote,
)
from tests.support.fake_salesforce import FakeSalesforce, errors
from tests.support.servers import ServerThread, serve_app

T = TypeVar("T")


@pytest.fixture
def org() -> FakeSalesforce:
    return FakeSalesforce()


@pytest.fixture
def server(org: FakeSalesforce) -> Iterator[ServerThread]:
    with serve_app(org.app) as running:
        yield running


def run(
    org: FakeSalesforce,
    server: ServerThread,
    work: Callable[[SalesforceClient], Awaitable[T]],
    *,
    secret: str = "",
) -> T:
    """Run `work(client)` with a client of the stand-in's connected app."""

    async def main() -> T:
        async with httpx.AsyncClient() as http:
            client = SalesforceClient(
                server.url, org.client_id, secret or org.client_secret, http=http
            )
            return await work(client)

    return asyncio.run(main())


def test_a_task_is_created_under_the_instance_url_with_one_token(
    org: FakeSalesforce, server: ServerThread
) -> None:
    contact = org.add_record("003")

    async def work(client: SalesforceClient) -> tuple[str, str, int]:
        first = await client.create("Task", {"WhoId": contact, "CallObject": "call_1"})
        second = await client.create("Task", {"WhoId": contact, "CallObject": "call_2"})
        return first, second, client.tokens_fetched

    first, second, fetched = run(org, server, work)
    assert first.startswith("00T") and second.startswith("00T") and first != second
    assert fetched == 1
    assert [t["WhoId"] for t in org.all_tasks()] == [contact, contact]
    # Every REST request went to the instance URL the token answer named, never the login host.
    assert all(path.startswith("/instance/services/data/") for _, path, _ in org.requests)


def test_an_expired_session_is_renewed_once_and_the_write_sent_again(
    org: FakeSalesforce, server: ServerThread
) -> None:
    contact = org.add_record("003")

    async def work(client: SalesforceClient) -> int:
        await client.create("Task", {"WhoId": contact})
        org.expire_sessions()
        await client.create("Task", {"WhoId": contact})
        return client.tokens_fetched

    assert run(org, server, work) == 2
    assert len(org.all_tasks()) == 2
    assert len(org.requests) == 3  # create, the refused create, the create with the new token


def test_a_session_refused_twice_is_an_error_not_a_loop(
    org: FakeSalesforce, server: ServerThread
) -> None:
    org.fail("create", 401, errors("INVALID_SESSION_ID", "Session expired or invalid"), times=5)

    async def work(client: SalesforceClient) -> None:
        await client.create("Task", {"Subject": "x"})

    with pytest.raises(SalesforceError) as caught:
        run(org, server, work)
    assert caught.value.code == "INVALID_SESSION_ID" and caught.value.status == 401
    assert len(org.token_requests) == 2
    assert org.all_tasks() == []


def test_a_wrong_secret_is_refused_by_the_token_endpoint(
    org: FakeSalesforce, server: ServerThread
) -> None:
    async def work(client: SalesforceClient) -> None:
        await client.create("Task", {"Subject": "x"})

    with pytest.raises(TokenRefused) as caught:
        run(org, server, work, secret="not-the-secret-at-all")
    assert (caught.value.status, caught.value.code) == (400, "invalid_client")
    assert "not-the-secret-at-all" not in str(caught.value)
    assert org.requests == []  # nothing reached the REST API


def test_errors_keep_salesforce_s_error_code_and_fields(
    org: FakeSalesforce, server: ServerThread
) -> None:
    async def work(client: SalesforceClient) -> None:
        await client.create("Task", {"WhoId": "003000000000000AAA"})

    with pytest.raises(SalesforceError) as caught:
        run(org, server, work)
    assert caught.value.status == 400
    assert caught.value.code == "INVALID_CROSS_REFERENCE_KEY"
    assert caught.value.fields == ["WhoId"]


def test_the_api_limit_is_a_403_with_its_code(org: FakeSalesforce, server: ServerThread) -> None:
    org.fail("create", 403, errors("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))

    async def work(client: SalesforceClient) -> None:
        await client.create("Task", {"Subject": "x"})

    with pytest.raises(SalesforceError) as caught:
        run(org, server, work)
    assert (caught.value.status, caught.value.code) == (403, "REQUEST_LIMIT_EXCEEDED")


def test_a_query_follows_next_records_url_to_the_last_batch(
    org: FakeSalesforce, server: ServerThread
) -> None:
    org.page_size = 2
    contact = org.add_record("003")
    marker = "it's \\ one call"

    async def work(client: SalesforceClient) -> list[str]:
        for _ in range(5):
            await client.create("Task", {"WhoId": contact, "CallObject": marker})
        await client.create("Task", {"WhoId": contact, "CallObject": "another call"})
        soql = f"SELECT Id FROM Task WHERE CallObject = {soql_quote(marker)}"  # noqa: S608
        found = await client.query(soql)
        return [str(r["Id"]) for r in found]

    ids = run(org, server, work)
    assert ids == [t["Id"] for t in org.tasks_for(marker)]
    assert len(ids) == 5  # three batches of 2, 2 and 1
    assert sum("/query/" in path for _, path, _ in org.requests) == 2
