"""The bolt `AsyncApp` and its three routes: events, install, OAuth redirect.

`process_before_response=True`: every listener only acks and hands the slow work to a task
kept by `AppContext.spawn`, so the answer leaves as soon as the listener returns (bolt's default
mode would poll for the ack every ~10 ms and keep no reference to its tasks).
"""

from __future__ import annotations

from typing import Any

from slack_bolt.adapter.starlette.async_handler import (
    AsyncSlackRequestHandler,
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.http.body import read_body
from gateway.http.errors import HTTPProblem
from gateway.http.timestamps import parse_timestamp
from integrations.slack.agent_admin import CREATE_MODAL
from integrations.slack.blocks import JOIN_ACTION, STOP_ACTION
from integrations.slack.handlers import SlackHandlers
from integrations.slack.settings import SlackSettings
from integrations.slack.workspace import BOT_SCOPES, SlackWorkspaces

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


def build_bolt_app(
    settings: SlackSettings, public_base: str, workspaces: SlackWorkspaces, handlers: SlackHandlers
) -> AsyncApp:
    """The bolt app with the slash command, the Stop button and the create-agent modal."""
    assert settings.slack_signing_secret is not None
    common: dict[str, Any] = {
        "signing_secret": settings.slack_signing_secret.get_secret_value(),
        "process_before_response": True,
    }
    if workspaces.oauth:
        assert settings.slack_client_id is not None and settings.slack_client_secret is not None
        app = AsyncApp(
            oauth_settings=AsyncOAuthSettings(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret.get_secret_value(),
                scopes=BOT_SCOPES,
                installation_store=workspaces.installations,
                installation_store_bot_only=True,
                state_store=workspaces.states,
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
                redirect_uri=public_base + REDIRECT_PATH,
            ),
            client=workspaces.client(),
            **common,
        )
    else:
        app = AsyncApp(token=workspaces.bot_token, **common)
        # bolt built the client; point it at SLACK_API_URL with our retry policy. (Handing
        # bolt a client instead makes it warn whenever SLACK_BOT_TOKEN is in the environment.)
        configured = workspaces.client(workspaces.bot_token)
        app.client.base_url = configured.base_url
        app.client.retry_handlers = configured.retry_handlers

    @app.command(settings.slack_command)
    async def on_command(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await handlers.on_command(
            body=body, ack=ack, respond=respond, client=client, bot_user_id=context.bot_user_id
        )

    @app.action(STOP_ACTION)
    async def on_stop(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        call_id = str((body.get("actions") or [{}])[0].get("value") or "")
        if call_id:
            await handlers.on_stop_button(
                call_id=call_id, body=body, respond=respond, client=client
            )

    @app.action(JOIN_ACTION)
    async def on_join(ack: AsyncAck) -> None:
        await ack()  # a URL button: Slack opens the link; the click still needs an ack

    @app.view(CREATE_MODAL)
    async def on_create(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        view = body.get("view") or {}
        errors = await handlers.on_create_submitted(
            values=(view.get("state") or {}).get("values") or {},
            private_metadata=str(view.get("private_metadata") or ""),
            user_id=str((body.get("user") or {}).get("id") or ""),
            client=client,
        )
        if errors:
            await ack(response_action="errors", errors=errors)
        else:
            await ack()

    return app


def routes(app: AsyncApp, signing_secret: str) -> list[BaseRoute]:
    """`POST /slack/events` (1 MiB limit, then bolt's signature check), and the OAuth pages."""
    adapter = AsyncSlackRequestHandler(app)
    verifier = SignatureVerifier(signing_secret)

    async def events(request: Request) -> Response:
        body = await read_body(request)
        # Checked here too (bolt checks again) so a broken body never reaches a parser unsigned.
        # The timestamp first, strictly: the SDK's own `int()` raises on `²` or 5,000 digits.
        stamp = parse_timestamp(request.headers.get("x-slack-request-timestamp"))
        if stamp is None or not verifier.is_valid_request(body, dict(request.headers)):
            raise HTTPProblem(401, "invalid_signature", "missing, stale or wrong Slack signature")
        try:
            bolt_request = to_async_bolt_request(request, body)
        except ValueError:  # JSON or UTF-8 that does not decode
            raise HTTPProblem(400, "malformed_body", "the body is not a Slack payload") from None
        response = await app.async_dispatch(bolt_request)
        if response.status == 404:  # signed, but neither a command nor an action we handle
            raise HTTPProblem(
                400, "unhandled_slack_request", "not a Slack request this app handles"
            )
        return to_starlette_response(response)

    async def oauth_page(request: Request) -> Response:
        return await adapter.handle(request)

    found: list[BaseRoute] = [Route("/slack/events", events, methods=["POST"])]
    if app.oauth_flow is not None:
        found.append(Route(INSTALL_PATH, oauth_page, methods=["GET"]))
        found.append(Route(REDIRECT_PATH, oauth_page, methods=["GET"]))
    return found
