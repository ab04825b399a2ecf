"""Who typed a `/voice` command where, and the `Origin` every call it starts carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.calls.commands import Origin


@dataclass(frozen=True)
class Invocation:
    """Who typed the command where, from the slash command payload."""

    user_id: str
    channel_id: str
    team_id: str | None
    trigger_id: str | None = None

    @classmethod
    def from_payload(cls, body: dict[str, Any]) -> Invocation:
        return cls(
            user_id=str(body.get("user_id") or ""),
            channel_id=str(body.get("channel_id") or ""),
            team_id=body.get("team_id"),
            trigger_id=body.get("trigger_id"),
        )

    @property
    def origin(self) -> Origin:
        """The origin of a call started by this command (`slack`, `team/user`)."""
        return Origin(
            kind="slack",
            name=f"{self.team_id or 'slack'}/{self.user_id}",
            context={
                "team_id": self.team_id,
                "channel_id": self.channel_id,
                "user_id": self.user_id,
            },
        )
