"""Phone numbers: normalised to E.164 with `phonenumbers`, shown masked everywhere but upstream.

A number is personal data. The gateway sends it to OneInbox whole, stores it (a result names
the number it called), and shows only its last four digits in Slack, logs, the dashboard and
the admin API's lists.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat
from phonenumbers.phonenumberutil import ValidationResult

MAX_INPUT = 64  # longer text is not a phone number however it is written

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "its country code is not one I know",
    NumberParseException.NOT_A_NUMBER: "it is not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "it is too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "it is too short",
    NumberParseException.TOO_LONG: "it is too long",
}
_POSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "its country code is not one I know",
    ValidationResult.TOO_SHORT: "it is too short",
    ValidationResult.TOO_LONG: "it is too long",
    ValidationResult.INVALID_LENGTH: "it has the wrong number of digits",
}


class InvalidPhoneNumber(ValueError):
    """A number that cannot be dialled; the message says why, without repeating the number."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def valid_region(region: str) -> str:
    """An ISO 3166 region code `phonenumbers` knows (`US`, `DE`), upper-cased."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{region!r} is not an ISO 3166 region code phonenumbers knows (e.g. US)")
    return code


def to_e164(raw: object, default_region: str | None = None) -> str:
    """`raw` as an E.164 number (`+14155550123`), or `InvalidPhoneNumber` saying why.

    A number without `+` (national format) needs `default_region`; a number that cannot
    exist (wrong length, unknown country, unassigned range) is refused, so nothing is dialled.
    """
    if raw is None or isinstance(raw, bool):
        raise InvalidPhoneNumber("it is empty")
    text = str(raw).strip()
    if not text:
        raise InvalidPhoneNumber("it is empty")
    if len(text) > MAX_INPUT:
        raise InvalidPhoneNumber("it is too long")
    if not any(c.isdigit() for c in text):
        raise InvalidPhoneNumber("it is not a phone number")
    international = text.startswith("+")
    if not international and default_region is None:
        raise InvalidPhoneNumber(
            "it has no country code: write it as +<country code><number>, or set "
            "PHONE_DEFAULT_REGION for national numbers"
        )
    try:
        number = phonenumbers.parse(text, None if international else default_region)
    except NumberParseException as exc:
        reason = _PARSE_REASONS.get(exc.error_type, "it is not a phone number")
        raise InvalidPhoneNumber(reason) from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible not in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        raise InvalidPhoneNumber(_POSSIBLE_REASONS.get(possible, "it cannot exist"))
    if possible == ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        raise InvalidPhoneNumber("it lacks an area code")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber("no such number can exist (unassigned range)")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def mask(number: str | None) -> str | None:
    """Only the last four digits: `+14155550123` -> `•••0123`; None stays None."""
    if not number:
        return None
    if "•" in number:  # masked already (a destination with `redact = ["phone"]`)
        return number
    digits = [c for c in number if c.isdigit()]
    if len(digits) <= 4:
        return "•" * len(digits)
    return "•••" + "".join(digits[-4:])
