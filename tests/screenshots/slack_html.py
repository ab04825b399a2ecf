"""Block Kit JSON (as the fake Slack received it) drawn as HTML close to Slack's own layout.

Slack's client is not available offline, so the screenshots of the call card and its thread
reply are made from this approximation: the message header (app icon, name, APP badge, time),
then each block — `header`, `section` (text and two-column fields), `context`, `actions`
(buttons, primary and danger), `divider`, `image`, `rich_text` — with Slack's mrkdwn
(`*bold*`, `_italic_`, `~strike~`, `` `code` ``, ```` ``` ```` blocks, `<url|label>` links,
`<@U…>` mentions, `> quotes`).
"""

from __future__ import annotations

import html
import re
from typing import Any

APP_NAME = "OneInbox Voice"
LINK = re.compile(r"<([^<>]+)>")
SHORTCODE = re.compile(r":([a-z0-9_+-]+):")


def _svg(body: str) -> str:
    return f'<svg class="emoji" viewBox="0 0 20 20" width="18" height="18">{body}</svg>'


# The emoji the gateway's messages use, drawn as small pictures: the headless browser has no
# colour emoji font. An unknown short code stays as text, as Slack shows it.
EMOJI = {
    "telephone_receiver": _svg(
        '<path d="M5 2c1 0 2 3 2 4s-2 1-1 3 3 4 5 5 2-1 3-1 4 1 4 2-1 3-3 3C8 18 2 12 2 5'
        ' 2 3 4 2 5 2z" fill="#d33"/>'
    ),
    "white_check_mark": _svg(
        '<rect x="1" y="1" width="18" height="18" rx="4" fill="#2eb67d"/>'
        '<path d="M5 10l3 3 7-7" stroke="#fff" stroke-width="2.5" fill="none"/>'
    ),
    "large_yellow_circle": _svg('<circle cx="10" cy="10" r="8" fill="#f2c744"/>'),
    "large_green_circle": _svg('<circle cx="10" cy="10" r="8" fill="#2eb67d"/>'),
    "red_circle": _svg('<circle cx="10" cy="10" r="8" fill="#e01e5a"/>'),
    "x": _svg('<path d="M4 4l12 12M16 4L4 16" stroke="#e01e5a" stroke-width="3"/>'),
    "black_square_for_stop": _svg('<rect x="4" y="4" width="12" height="12" fill="#1d1c1d"/>'),
    "grey_question": _svg('<text x="5" y="16" font-size="16" fill="#9a9a9a">?</text>'),
    "zzz": _svg('<text x="1" y="15" font-size="10" fill="#1264a3">zzz</text>'),
    "hourglass_flowing_sand": _svg(
        '<path d="M5 2h10L10 10l5 8H5l5-8z" fill="#f2c744" stroke="#8a6d3b"/>'
    ),
    "studio_microphone": _svg(
        '<rect x="7" y="2" width="6" height="10" rx="3" fill="#616061"/>'
        '<path d="M5 9a5 5 0 0010 0M10 14v4" stroke="#616061" stroke-width="1.5" fill="none"/>'
    ),
}
EMOJI["telephone"] = EMOJI["telephone_receiver"]
STYLE = """
body { margin: 0; background: #fff; color: #1d1c1d;
       font: 15px/1.46668 "Lato", "Helvetica Neue", Helvetica, "Segoe UI", Arial, sans-serif; }
.pane { display: flex; min-height: 100vh; }
.channel { flex: 1 1 60%; border-right: 1px solid #e8e8e8; }
.thread { flex: 1 1 40%; }
.bar { height: 49px; display: flex; align-items: center; padding: 0 20px; font-weight: 900;
       font-size: 18px; border-bottom: 1px solid #e8e8e8; }
.bar small { font-weight: 400; font-size: 13px; color: #616061; margin-left: 8px; }
.msg { display: flex; padding: 8px 20px; }
.msg:hover { background: #f8f8f8; }
.avatar { flex: 0 0 36px; height: 36px; border-radius: 6px; margin-right: 8px; color: #fff;
          display: flex; align-items: center; justify-content: center; font-weight: 900; }
.avatar.app { background: #3b5bdb; } .avatar.user { background: #e8912d; }
.who { font-weight: 900; } .badge { font-size: 10px; font-weight: 700; color: #616061;
  background: #e8e8e8; border-radius: 2px; padding: 1px 3px; margin: 0 4px; }
.time { font-size: 12px; color: #616061; }
.body { flex: 1; min-width: 0; }
.block { margin: 4px 0; }
.header { font-size: 18px; font-weight: 900; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; margin-top: 6px; }
.context { font-size: 13px; color: #616061; display: flex; gap: 6px; align-items: center; }
.actions { display: flex; gap: 8px; margin: 8px 0 4px; }
.button { border: 1px solid #ddd; border-radius: 4px; padding: 3px 12px; font-weight: 700;
          font-size: 13px; color: #1d1c1d; background: #fff; }
.button.primary { background: #007a5a; border-color: #007a5a; color: #fff; }
.button.danger { background: #fff; border-color: #e01e5a; color: #e01e5a; }
.divider { border: 0; border-top: 1px solid #e8e8e8; margin: 12px 0; }
code { font: 12px Monaco, Menlo, Consolas, monospace; color: #e01e5a; background: #f6f6f6;
       border: 1px solid #e8e8e8; border-radius: 3px; padding: 1px 3px; }
pre { font: 12px/1.5 Monaco, Menlo, Consolas, monospace; background: #f8f8f8;
      border: 1px solid #e8e8e8; border-radius: 4px; padding: 8px; white-space: pre-wrap;
      margin: 4px 0; }
blockquote { border-left: 4px solid #ddd; margin: 4px 0; padding-left: 12px; }
a { color: #1264a3; text-decoration: none; }
.mention { color: #1264a3; background: #e8f5fa; border-radius: 3px; padding: 0 2px; }
.replies { display: flex; align-items: center; gap: 8px; color: #616061; font-size: 13px;
           padding: 4px 20px; }
.replies hr { flex: 1; border: 0; border-top: 1px solid #e8e8e8; }
.edited { font-size: 12px; color: #616061; }
svg.emoji { vertical-align: -3px; margin: 0 1px; }
img.image { max-width: 360px; border-radius: 8px; }
"""


def mrkdwn(text: str) -> str:
    """Slack's mrkdwn as HTML (Slack's own `&amp;`, `&lt;`, `&gt;` escapes are honoured)."""
    out: list[str] = []
    last = 0
    for match in LINK.finditer(text):
        out.append(_formatted(text[last : match.start()]))
        out.append(_link(match.group(1)))
        last = match.end()
    out.append(_formatted(text[last:]))
    return "".join(out)


def _link(inner: str) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return f'<span class="mention">@{html.escape(label or target[1:])}</span>'
    if target.startswith("#"):
        return f'<span class="mention">#{html.escape(label or target[1:])}</span>'
    if target.startswith("!"):
        return f'<span class="mention">@{html.escape(target[1:].split("^")[0])}</span>'
    href = html.escape(html.unescape(target), quote=True)
    return f'<a href="{href}">{html.escape(html.unescape(label or target))}</a>'


def _formatted(text: str) -> str:
    escaped = html.escape(html.unescape(text), quote=False)
    pieces = re.split(r"```(.*?)```", escaped, flags=re.S)
    out: list[str] = []
    for index, piece in enumerate(pieces):
        if index % 2:
            out.append(f"<pre>{piece.strip(chr(10))}</pre>")
            continue
        piece = re.sub(r"`([^`\n]+)`", r"<code>\1</code>", piece)
        piece = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", piece)
        piece = re.sub(r"(?<![\w_])_([^_\n]+)_(?![\w_])", r"<i>\1</i>", piece)
        piece = re.sub(r"(?<![\w~])~([^~\n]+)~(?![\w~])", r"<s>\1</s>", piece)
        lines = [
            f"<blockquote>{line[5:]}</blockquote>" if line.startswith("&gt; ") else line
            for line in piece.split("\n")
        ]
        joined = "<br>".join(lines).replace("</blockquote><br>", "</blockquote>")
        out.append(SHORTCODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), joined))
    return "".join(out)


def text_object(obj: dict[str, Any] | None) -> str:
    """A `plain_text` or `mrkdwn` text object."""
    if not obj:
        return ""
    raw = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn(raw)
    return html.escape(raw).replace("\n", "<br>")


def block(item: dict[str, Any]) -> str:
    """One block; an unknown type is drawn as its name so a screenshot never hides it."""
    kind = item.get("type")
    if kind == "header":
        return f'<div class="block header">{text_object(item.get("text"))}</div>'
    if kind == "section":
        parts = []
        if item.get("text"):
            parts.append(f"<div>{text_object(item['text'])}</div>")
        if item.get("fields"):
            cells = "".join(f"<div>{text_object(f)}</div>" for f in item["fields"])
            parts.append(f'<div class="fields">{cells}</div>')
        return f'<div class="block section">{"".join(parts)}</div>'
    if kind == "context":
        cells = []
        for element in item.get("elements", []):
            if element.get("type") == "image":
                alt = html.escape(str(element.get("alt_text", "")))
                cells.append(f'<span title="{alt}">▣</span>')
            else:
                cells.append(f"<span>{text_object(element)}</span>")
        return f'<div class="block context">{"".join(cells)}</div>'
    if kind == "actions":
        buttons = "".join(_button(e) for e in item.get("elements", []))
        return f'<div class="block actions">{buttons}</div>'
    if kind == "divider":
        return '<hr class="divider">'
    if kind == "image":
        alt = html.escape(str(item.get("alt_text", "")))
        return f'<div class="block">[image: {alt}]</div>'
    if kind == "rich_text":
        return f'<div class="block">{"".join(_rich(e) for e in item.get("elements", []))}</div>'
    return f'<div class="block"><code>{html.escape(str(kind))} block</code></div>'


def _button(element: dict[str, Any]) -> str:
    style = element.get("style", "")
    label = text_object(element.get("text"))
    return f'<span class="button {html.escape(str(style))}">{label}</span>'


def _rich(element: dict[str, Any]) -> str:
    inner = "".join(_rich_inline(e) for e in element.get("elements", []))
    kind = element.get("type")
    if kind == "rich_text_preformatted":
        return f"<pre>{inner}</pre>"
    if kind == "rich_text_quote":
        return f"<blockquote>{inner}</blockquote>"
    if kind == "rich_text_list":
        tag = "ol" if element.get("style") == "ordered" else "ul"
        items = "".join(f"<li>{_rich(e)}</li>" for e in element.get("elements", []))
        return f"<{tag}>{items}</{tag}>"
    return f"<div>{inner}</div>"


def _rich_inline(element: dict[str, Any]) -> str:
    kind = element.get("type")
    if kind == "link":
        url = html.escape(str(element.get("url", "")), quote=True)
        return f'<a href="{url}">{html.escape(str(element.get("text") or element.get("url")))}</a>'
    if kind == "user":
        return f'<span class="mention">@{html.escape(str(element.get("user_id")))}</span>'
    if kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
        return _rich(element)
    text = html.escape(str(element.get("text", ""))).replace("\n", "<br>")
    style = element.get("style") or {}
    for flag, tag in (("bold", "b"), ("italic", "i"), ("strike", "s"), ("code", "code")):
        if style.get(flag):
            text = f"<{tag}>{text}</{tag}>"
    return text


def message(item: dict[str, Any], *, when: str, user: str | None = None) -> str:
    """One message: from the app (its blocks, or its text) or, with `user`, from a person."""
    if user is not None:
        avatar, who, badge = (
            f'<div class="avatar user">{html.escape(user[:1].upper())}</div>',
            (html.escape(user)),
            "",
        )
    else:
        avatar, who, badge = (
            '<div class="avatar app">OI</div>',
            APP_NAME,
            '<span class="badge">APP</span>',
        )
    blocks = item.get("blocks") or []
    content = "".join(block(b) for b in blocks) if blocks else mrkdwn(str(item.get("text", "")))
    edited = ' <span class="edited">(edited)</span>' if item.get("edited") else ""
    return (
        f'<div class="msg">{avatar}<div class="body"><div><span class="who">{who}</span>'
        f'{badge}<span class="time">{html.escape(when)}</span>{edited}</div>{content}</div></div>'
    )


def page(channel: str, body: str, *, thread: str | None = None) -> str:
    """A whole page: the channel's messages, and the open thread beside them when given."""
    side = ""
    if thread is not None:
        bar = f'<div class="bar">Thread<small>#{html.escape(channel)}</small></div>'
        side = f'<div class="thread">{bar}{thread}</div>'
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><style>{STYLE}</style></head><body>'
        f'<div class="pane"><div class="channel"><div class="bar"># {html.escape(channel)}</div>'
        f"{body}</div>{side}</div></body></html>"
    )


def replies_divider(count: int) -> str:
    """The "N replies" rule between a thread's parent and its replies."""
    label = f"{count} repl{'y' if count == 1 else 'ies'}"
    return f'<div class="replies"><span>{label}</span><hr></div>'
