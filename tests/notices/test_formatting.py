"""Dates and times as each language writes them (CLDR through Babel)."""

import datetime as dt

import pytest
from babel.dates import format_date

from app.notices import catalogs
from app.notices.formatting import date_text, number_text, time_text, without_year

THURSDAY = dt.date(2026, 12, 3)
AFTERNOON = dt.time(14, 30)


@pytest.mark.parametrize(
    ("locale", "day", "time"),
    [
        ("en", "Thursday, December 3", "2:30 PM"),
        ("es", "jueves, 3 de diciembre", "14:30"),
        ("vi", "Thứ Năm, 3 tháng 12", "14:30"),
        ("zh_Hans", "12月3日星期四", "14:30"),
        ("ar", "الخميس، 3 ديسمبر", "2:30 م"),
        ("fr", "jeudi 3 décembre", "14:30"),
        ("ko", "12월 3일 목요일", "오후 2:30"),
        ("ru", "3 декабря (четверг)", "14:30"),
        ("pt", "3 de dezembro (quinta-feira)", "14:30"),
        ("ht", "jedi 3 desanm", "14:30"),
    ],
)
def test_dates_and_times_read_naturally(locale, day, time):
    assert date_text(THURSDAY, locale) == day
    assert time_text(AFTERNOON, locale) == time


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("es", ["jueves", "diciembre"]),
        ("vi", ["Thứ Năm", "tháng 12"]),
        ("zh_Hans", ["星期四", "12月"]),
        ("ar", ["الخميس", "ديسمبر"]),
    ],
)
def test_weekday_and_month_names(locale, words):
    text = date_text(THURSDAY, locale)
    for word in words:
        assert word in text


@pytest.mark.parametrize("locale", sorted(catalogs.shipped_locales() | {"en"}))
def test_no_year_and_only_plain_spaces(locale):
    for day in (THURSDAY, dt.date(2027, 1, 1), dt.date(2026, 5, 31)):
        text = date_text(day, locale)
        assert str(day.year) not in text
        assert str(day.day) in text
    for text in (date_text(THURSDAY, locale), time_text(AFTERNOON, locale)):
        assert "\u00a0" not in text and "\u202f" not in text


def test_morning_and_evening_on_twelve_hour_clocks():
    assert time_text(dt.time(9, 5), "en") == "9:05 AM"
    assert time_text(dt.time(9, 5), "ko") == "오전 9:05"
    assert time_text(dt.time(9, 5), "ar") == "9:05 ص"
    assert time_text(dt.time(9, 5), "es") == "9:05"


def test_numbers_per_locale():
    assert number_text(12345, "en") == "12,345"
    assert number_text(12345, "es") == "12.345"
    assert number_text(12345, "fr") == "12 345"
    assert number_text(20, "ar") == "20"


@pytest.mark.parametrize(
    ("locale", "pattern", "expected"),
    [
        ("es", "EEEE, d 'de' MMMM 'de' y", "jueves, 3 de diciembre"),
        ("en", "EEEE, MMMM d, y", "Thursday, December 3"),
        ("zh_Hans", "y年M月d日EEEE", "12月3日星期四"),
        ("ko", "y년 MMMM d일 EEEE", "12월 3일 목요일"),
        ("ru", "EEEE, d MMMM y 'г'.", "четверг, 3 декабря"),
        ("fr", "EEEE d MMMM", "jeudi 3 décembre"),
    ],
)
def test_year_removed_from_cldr_patterns(locale, pattern, expected):
    assert format_date(THURSDAY, without_year(pattern), locale=locale) == expected
