"""Properties of what Hearth computes from text people type: SMS segments, phone numbers and
language tags. Arbitrary text (control characters, lone surrogates, any script) never raises
anything but the project's own ValueError, and what is accepted is stable when fed back in."""

import math

import phonenumbers
import pytest
from babel.localedata import locale_identifiers
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.channels.segments import (
    GSM7_BASIC_CHARS,
    GSM7_EXTENSION_CHARS,
    GSM7_PART_LIMIT,
    GSM7_SINGLE_LIMIT,
    MAX_SMS_CHARS,
    UCS2_PART_LIMIT,
    UCS2_SINGLE_LIMIT,
    count_segments,
)
from app.core.contact import EXTRA_LANGUAGES, language_names, normalize_language, normalize_phone

# Every code point, lone surrogates included: Python strings can hold them (a broken UTF-16
# pair from a form or a file decoded with surrogateescape) and nothing should crash on them.
any_char = st.characters(blacklist_categories=())
any_text = st.text(any_char, max_size=400)
gsm_basic = sorted(GSM7_BASIC_CHARS)
gsm_all = sorted(GSM7_BASIC_CHARS | GSM7_EXTENSION_CHARS)
gsm_text = st.text(st.sampled_from(gsm_all), max_size=700)
# Mostly GSM with a few extension characters, so that escape pairs land on part boundaries.
gsm_escapes = st.lists(
    st.one_of(st.sampled_from(gsm_basic), st.sampled_from(sorted(GSM7_EXTENSION_CHARS))),
    max_size=700,
).map("".join)
bmp_non_gsm = st.characters(min_codepoint=0x100, max_codepoint=0xD7FF).filter(
    lambda c: c not in GSM7_BASIC_CHARS
)
astral = st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF)
ucs2_text = st.text(st.one_of(bmp_non_gsm, astral, st.sampled_from(gsm_basic)), max_size=400)
# A pair right at a part boundary (after 152 septets, or 66 code units) in a text that fills
# its parts to within a unit or two: there filling parts one character at a time and dividing
# the units disagree.
pair_at_boundary = st.one_of(
    st.builds(
        lambda n, pair, parts, slack: (
            "a" * n + pair + "a" * (parts * GSM7_PART_LIMIT - n - 2 + slack)
        ),
        st.integers(GSM7_PART_LIMIT - 3, GSM7_PART_LIMIT + 1),
        st.sampled_from(sorted(GSM7_EXTENSION_CHARS)),
        st.integers(2, 4),
        st.integers(-2, 2),
    ),
    st.builds(
        lambda n, pair, parts, slack: (
            "ó" * n + pair + "ó" * (parts * UCS2_PART_LIMIT - n - 2 + slack)
        ),
        st.integers(UCS2_PART_LIMIT - 3, UCS2_PART_LIMIT + 1),
        astral,
        st.integers(2, 4),
        st.integers(-2, 2),
    ),
)

ESC = "\x1b"
HIGH_SURROGATES = range(0xD800, 0xDC00)
LOW_SURROGATES = range(0xDC00, 0xE000)


def reference_parts(text: str) -> tuple[str, list[list[str]]]:
    """An independent model of concatenated SMS: the actual unit stream (GSM septets with ESC
    before each extension character, or UTF-16 code units), cut into parts greedily, never
    between ESC and its character nor between the halves of a surrogate pair."""
    if all(c in GSM7_BASIC_CHARS or c in GSM7_EXTENSION_CHARS for c in text):
        units = []
        for char in text:
            units += [ESC, char] if char in GSM7_EXTENSION_CHARS else [char]
        single, part = GSM7_SINGLE_LIMIT, GSM7_PART_LIMIT

        def inseparable(a: str, b: str) -> bool:
            return a == ESC

        encoding = "GSM-7"
    else:
        raw = text.encode("utf-16-be", "surrogatepass")
        units = [raw[i : i + 2].decode("utf-16-be", "surrogatepass") for i in range(0, len(raw), 2)]
        single, part = UCS2_SINGLE_LIMIT, UCS2_PART_LIMIT

        def inseparable(a: str, b: str) -> bool:
            return ord(a) in HIGH_SURROGATES and ord(b) in LOW_SURROGATES

        encoding = "UCS-2"
    if len(units) <= single:
        return encoding, [units]
    parts: list[list[str]] = [[]]
    for i, unit in enumerate(units):
        if len(parts[-1]) == part:
            carried = []
            if i > 0 and inseparable(units[i - 1], unit):
                carried = [parts[-1].pop()]
            parts.append(carried)
        parts[-1].append(unit)
    return encoding, parts


# --- SMS segments --------------------------------------------------------------------------


@settings(max_examples=300)
@given(st.one_of(any_text, gsm_text, gsm_escapes, ucs2_text, pair_at_boundary))
def test_segments_match_the_reference_encoder(text: str) -> None:
    encoding, parts = reference_parts(text)
    result = count_segments(text)
    assert result.encoding == encoding
    assert result.units == sum(len(p) for p in parts)
    assert result.segments == len(parts)
    limit = max(len(p) for p in parts)
    assert limit <= result.per_segment
    assert result.per_segment == (
        (GSM7_SINGLE_LIMIT if encoding == "GSM-7" else UCS2_SINGLE_LIMIT)
        if len(parts) == 1
        else (GSM7_PART_LIMIT if encoding == "GSM-7" else UCS2_PART_LIMIT)
    )


@given(st.text(st.sampled_from(gsm_basic), max_size=MAX_SMS_CHARS))
def test_plain_gsm_is_160_then_153_per_part(text: str) -> None:
    n = len(text)
    expected = 1 if n <= 160 else math.ceil(n / 153)
    assert count_segments(text).segments == expected
    assert count_segments(text).units == n


@given(st.text(bmp_non_gsm, min_size=1, max_size=MAX_SMS_CHARS))
def test_plain_ucs2_is_70_then_67_per_part(text: str) -> None:
    n = len(text)
    expected = 1 if n <= 70 else math.ceil(n / 67)
    result = count_segments(text)
    assert (result.encoding, result.units, result.segments) == ("UCS-2", n, expected)


@given(gsm_text, st.sampled_from(sorted(GSM7_EXTENSION_CHARS)))
def test_an_extension_character_costs_what_two_basic_ones_do(text: str, extension: str) -> None:
    # Same septets, so the same count, unless the escape pair would straddle a part boundary.
    with_extension = count_segments(text + extension)
    with_basics = count_segments(text + "aa")
    assert with_extension.units == with_basics.units
    assert with_basics.segments <= with_extension.segments <= with_basics.segments + 1


@given(ucs2_text, astral)
def test_an_emoji_costs_two_code_units(text: str, emoji: str) -> None:
    assume(not all(c in GSM7_BASIC_CHARS for c in text))
    assert count_segments(text + emoji).units == count_segments(text).units + 2


@given(any_text)
def test_one_non_gsm_character_turns_the_whole_text_ucs2(text: str) -> None:
    result = count_segments(text + "ó")
    assert result.encoding == "UCS-2"
    assert result.units == len((text + "ó").encode("utf-16-le", "surrogatepass")) // 2


# --- phone numbers --------------------------------------------------------------------------

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


def _example_numbers() -> list[tuple[str, phonenumbers.PhoneNumber]]:
    found = []
    for region in REGIONS:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None and phonenumbers.is_valid_number(number):
                found.append((region, number))
    return found


EXAMPLE_NUMBERS = _example_numbers()


@given(st.one_of(any_text, st.from_regex(r"\+?[0-9 ()\-.]{0,25}", fullmatch=True)))
def test_phone_only_raises_its_own_error(raw: str) -> None:
    try:
        result = normalize_phone(raw)
    except ValueError as exc:
        assert "phone number" in str(exc)
        return
    assert result.startswith("+") and result[1:].isdigit()


@given(st.sampled_from(EXAMPLE_NUMBERS), st.sampled_from(REGIONS))
def test_phone_is_idempotent_and_region_free_once_normalized(example, region: str) -> None:
    home, number = example
    e164 = normalize_phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    assert normalize_phone(e164, region) == e164
    assert normalize_phone(f"  {e164}\t", home) == e164


@given(
    st.sampled_from(EXAMPLE_NUMBERS),
    st.sampled_from(
        [
            phonenumbers.PhoneNumberFormat.E164,
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.NATIONAL,
        ]
    ),
)
def test_phone_round_trips_from_every_written_form(example, form) -> None:
    region, number = example
    written = phonenumbers.format_number(number, form)
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    assert normalize_phone(written, region) == expected


@given(
    st.from_regex(r"[2-9][0-9]{2}", fullmatch=True),
    st.sampled_from(["", " ", "-", ".", ") "]),
    st.sampled_from(["", " ", "-", "."]),
)
def test_us_numbers_ignore_how_they_are_punctuated(area: str, sep1: str, sep2: str) -> None:
    digits = f"{area}5550123"
    try:
        expected = normalize_phone(digits)
    except ValueError:
        assume(False)
    opening = "(" if sep1 == ") " else ""
    written = f"{opening}{area}{sep1}555{sep2}0123"
    assert normalize_phone(written) == expected
    assert normalize_phone("+1 " + written) == expected


# --- language tags --------------------------------------------------------------------------

tag_shaped = st.from_regex(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}", fullmatch=True)
known_tags = st.sampled_from(sorted(locale_identifiers()) + sorted(EXTRA_LANGUAGES))


@settings(max_examples=300)
@given(st.one_of(any_text, tag_shaped, known_tags))
def test_language_only_raises_its_own_error(raw: str) -> None:
    try:
        normalize_language(raw)
    except ValueError as exc:
        assert "language" in str(exc)


@settings(max_examples=300)
@given(st.one_of(tag_shaped, known_tags))
def test_language_is_idempotent_and_named(raw: str) -> None:
    try:
        tag = normalize_language(raw)
    except ValueError:
        assume(False)
    assert normalize_language(tag) == tag
    english, native = language_names(tag)
    assert english and native


@given(known_tags)
def test_every_cldr_locale_and_extra_language_is_accepted(raw: str) -> None:
    tag = normalize_language(raw)
    assert tag.split("-")[0] == raw.replace("_", "-").split("-")[0].lower()


@given(st.one_of(tag_shaped, known_tags), st.sampled_from([str.upper, str.lower, str.title]))
def test_language_ignores_case_separators_and_spaces(raw: str, recase) -> None:
    try:
        tag = normalize_language(raw)
    except ValueError:
        assume(False)
    assert normalize_language(recase(raw)) == tag
    assert normalize_language(raw.replace("_", "-")) == tag
    assert normalize_language(raw.replace("-", "_")) == tag
    assert normalize_language(f" {raw}\n") == tag


@pytest.mark.parametrize(
    ("raw", "tag"),
    [
        ("ES", "es"),
        ("zh_hans", "zh-Hans"),
        ("pt-br", "pt-BR"),
        ("HMN", "hmn"),
        ("zh-Hant-TW", "zh-Hant-TW"),
    ],
)
def test_language_canonical_forms(raw: str, tag: str) -> None:
    assert normalize_language(raw) == tag
