"""Phone numbers are normalised to E.164 or refused with a reason; shown masked."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.phone import InvalidPhoneNumber, mask, to_e164, valid_region
from gateway.settings import SettingsError, load_settings

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(415) 555-0123", "US", "+14155550123"),
        ("+1 212 555 0199", None, "+12125550199"),
        ("+1 (212) 555-0199", "DE", "+12125550199"),  # international wins over the region
        ("030 1234567", "DE", "+49301234567"),
        ("+44 20 7946 0958", None, "+442079460958"),
        (" 415.555.0123 ", "US", "+14155550123"),
    ],
)
def test_numbers_written_any_way_become_e164(raw: str, region: str | None, e164: str) -> None:
    assert to_e164(raw, region) == e164


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("call me maybe", "US", "not a phone number"),
        ("banana", None, "not a phone number"),
        ("", "US", "empty"),
        ("   ", "US", "empty"),
        (None, "US", "empty"),
        ("(415) 555-0123", None, "PHONE_DEFAULT_REGION"),
        ("+1 555 555 5555", None, "no such number"),
        ("+1 212 555 01999", None, "too long"),
        ("12345", "US", "too short"),
        ("555-0123", "US", "area code"),
        ("+999 1234 5678", None, "country code"),
        ("1" * 80, "US", "too long"),
    ],
)
def test_unusable_numbers_are_refused_with_a_reason(
    raw: str | None, region: str | None, reason: str
) -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        to_e164(raw, region)
    assert reason in caught.value.reason
    if raw and any(c.isdigit() for c in raw):
        assert raw.strip() not in str(caught.value)  # the reason never repeats the number


@given(st.text(max_size=30), st.sampled_from([None, "US", "DE", "GB", "FR"]))
def test_whatever_the_input_the_answer_is_e164_or_a_refusal(raw: str, region: str | None) -> None:
    try:
        number = to_e164(raw, region)
    except InvalidPhoneNumber:
        return
    assert E164.match(number)
    assert to_e164(number) == number  # normalising twice changes nothing
    assert phonenumbers.is_valid_number(phonenumbers.parse(number))


@given(st.from_regex(r"\+[1-9][0-9]{5,14}", fullmatch=True))
def test_a_masked_number_shows_at_most_its_last_four_digits(number: str) -> None:
    shown = mask(number)
    assert shown is not None
    digits = "".join(c for c in shown if c.isdigit())
    assert digits == number[-4:]


def test_mask_of_nothing_is_nothing() -> None:
    assert mask(None) is None and mask("") is None
    assert mask("+12125550199") == "•••0199"


def test_region_codes_are_checked() -> None:
    assert valid_region(" us ") == "US"
    with pytest.raises(ValueError, match="ISO 3166"):
        valid_region("USA")


def test_settings_normalise_the_from_number_and_refuse_a_bad_one() -> None:
    settings = load_settings(phone_default_region="us", oneinbox_from_number="(212) 555-0199")
    assert settings.phone_default_region == "US"
    assert settings.oneinbox_from_number == "+12125550199"
    with pytest.raises(SettingsError, match=r"^ONEINBOX_FROM_NUMBER: .*not a phone number"):
        load_settings(oneinbox_from_number="banana")
    with pytest.raises(SettingsError, match=r"^PHONE_DEFAULT_REGION: "):
        load_settings(phone_default_region="Narnia")
