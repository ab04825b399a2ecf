"""The personal-data mask: examples, and properties checked by hypothesis."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.calls.commands import Origin
from gateway.calls.result import CallResult, ResultMessage
from gateway.delivery.redact import PersonalDataMask, luhn_valid, redact_result

ALL = ("phone", "email", "card")
mask = PersonalDataMask(ALL, region="US")


def with_check_digit(body: str) -> str:
    """`body` plus the digit that makes it Luhn-valid."""
    return next(body + d for d in string.digits if luhn_valid(body + d))


luhn_numbers = (
    st.integers(min_value=12, max_value=18)
    .flatmap(lambda n: st.text(alphabet=string.digits, min_size=n, max_size=n))
    .map(with_check_digit)
)
# Prose without digits or '@': nothing in it can be personal data of these kinds.
prose = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Nd", "Cs"), exclude_characters="@"),
    max_size=80,
)
words = st.text(alphabet=string.ascii_letters + " ,.;:!?'()", max_size=40)
separator = st.sampled_from(["", " ", "-"])


def grouped(digits: str, sep: str, size: int = 4) -> str:
    return sep.join(digits[i : i + size] for i in range(0, len(digits), size))


@settings(max_examples=300, deadline=None)
@given(number=luhn_numbers, before=words, after=words, sep=separator)
def test_a_luhn_valid_number_is_always_masked(
    number: str, before: str, after: str, sep: str
) -> None:
    text = f"{before} {grouped(number, sep)} {after}"
    masked = mask.text(text)
    assert number not in re.sub(r"[ \-]", "", masked)
    assert f"[card ending {number[-4:]}]" in masked


@settings(max_examples=300, deadline=None)
@given(text=prose)
def test_text_without_personal_data_is_unchanged(text: str) -> None:
    assert mask.text(text) == text


@settings(max_examples=200, deadline=None)
@given(
    local=st.from_regex(r"[a-z][a-z0-9._+-]{0,20}[a-z0-9]", fullmatch=True),
    domain=st.from_regex(r"[a-z][a-z0-9-]{0,15}[a-z0-9]", fullmatch=True),
    tld=st.sampled_from(["com", "io", "co.uk", "museum", "fr"]),
    before=words,
    after=words,
)
def test_an_email_is_always_masked(
    local: str, domain: str, tld: str, before: str, after: str
) -> None:
    address = f"{local}@{domain}.{tld}"
    masked = mask.text(f"{before} {address} {after}")
    assert address not in masked
    assert "@" not in masked


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=120), kinds=st.sets(st.sampled_from(ALL)))
def test_masking_twice_changes_nothing_more(text: str, kinds: set[str]) -> None:
    once = PersonalDataMask(kinds, region="US").text(text)
    assert PersonalDataMask(kinds, region="US").text(once) == once


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call me at (415) 555-0123 tomorrow", "Call me at [phone ending 0123] tomorrow"),
        ("London: +44 20 7946 0958.", "London: [phone ending 0958]."),
        ("Ring 020 7946 0958 (UK, national)", "Ring [phone ending 0958] (UK, national)"),
        ("Order 0042, version 0.1.2034", "Order 0042, version 0.1.2034"),
        ("Mail ada.lovelace+crm@example.co.uk!", "Mail [email]!"),
        ("Card 4242 4242 4242 4242 exp 12/29", "Card [card ending 4242] exp 12/29"),
        ("Amex 3782-822463-10005 ok", "Amex [card ending 0005] ok"),
        ("Order 1234 5678 9012 3456 is not a card", "Order 1234 5678 9012 3456 is not a card"),
        ("Meeting on 2026-11-26 at 10:30 for 45 minutes", None),
        ("not an email: ada@localhost or @ada", None),
    ],
)
def test_examples(text: str, expected: str | None) -> None:
    assert mask.text(text) == (expected if expected is not None else text)


def test_only_the_chosen_kinds_are_masked() -> None:
    text = "ada@example.com, 415-555-0123, 4111 1111 1111 1111"
    assert PersonalDataMask(["email"]).text(text) == "[email], 415-555-0123, 4111 1111 1111 1111"
    assert (
        PersonalDataMask(["card"]).text(text) == "ada@example.com, 415-555-0123, [card ending 1111]"
    )
    with pytest.raises(ValueError, match="unknown kind"):
        PersonalDataMask(["ssn"])


def test_a_redacted_result_is_a_copy_and_the_original_stays_complete() -> None:
    result = CallResult(
        call_id="call_1",
        agent_id="agt_1",
        status="completed",
        summary="Ada (ada@example.com) wants a callback on 415 555 0123.",
        messages=[
            ResultMessage(role="user", content="My card is 4242-4242-4242-4242."),
            ResultMessage(role="agent", content="Thanks, noted."),
        ],
        origin=Origin(kind="hook", name="new-lead"),
    )
    masked = redact_result(result, ["phone", "email", "card"], region="US")
    assert masked.summary == "Ada ([email]) wants a callback on [phone ending 0123]."
    assert masked.messages[0].content == "My card is [card ending 4242]."
    assert masked.messages[1].content == "Thanks, noted."
    assert result.summary == "Ada (ada@example.com) wants a callback on 415 555 0123."
    assert result.messages[0].content == "My card is 4242-4242-4242-4242."
    assert redact_result(result, [], region=None) is result


def test_a_phone_calls_number_is_masked_only_where_phone_is_redacted() -> None:
    result = CallResult(
        call_id="call_2",
        agent_id="agt_1",
        status="completed",
        type="outbound",
        to_number="+14155550123",
        from_number="+14155550999",
        origin=Origin(kind="hook", name="ring-lead"),
    )
    masked = redact_result(result, ["phone"], region=None)
    assert masked.to_number == "•••0123"
    assert masked.from_number == "•••0999"
    assert masked.masked_to_number == "•••0123"  # what Slack shows stays the same
    assert redact_result(result, ["email"], region=None).to_number == "+14155550123"
    assert result.to_number == "+14155550123" and result.from_number == "+14155550999"


@settings(max_examples=200, deadline=None)
@given(number=luhn_numbers, before=words, after=words, sep=separator, cut=st.integers(0, 80))
def test_a_turn_still_being_spoken_shows_no_digit_and_no_address(
    number: str, before: str, after: str, sep: str, cut: int
) -> None:
    # Live turns grow word by word: any prefix may hold half a number or half an address.
    text = f"{before} {grouped(number, sep)} or ada@example.com {after}"[:cut]
    masked = mask.text(text, partial=True)
    leftover = re.sub(r"\[(?:card|phone) ending \d{4}\]", "", masked)
    assert not re.search(r"\d", leftover)
    assert "@" not in leftover


def test_partial_examples() -> None:
    assert mask.text("my number is 415 55", partial=True) == "my number is •••"
    assert mask.text("write to ada@exam", partial=True) == "write to •••"
    assert mask.text("I have 2 kids", partial=True) == "I have ••• kids"
    assert PersonalDataMask(["email"]).text("room 101", partial=True) == "room 101"


def test_national_numbers_are_read_in_the_configured_region() -> None:
    spanish_mobile = "Llámame al 612 345 678"
    assert PersonalDataMask(["phone"], region="ES").text(spanish_mobile) == (
        "Llámame al [phone ending 5678]"
    )
    assert PersonalDataMask(["phone"], region="US").text(spanish_mobile) == spanish_mobile


def test_a_mask_is_never_read_as_part_of_a_new_number() -> None:
    # The card's mask keeps its last four digits: they must not join the digits that follow
    # into a phone number (which would also break the mask).
    assert mask.text("card 4242 4242 4242 4242] 345 67") == "card [card ending 4242]] 345 67"
    assert mask.text("[phone ending 0123] 0958 and [email]") == (
        "[phone ending 0123] 0958 and [email]"
    )
