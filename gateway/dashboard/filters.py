"""The calls list's query parameters, read and checked: a bad value is a clear message.

`q` (text), `state`, `outcome`, `origin` (`hook` or `hook:new-lead`), `agent`, `since` and
`until` (ISO date or date and time, UTC unless an offset is given; a bare `until` date takes
in that whole day), `limit`, and the page marks `before` / `after`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from gateway.calls.states import CallState
from gateway.store.call_search import CallFilter, PageMark

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_TEXT = 200
LIMIT = re.compile(r"^[0-9]{1,4}$")
ORIGIN_KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# The parameters that choose calls (paging ones aside), as the form names them.
FILTER_FIELDS = ("q", "state", "outcome", "origin", "agent", "since", "until")
STATES = tuple(str(s) for s in CallState)
WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
WINDOWS["30d"] = timedelta(days=30)
DEFAULT_WINDOW = "7d"


@dataclass
class CallQuery:
    """The checked request: what to match, which page, and the raw values to show back."""

    where: CallFilter
    limit: int = PAGE_SIZE
    before: PageMark | None = None
    after: PageMark | None = None
    shown: dict[str, str] = field(default_factory=dict)  # the form's values, as typed
    problems: list[str] = field(default_factory=list)

    def link(self, **paging: str) -> str:
        """A link to this search with other paging (`before=…`, `after=…` or none)."""
        params = {k: v for k, v in self.shown.items() if v}
        if self.limit != PAGE_SIZE:
            params["limit"] = str(self.limit)
        params.update(paging)
        return "/dashboard/calls" + (f"?{urlencode(params)}" if params else "")


def read_call_query(params: Mapping[str, str]) -> CallQuery:
    """The filters and page of `params`; `problems` lists every value that is wrong."""
    shown = {name: params.get(name, "").strip() for name in FILTER_FIELDS}
    problems: list[str] = []
    for name in ("q", "outcome", "agent", "origin"):
        if len(shown[name]) > MAX_TEXT:
            problems.append(f"{name} is at most {MAX_TEXT} characters")
            shown[name] = shown[name][:MAX_TEXT]
    state: str | None = shown["state"] or None
    if state is not None and state not in STATES:
        problems.append(f"state {state[:20]!r} is not one of: {', '.join(STATES)}")
        state = None
    kind, origin_name = _origin(shown["origin"], problems)
    since = _moment(shown["since"], "since", problems, end_of_day=False) if shown["since"] else None
    until = _moment(shown["until"], "until", problems, end_of_day=True) if shown["until"] else None
    if since and until and since >= until:
        problems.append("since must be earlier than until")
    where = CallFilter(
        text=shown["q"] or None,
        state=state,
        outcome=shown["outcome"] or None,
        origin_kind=kind,
        origin_name=origin_name,
        agent=shown["agent"] or None,
        since=since,
        until=until,
    )
    query = CallQuery(where=where, shown=shown, problems=problems)
    query.limit = _limit(params.get("limit", ""), problems)
    query.before = _mark(params.get("before", ""), "before", problems)
    query.after = _mark(params.get("after", ""), "after", problems)
    if query.before and query.after:
        problems.append("a page is either before or after a call, not both")
    return query


def read_window(value: str) -> tuple[str, timedelta]:
    """The success rates' window (`1h`, `24h`, `7d`, `30d`); ValueError with a message."""
    value = value.strip() or DEFAULT_WINDOW
    if value not in WINDOWS:
        raise ValueError(f"window {value[:20]!r} is not one of: {', '.join(WINDOWS)}")
    return value, WINDOWS[value]


def page_mark(created_at: datetime, call_id: str) -> str:
    """The opaque `before` / `after` value of a call's place in the order."""
    raw = f"{created_at.astimezone(UTC).isoformat()}|{call_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _mark(value: str, name: str, problems: list[str]) -> PageMark | None:
    if not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        when, call_id = raw.split("|", 1)
        moment = datetime.fromisoformat(when)
        if moment.tzinfo is None or not call_id or len(call_id) > 64:
            raise ValueError(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        problems.append(f"{name} is not a page link this dashboard made; start from the newest")
        return None
    return PageMark(moment, call_id)


def _origin(value: str, problems: list[str]) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    kind, _, name = value.partition(":")
    if not ORIGIN_KIND.match(kind):
        problems.append("origin is a kind (hook, slack, admin, dashboard) or kind:name")
        return None, None
    return kind, (name.strip() or None)


def _moment(value: str, name: str, problems: list[str], *, end_of_day: bool) -> datetime | None:
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end_of_day else start
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        problems.append(f"{name} is a date (2025-01-31) or a date and time (2025-01-31T14:00)")
        return None


def _limit(value: str, problems: list[str]) -> int:
    if not value.strip():
        return PAGE_SIZE
    if not LIMIT.match(value.strip()) or not 1 <= int(value) <= MAX_PAGE_SIZE:
        problems.append(f"limit is a number of calls from 1 to {MAX_PAGE_SIZE}")
        return PAGE_SIZE
    return int(value)
