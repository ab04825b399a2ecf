"""Async client, typed models and error types for the OneInbox API."""

from gateway.oneinbox.client import OneInboxClient, RequestHook
from gateway.oneinbox.errors import (
    AuthenticationError,
    NotFoundError,
    OneInboxError,
    RateLimitedError,
    UpstreamUnavailableError,
    ValidationError,
)
from gateway.oneinbox.models import (
    Agent,
    Analysis,
    Call,
    CallPage,
    Message,
    Model,
    WebCall,
    Webhook,
)
from gateway.oneinbox.retry import RetryPolicy

__all__ = [
    "Agent",
    "Analysis",
    "AuthenticationError",
    "Call",
    "CallPage",
    "Message",
    "Model",
    "NotFoundError",
    "OneInboxClient",
    "OneInboxError",
    "RateLimitedError",
    "RequestHook",
    "RetryPolicy",
    "UpstreamUnavailableError",
    "ValidationError",
    "WebCall",
    "Webhook",
]
