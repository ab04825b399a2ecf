"""The docs' pictures cannot rot: each one shown exists, each one taken is shown, the script
that takes them runs (one call, into a temporary folder), and the Slack drawing follows the
Block Kit it is given."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from tests.screenshots import slack_html
from tests.screenshots.capture import OUT, PICTURES, capture
from tests.support.browser import needs_chromium

ROOT = Path(__file__).resolve().parents[2]
IMAGE = re.compile(r"!\[[^\]]+\]\(([^)\s]+\.png)\)")


def docs() -> list[Path]:
    return [ROOT / "README.md", *sorted(ROOT.glob("*/**/doc.md"))]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_every_picture_in_the_docs_exists_and_every_picture_taken_is_shown() -> None:
    shown: set[Path] = set()
    for doc in docs():
        if "node_modules" in doc.parts or ".venv" in doc.parts:
            continue
        for target in IMAGE.findall(doc.read_text()):
            path = (doc.parent / target).resolve()
            assert path.is_file(), f"{doc.relative_to(ROOT)} shows {target}, which is missing"
            width, height = png_size(path)
            assert width >= 800 and height >= 300, (target, width, height)
            shown.add(path)
    taken = {OUT / name for name in PICTURES}
    assert taken <= shown, f"taken but never shown: {sorted(p.name for p in taken - shown)}"
    assert set(OUT.glob("*.png")) == taken, "deploy/screenshots holds a picture nobody takes"
    readme = (ROOT / "README.md").read_text()
    for name in ("slack-thread.png", "join-page.png", "dashboard-overview.png"):
        assert f"deploy/screenshots/{name}" in readme


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def test_the_slack_drawing_follows_the_blocks() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Call <1>"}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": ":telephone_receiver: *Voice call* with _sales_ ~old~ `call_1` "
                "<https://gw.example/join/x?a=1&amp;b=2|Join> <@U0USER1> &lt;tag&gt; :nope:",
            },
            "fields": [
                {"type": "mrkdwn", "text": "*Outcome*\nInterested"},
                {"type": "mrkdwn", "text": "*Duration*\n1:05"},
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": ":white_check_mark: Ended"}]},
        {
            "type": "actions",
            "elements": [
                {"type": "button", "style": "primary", "text": plain("Join")},
                {"type": "button", "style": "danger", "text": plain("Stop")},
            ],
        },
        {"type": "divider"},
        {
            "type": "rich_text",
            "elements": [
                {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "a < b"}]}
            ],
        },
        {"type": "video"},
    ]  # fmt: skip
    drawn = slack_html.message({"blocks": blocks, "edited": 1}, when="14:02")
    assert '<div class="block header">Call &lt;1&gt;</div>' in drawn
    assert "<b>Voice call</b> with <i>sales</i> <s>old</s> <code>call_1</code>" in drawn
    assert '<a href="https://gw.example/join/x?a=1&amp;b=2">Join</a>' in drawn
    assert '<span class="mention">@U0USER1</span> &lt;tag&gt; :nope:' in drawn
    assert drawn.count('<svg class="emoji"') == 2  # the two known short codes
    assert '<div class="fields"><div><b>Outcome</b><br>Interested</div>' in drawn
    assert '<span class="button primary">Join</span><span class="button danger">Stop</span>' in (
        drawn
    )
    assert '<hr class="divider">' in drawn and "<pre>a &lt; b</pre>" in drawn
    assert "<code>video block</code>" in drawn  # never silently dropped
    assert "OneInbox Voice" in drawn and "(edited)" in drawn
    person = slack_html.message({"text": "/voice call sales"}, when="14:01", user="ada")
    assert '<div class="avatar user">A</div>' in person and "/voice call sales" in person


@needs_chromium
@pytest.mark.browser
def test_the_script_takes_every_picture(tmp_path: Path) -> None:
    taken = capture(tmp_path, quick=True)
    assert sorted(p.name for p in taken) == sorted(PICTURES)
    for path in taken:
        width, height = png_size(path)
        assert width == 1280 and height >= 800, (path.name, width, height)
        assert path.stat().st_size > 10_000, f"{path.name} looks empty"
