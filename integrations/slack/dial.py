"""`/voice dial`: who may place phone calls from Slack, and the number they typed, checked.

Phone calls cost money, so `SLACK_DIAL_USERS` may name who can place them; unset,
`SLACK_ADMIN_USERS` decides (and unset too, everyone may). Both checks answer at once, in the
acknowledgement, and nothing is dialled when either fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.phone import InvalidPhoneNumber, to_e164
from integrations.slack import grammar


@dataclass(frozen=True)
class DialPolicy:
    """Who may dial: `dial_users` if any, else `admins` if any, else everyone."""

    dial_users: frozenset[str]
    admins: frozenset[str]

    @classmethod
    def of(cls, dial_users: Iterable[str], admins: Iterable[str]) -> DialPolicy:
        return cls(frozenset(dial_users), frozenset(admins))

    def allows(self, user_id: str) -> bool:
        """True when `user_id` may place phone calls."""
        allowed = self.dial_users or self.admins
        return not allowed or user_id in allowed

    def refusal(self, command: str) -> str:
        """The answer to someone who may not dial."""
        allowed = self.dial_users or self.admins
        people = ", ".join(f"<@{user}>" for user in sorted(allowed))
        return (
            f"Sorry, phone calls cost money, so only some people can place them ({people}). "
            f"Ask one of them, or start a web call: `{command} call <agent>`."
        )


def number_to_dial(dial: grammar.DialCommand, region: str | None) -> str:
    """The typed number as E.164; `grammar.UsageError` saying why it cannot be dialled.

    The message never repeats the number (it may be someone's personal data).
    """
    try:
        return to_e164(dial.number, region)
    except InvalidPhoneNumber as exc:
        raise grammar.UsageError(
            f"I can't dial that number: {exc.reason}. Nothing was dialled.",
            grammar.USAGE["dial"],
        ) from None
