"""Recording links: genuine ones open until they expire; changed ones never do."""

from __future__ import annotations

import pytest

from gateway.recordings.links import BadRecordingLink, ExpiredRecordingLink, RecordingLinks

LINKS = RecordingLinks(b"k" * 32, public_base="https://gw.example/", ttl_seconds=60)


def token_of(url: str) -> str:
    assert url.startswith("https://gw.example/recordings/")
    return url.rsplit("/", 1)[1]


def test_a_link_names_its_call_until_it_expires() -> None:
    token = token_of(LINKS.url_for("call_abc", now=1000))
    assert LINKS.read(token, now=1059) == "call_abc"
    with pytest.raises(ExpiredRecordingLink):
        LINKS.read(token, now=1060)


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature
        lambda t: t.replace(t.split(".")[1], str(int(t.split(".")[1]) + 3600)),  # lifetime
        lambda t: "Y2FsbF9vdGhlcg." + t.split(".", 1)[1],  # another call
        lambda t: t + ".x",
        lambda t: "",
    ],
)
def test_a_changed_link_is_refused(change: object) -> None:
    token = token_of(LINKS.url_for("call_abc", now=1000))
    with pytest.raises(BadRecordingLink):
        LINKS.read(change(token), now=1001)  # type: ignore[operator]


def test_another_key_does_not_accept_it() -> None:
    other = RecordingLinks(b"z" * 32, public_base="https://gw.example", ttl_seconds=60)
    with pytest.raises(BadRecordingLink):
        other.read(token_of(LINKS.url_for("call_abc", now=1000)), now=1001)
