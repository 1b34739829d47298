"""Terms: the two halves of a school year, which goals and the community report are set for.

Fall runs from 1 August to 31 January, spring from 1 February to 31 July, so a school year is
named by the year it starts in and every date belongs to exactly one term. A term's key
(`2026-fall`, `2027-spring`) is what goals store and what URLs carry."""

import re
from dataclasses import dataclass
from datetime import date

from app.core.errors import Invalid

KEY = re.compile(r"^(\d{4})-(fall|spring)$")


@dataclass(frozen=True, order=True)
class Term:
    start: date  # first day
    end: date  # the day after the last day
    key: str

    @property
    def season(self) -> str:
        return self.key.split("-")[1]

    @property
    def year(self) -> int:
        return int(self.key.split("-")[0])

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.end.toordinal() - 1)

    def previous(self) -> "Term":
        if self.season == "spring":
            return term(f"{self.year - 1}-fall")
        return term(f"{self.year}-spring")


def term(key: str) -> Term:
    """The term a key names; a clear 422 for anything else."""
    match = KEY.match(key or "")
    if not match:
        raise Invalid(f"A term is written like 2026-fall or 2027-spring, not {key!r}.")
    year, season = int(match[1]), match[2]
    if not 2000 <= year <= 2100:
        raise Invalid("A term's year is between 2000 and 2100.")
    if season == "fall":
        return Term(date(year, 8, 1), date(year + 1, 2, 1), key)
    return Term(date(year, 2, 1), date(year, 8, 1), key)


def term_of(day: date) -> Term:
    """The term a day falls in."""
    if day.month >= 8:
        return term(f"{day.year}-fall")
    if day.month == 1:
        return term(f"{day.year - 1}-fall")
    return term(f"{day.year}-spring")


def recent_terms(today: date, count: int = 6) -> list[Term]:
    """This term and the ones before it, newest first, plus the next one (goals are set
    ahead): what a page offers to choose from."""
    current = term_of(today)
    following = term_of(current.end)
    terms = [following, current]
    while len(terms) < count + 1:
        terms.append(terms[-1].previous())
    return terms
