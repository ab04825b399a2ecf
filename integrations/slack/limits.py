"""What a Slack user reads when a call would go over a limit: which one, and when it resets."""

from __future__ import annotations

from gateway.limits.policy import LimitReached


def slack_date(moment_ts: int, fallback: str) -> str:
    """A date Slack shows in the reader's own time zone (`<!date^…>`), with a fallback."""
    return f"<!date^{moment_ts}^{{date_short_pretty}} at {{time}}|{fallback}>"


def limit_message(reached: LimitReached) -> str:
    """One short paragraph; nothing was started, and it says so."""
    calls = "phone call" if reached.limit.startswith("phone_") else "call"
    calls += "" if reached.allowed == 1 else "s"
    if reached.resets_at is None:
        running = "call is" if reached.allowed == 1 else "calls are"
        return (
            f"{reached.allowed} {running} running right now, the most this gateway allows at "
            f"once (limit `{reached.limit}`), so nothing was started. Try again when one has "
            "ended."
        )
    whose = "You have used your" if reached.scope == "slack_user" else "This gateway has used its"
    when = slack_date(
        int(reached.resets_at.timestamp()), reached.resets_at.strftime("%Y-%m-%d %H:%M UTC")
    )
    return (
        f"{whose} {reached.allowed} {calls} for today (limit `{reached.limit}`), so nothing "
        f"was started. It resets {when}."
    )
