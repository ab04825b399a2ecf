"""Personal data masked per destination: `redact = ["phone", "email", "card"]` on a `notify`.

The outbox hands a destination with `redact` in its config a copy of the result whose summary
and transcript have those masked (and, with "phone", `to_number` and `from_number` show their
last four digits only, `•••0123`); the stored result stays complete, and other destinations
see it whole.
What is found:

- card: 13 to 19 digits (spaces or dashes between groups allowed) that pass the Luhn check;
  shown as `[card ending 4242]`;
- email: a strict address pattern (`local@domain.tld`); shown as `[email]`;
- phone: numbers the `phonenumbers` library's matcher finds (leniency POSSIBLE: when in
  doubt, mask), national numbers read as numbers of `region` and then as North American
  ones, and any other run of 7 to 15 digits that starts with a trunk `0`; shown as
  `[phone ending 0123]`.

Cards are masked first, so a card number is never half-read as a phone number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, get_args

from phonenumbers import Leniency, PhoneNumberMatcher

from gateway.calls.result import CallResult
from gateway.phone import mask as mask_number

PersonalData = Literal["phone", "email", "card"]
KINDS: tuple[str, ...] = get_args(PersonalData)
# A region for national numbers when the gateway has none configured.
FALLBACK_REGION = "US"

# Digit groups joined by at most one space or dash, not glued to other digits or letters.
_DIGIT_RUN = re.compile(r"(?<![\w])\d+(?:[ \-]\d+)*(?![\w])")
_EMAIL = re.compile(
    r"(?<![\w.%+\-])"
    r"[A-Za-z0-9](?:[A-Za-z0-9._%+\-]{0,62}[A-Za-z0-9])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
    r"(?![\w\-@])"
)
CARD_DIGITS = (13, 19)


def luhn_valid(digits: str) -> bool:
    """True when `digits` passes the Luhn check (every payment card number does)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card_spans(run: str) -> list[tuple[int, int]]:
    """Spans (within `run`) of whole digit groups that form a Luhn-valid card number."""
    groups = [(m.start(), m.end()) for m in re.finditer(r"\d+", run)]
    spans: list[tuple[int, int]] = []
    first = 0
    while first < len(groups):
        found = None
        for last in range(len(groups) - 1, first - 1, -1):  # the longest card from here
            digits = "".join(run[s:e] for s, e in groups[first : last + 1])
            if CARD_DIGITS[0] <= len(digits) <= CARD_DIGITS[1] and luhn_valid(digits):
                found = last
                break
        if found is None:
            first += 1
            continue
        spans.append((groups[first][0], groups[found][1]))
        first = found + 1
    return spans


def mask_cards(text: str) -> str:
    """Every Luhn-valid card number in `text` replaced by `[card ending NNNN]`."""
    out: list[str] = []
    last = 0
    for run in _DIGIT_RUN.finditer(text):
        for start, end in _card_spans(run.group()):
            digits = re.sub(r"\D", "", run.group()[start:end])
            out.append(text[last : run.start() + start])
            out.append(f"[card ending {digits[-4:]}]")
            last = run.start() + end
    out.append(text[last:])
    return "".join(out)


def mask_emails(text: str) -> str:
    """Every email address in `text` replaced by `[email]`."""
    return _EMAIL.sub("[email]", text)


def mask_phones(text: str, region: str) -> str:
    """Every phone number in `text` replaced by `[phone ending NNNN]`: what the matcher finds
    with national numbers read as `region`, then as North American ones (the common format
    without a trunk prefix), then, as a safety net, any other run of 7 to 15 digits that
    starts with a trunk `0` (a national number of another country)."""
    for each in dict.fromkeys([region, FALLBACK_REGION]):
        text = _match_phones(text, each)
    return _TRUNK_NUMBER.sub(_mask_trunk_number, text)


def _match_phones(text: str, region: str) -> str:
    out: list[str] = []
    last = 0
    for match in PhoneNumberMatcher(text, region, leniency=Leniency.POSSIBLE):
        digits = str(match.number.national_number)
        out.append(text[last : match.start])
        out.append(f"[phone ending {digits[-4:]}]")
        last = match.end
    out.append(text[last:])
    return "".join(out)


_TRUNK_NUMBER = re.compile(r"(?<![\w+])\(?0\d*\)?(?:[ \-.]?\d+)*(?![\w])")


def _mask_trunk_number(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    if 7 <= len(digits) <= 15:
        return f"[phone ending {digits[-4:]}]"
    return match.group()


# While a turn is still being spoken a number or an address may be half there (not yet a
# possible phone number, not yet Luhn-valid): unfinished text hides every digit run and every
# word with an `@` too, and the exact masks apply once the turn is final.
_PARTIAL_DIGITS = re.compile(r"\+?\(?\d[\d \-().]*\d|\d")
_PARTIAL_EMAIL = re.compile(r"\S*@\S*")


class PersonalDataMask:
    """Masks the chosen kinds of personal data in text; `region` reads national numbers."""

    def __init__(self, kinds: Iterable[str], *, region: str | None = None) -> None:
        self.kinds = frozenset(kinds)
        unknown = self.kinds - set(KINDS)
        if unknown:
            raise ValueError(f"unknown kind(s) {sorted(unknown)}; use {', '.join(KINDS)}")
        self.region = (region or FALLBACK_REGION).upper()

    def text(self, text: str, *, partial: bool = False) -> str:
        """`text` with every chosen kind masked (cards first, then emails, then phones).

        `partial`: the text is still growing (a live turn); what could become personal data
        is hidden as well (digit runs, words with `@`). A mask already in the text is never
        read again (its last four digits are not part of a new number).
        """
        if "card" in self.kinds:
            text = _outside_masks(text, mask_cards)
        if "email" in self.kinds:
            text = _outside_masks(text, mask_emails)
        if "phone" in self.kinds:
            text = _outside_masks(text, lambda part: mask_phones(part, self.region))
        if partial and "email" in self.kinds:
            text = _outside_masks(text, lambda part: _PARTIAL_EMAIL.sub("•••", part))
        if partial and self.kinds & {"phone", "card"}:
            text = _outside_masks(text, lambda part: _PARTIAL_DIGITS.sub("•••", part))
        return text


_MASK = re.compile(r"(\[(?:card ending \d{4}|phone ending \d{4}|email)\])")


def _outside_masks(text: str, mask: Callable[[str], str]) -> str:
    """`mask` applied to the parts of `text` between the masks already there."""
    parts = _MASK.split(text)
    return "".join(part if index % 2 else mask(part) for index, part in enumerate(parts))


def redact_result(result: CallResult, kinds: Sequence[str], *, region: str | None) -> CallResult:
    """A copy of `result` with summary and transcript masked; `result` itself is untouched."""
    if not kinds:
        return result
    mask = PersonalDataMask(kinds, region=region)
    changes: dict[str, Any] = {
        "messages": [
            m.model_copy(update={"content": mask.text(m.content)}) for m in result.messages
        ],
    }
    if result.summary is not None:
        changes["summary"] = mask.text(result.summary)
    if "phone" in mask.kinds and result.to_number:  # the number a phone call dialled
        changes["to_number"] = mask_number(result.to_number)
    if "phone" in mask.kinds and result.from_number:
        changes["from_number"] = mask_number(result.from_number)
    return result.model_copy(update=changes)
