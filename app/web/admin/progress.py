"""How pages name goals and say a school's figures against them, in the staff member's
language (the dashboard, the goals page and the community report share these)."""

from babel.numbers import format_decimal, format_percent
from fastapi import Request

from app.core.i18n import N_
from app.reports.community import LOWER_IS_BETTER
from app.web.pages import request_language, translate

GOAL_LABELS = {
    "reached_in_language": N_("Families reached in their language"),
    "reply_rate": N_("Reply rate"),
    "interpreter": N_("Families needing an interpreter who got one"),
    "response_hours": N_("Median staff response time"),
}
TREND_LABELS = {
    "better": N_("Better than last term"),
    "worse": N_("Worse than last term"),
    "same": N_("Same as last term"),
    "unknown": N_("No figure to compare"),
}
SEASON_LABELS = {"fall": N_("Fall %(year)s"), "spring": N_("Spring %(year)s")}


def goal_figure(request: Request, measure: str, value: float | None) -> str:
    """A share as a percentage, a response time in hours; a dash when there is none."""
    if value is None:
        return "–"
    locale = request_language(request)
    if measure in LOWER_IS_BETTER:
        return translate(
            request, "%(hours)s h", hours=format_decimal(round(value, 1), locale=locale)
        )
    return format_percent(value, locale=locale)


def term_label(request: Request, key: str) -> str:
    """`2026-fall` as "Fall 2026 (Aug 2026 – Jan 2027)"-like words: the season and year."""
    year, season = key.split("-")
    return translate(request, SEASON_LABELS[season], year=year)
