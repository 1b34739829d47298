"""SMS segment counting: hand-computed cases, then properties over generated texts."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.channels.segments import (
    GSM7_BASIC_CHARS,
    GSM7_EXTENSION_CHARS,
    SegmentCount,
    count_segments,
    is_gsm7,
)

GSM7_CHARS = sorted(GSM7_BASIC_CHARS | GSM7_EXTENSION_CHARS)


@pytest.mark.parametrize(
    ("length", "segments", "per_segment"),
    [(0, 1, 160), (1, 1, 160), (160, 1, 160), (161, 2, 153), (306, 2, 153), (307, 3, 153)],
)
def test_gsm7_lengths(length: int, segments: int, per_segment: int) -> None:
    assert count_segments("a" * length) == SegmentCount("GSM-7", length, segments, per_segment)


@pytest.mark.parametrize(
    ("length", "segments", "per_segment"),
    [(70, 1, 70), (71, 2, 67), (134, 2, 67), (135, 3, 67)],
)
def test_ucs2_lengths(length: int, segments: int, per_segment: int) -> None:
    assert count_segments("á" * length) == SegmentCount("UCS-2", length, segments, per_segment)


def test_extension_characters_cost_two_septets() -> None:
    assert count_segments("€") == SegmentCount("GSM-7", 2, 1, 160)
    assert count_segments("{[~]}|^\\\f") == SegmentCount("GSM-7", 18, 1, 160)
    # 80 euro signs are 160 septets: still one segment; one more character makes two.
    assert count_segments("€" * 80).segments == 1
    assert count_segments("€" * 80 + "a").segments == 2


def test_emoji_is_a_surrogate_pair() -> None:
    assert count_segments("😀") == SegmentCount("UCS-2", 2, 1, 70)
    assert count_segments("😀" * 35).segments == 1  # 70 code units
    assert count_segments("😀" * 35 + "a").segments == 2


def test_escape_pair_is_not_split_across_parts() -> None:
    # 152 septets then "€": the escape would be septet 153 of part one, its code septet 154.
    text = "a" * 152 + "€" + "a" * 10
    assert count_segments(text) == SegmentCount("GSM-7", 164, 2, 153)
    # Plain division says 2 parts hold 306 septets; the pushed-over escape pair makes it 3.
    pushed = "a" * 152 + "€" + "a" * 152
    assert count_segments(pushed).units == 306
    assert count_segments(pushed).segments == 3
    # The same length with the pair where it fits whole stays in two parts.
    assert count_segments("a" * 151 + "€" + "a" * 153).segments == 2


def test_surrogate_pair_is_not_split_across_parts() -> None:
    pushed = "a" * 66 + "😀" + "a" * 66  # 134 code units: 2 parts by division
    assert count_segments(pushed) == SegmentCount("UCS-2", 134, 3, 67)
    assert count_segments("a" * 65 + "😀" + "a" * 67).segments == 2


@pytest.mark.parametrize(
    "text",
    [
        "Hola, mañana habrá reunión de padres a las 6.",  # á
        "Olá! A reunião é amanhã às 18h.",  # á, ã
        "Con bạn đã làm bài tập rất tốt hôm nay.",  # Vietnamese
        "سيكون هناك اجتماع للآباء غدًا",  # Arabic
        "明天下午有家长会。",  # Chinese
        "ça va",  # lowercase ç is not in GSM 03.38 (only Ç is)
    ],
)
def test_home_languages_outside_gsm_go_ucs2(text: str) -> None:
    assert not is_gsm7(text)
    result = count_segments(text)
    assert result.encoding == "UCS-2"
    assert result.units == len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize(
    "text",
    [
        "Hello! Parent-teacher night is Tue 6pm @ room 12 (bring ID).",
        "Ça, è é ù ì ò Ø ø Å å Æ æ ß É Ä Ö Ñ Ü § ¿ ä ö ñ ü à ¡ £ ¥ ¤ $ _",
        "ΔΦΓΛΩΠΨΣΘΞ",
        "Mañana: reunion a las 6",  # ñ is in GSM 03.38; the ó of "reunión" is not
    ],
)
def test_gsm_texts(text: str) -> None:
    assert is_gsm7(text)
    assert count_segments(text).encoding == "GSM-7"


@pytest.mark.parametrize("char", list("áíóúãõêâçÁÍÓÚ`"))
def test_common_accents_missing_from_gsm(char: str) -> None:
    assert not is_gsm7(char)


# --- properties --------------------------------------------------------------------------

gsm_texts = st.text(alphabet=st.sampled_from(GSM7_CHARS), max_size=700)
any_texts = st.text(max_size=500)


@given(st.one_of(gsm_texts, any_texts), st.one_of(gsm_texts, any_texts))
def test_segments_never_decrease_as_text_grows(text: str, more: str) -> None:
    assert count_segments(text + more).segments >= count_segments(text).segments


@given(gsm_texts)
def test_gsm_units_at_least_length(text: str) -> None:
    result = count_segments(text)
    assert result.encoding == "GSM-7"
    assert result.units >= len(text)
    assert result.units == len(text) + sum(char in GSM7_EXTENSION_CHARS for char in text)


@given(any_texts)
def test_gsm_iff_every_char_in_tables(text: str) -> None:
    in_tables = all(char in GSM7_BASIC_CHARS or char in GSM7_EXTENSION_CHARS for char in text)
    assert is_gsm7(text) == in_tables
    assert (count_segments(text).encoding == "GSM-7") == in_tables


@given(st.one_of(gsm_texts, any_texts))
def test_segments_hold_all_units(text: str) -> None:
    result = count_segments(text)
    assert result.segments * result.per_segment >= result.units
    if result.segments == 1:
        assert result.per_segment in (160, 70)
    else:
        assert result.per_segment in (153, 67)
        # Filling parts loses at most one unit per part boundary, never a whole part.
        assert (result.segments - 1) * (result.per_segment - 1) < result.units
