"""Dates, times and numbers written the way each language writes them, from CLDR via Babel.

A notice names a day without its year ("jueves, 3 de diciembre", "12月3日星期四"): notices are
about the coming days, and every character counts in a text message. The locale's own full
date pattern is used with the year taken out, so the order, the weekday and the month names
are CLDR's. Babel's output is kept as it is (digits, bidi marks) except for its no-break and
narrow no-break spaces, which become plain spaces: phones wrap texts anyway, and one such
space turns a GSM-7 text into UCS-2 and doubles its price."""

import datetime as dt
import unicodedata
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_date, format_time, tokenize_pattern, untokenize_pattern
from babel.numbers import format_decimal

# Where the CLDR pattern does not sit well inside a sentence:
_DATE_PATTERNS = {
    # "na quinta-feira" / "no sábado": the preposition agrees with the weekday, which a
    # translation cannot know; "no dia 3 de dezembro (quinta-feira)" never has to.
    "pt": "d 'de' MMMM (EEEE)",
    # After "в" a Russian weekday takes the accusative (в среду), which CLDR does not have.
    "ru": "d MMMM (EEEE)",
}
_TIME_PATTERNS = {
    # CLDR's abbreviated Korean day period is "PM"; people and phones write 오후.
    "ko": "aaaa h:mm",
}

# CLDR has no Haitian Creole date names (`ht` falls back to French): written here instead.
_HT_WEEKDAYS = ("lendi", "madi", "mèkredi", "jedi", "vandredi", "samdi", "dimanch")
_HT_MONTHS = (
    "janvye",
    "fevriye",
    "mas",
    "avril",
    "me",
    "jen",
    "jiyè",
    "out",
    "septanm",
    "oktòb",
    "novanm",
    "desanm",
)

_YEAR_FIELDS = set("yYuU")


def _plain_spaces(text: str) -> str:
    return "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in text)


def without_year(pattern: str) -> str:
    """A CLDR date pattern with its year field and the separator that belongs to it removed:
    "EEEE, d 'de' MMMM 'de' y" → "EEEE, d 'de' MMMM", "y年M月d日EEEE" → "M月d日EEEE"."""
    tokens: list[tuple[str, Any]] = []
    for kind, value in tokenize_pattern(pattern):
        if kind == "chars" and tokens and tokens[-1][0] == "chars":
            tokens[-1] = ("chars", tokens[-1][1] + value)  # " 'de' " arrives in pieces
        else:
            tokens.append((kind, value))
    at = next(
        (
            i
            for i, (kind, value) in enumerate(tokens)
            if kind == "field" and value[0] in _YEAR_FIELDS
        ),
        None,
    )
    if at is None:
        return pattern
    drop = {at}
    if at == 0:
        if len(tokens) > 1 and tokens[1][0] == "chars":
            drop.add(1)  # "y年", "y년 "
    else:
        if tokens[at - 1][0] == "chars":
            drop.add(at - 1)  # ", y", " 'de' y"
        if at + 1 == len(tokens) - 1 and tokens[at + 1][0] == "chars":
            drop.add(at + 1)  # a suffix of the year: "y 'г'."
    return untokenize_pattern([t for i, t in enumerate(tokens) if i not in drop]).strip()


@lru_cache
def _date_pattern(locale: str) -> str:
    if locale in _DATE_PATTERNS:
        return _DATE_PATTERNS[locale]
    return without_year(Locale.parse(locale).date_formats["full"].pattern)


def date_text(day: dt.date, locale: str) -> str:
    """The day with its weekday and month names: "Thursday, December 3", "jueves, 3 de
    diciembre", "Thứ Năm, 3 tháng 12", "12月3日星期四", "الخميس، 3 ديسمبر"."""
    if locale == "ht":
        return f"{_HT_WEEKDAYS[day.weekday()]} {day.day} {_HT_MONTHS[day.month - 1]}"
    return _plain_spaces(format_date(day, _date_pattern(locale), locale=locale))


def time_text(time: dt.time, locale: str) -> str:
    """The time as the language tells it: 12 or 24 hours per CLDR ("2:30 PM", "14:30")."""
    pattern = _TIME_PATTERNS.get(locale, "short")
    return _plain_spaces(format_time(time, pattern, locale=locale))


def number_text(number: int, locale: str) -> str:
    return _plain_spaces(format_decimal(number, locale=locale))
