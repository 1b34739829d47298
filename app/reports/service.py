"""Engagement figures for the dashboard and the coverage page: how many families can be reached
and how, in which languages, what went out each week and who answered.

Every figure is a GROUP BY over the caller's readable rows, so a district of 100,000 families
costs a handful of queries, never a loop over its families in Python. Python only folds the
few grouped rows (one per language tag) into the languages the models know (`es-MX` → `es`)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, String, and_, case, cast, func, select
from sqlalchemy.orm import Session

from app.auth.service import AuthSubject
from app.core.db import utcnow
from app.core.languages import ENGLISH, mt_code
from app.delivery.models import FAILED, REACHED, Delivery, OptOut
from app.messaging import service as messaging
from app.messaging.models import Message, Thread
from app.people import service as people
from app.people.models import Guardian
from app.schools import service as schools
from app.schools.models import School
from app.translation import packages
from app.translation import service as translation

DEFAULT_WEEKS = 12
MAX_WEEKS = 52
# How a family can be reached, each family counted once: both channels, one of them, none
# left because the number said STOP, or none at all (no usable address).
REACH_KINDS = ("both", "sms", "email", "voice", "opted_out", "none")


@dataclass(frozen=True)
class Scope:
    """The schools the figures cover, and the timezone their weeks start in."""

    subject: AuthSubject
    school_id: int | None  # one school chosen; None: every school the caller sees
    school_ids: tuple[int, ...] | None  # None: every school in the district
    timezone: str


@dataclass
class LanguageFigures:
    code: str  # the models' code: es, vi, zh, zt, so…
    name: str
    native_name: str
    families: int = 0
    reach: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REACH_KINDS, 0))
    coverage: str = "none"  # English → the family's language: same | direct | pivot | none
    coverage_back: str = "none"  # the family's language → English
    # Which engine, model, licence and quality tier each way, and the admins' engine choice.
    to: packages.Direction | None = None
    back: packages.Direction | None = None
    choice: str = "auto"

    @property
    def reachable(self) -> int:
        return sum(self.reach[k] for k in REACHABLE)

    @property
    def needs_interpreter(self) -> bool:
        return "none" in (self.coverage, self.coverage_back)


@dataclass(frozen=True)
class WeekFigures:
    start: date  # the Monday the week starts on, in the scope's timezone
    notes: int
    broadcasts: int
    texts: int  # texts that went out (one per family and message)
    emails: int
    replies: int


@dataclass(frozen=True)
class ReplyFigures:
    code: str
    name: str
    native_name: str
    reached: int  # families who got at least one message in the period
    replied: int  # of them, the families who wrote back

    @property
    def rate(self) -> float | None:
        return self.replied / self.reached if self.reached else None


@dataclass(frozen=True)
class Dashboard:
    scope: Scope
    weeks_from: date
    reach: dict[str, int]
    languages: list[LanguageFigures]
    weeks: list[WeekFigures]
    replies: list[ReplyFigures]
    failures: dict[str, int]  # deliveries that did not reach a family, by reason

    @property
    def families(self) -> int:
        return sum(self.reach.values())

    @property
    def uncovered(self) -> list[LanguageFigures]:
        return [lang for lang in self.languages if lang.needs_interpreter]

    @property
    def reply_totals(self) -> tuple[int, int]:
        return sum(r.reached for r in self.replies), sum(r.replied for r in self.replies)


# Scope ---------------------------------------------------------------------------------------


def scope_for(session: Session, subject: AuthSubject, school_id: int | None = None) -> Scope:
    """One school the caller can see (404 otherwise), or all of them."""
    if school_id is not None:
        school = schools.get_school(session, subject, school_id)
        return Scope(subject, school.id, (school.id,), school.timezone)
    zones = set(
        session.scalars(
            schools.readable_schools(subject).with_only_columns(School.timezone).distinct()
        )
    )
    # Weeks of several schools in different timezones start at midnight UTC.
    timezone = zones.pop() if len(zones) == 1 else "UTC"
    ids = None if subject.sees_all_schools else tuple(sorted(subject.school_ids or ()))
    return Scope(subject, None, ids, timezone)


def _guardian_ids(scope: Scope) -> Select[Any]:
    stmt = people.readable_guardians(scope.subject).with_only_columns(Guardian.id)
    stmt = people.guardian_filters(stmt, school_id=scope.school_id).order_by(None)
    return stmt.where(Guardian.active.is_(True))


def _thread_ids(scope: Scope) -> Select[Any]:
    stmt = messaging.readable_threads(scope.subject).with_only_columns(Thread.id)
    return messaging.thread_filters(stmt, school_id=scope.school_id).order_by(None)


def _delivery_school(scope: Scope) -> ColumnElement[bool]:
    if scope.school_ids is None:
        return Delivery.id.is_not(None)
    return Delivery.school_id.in_(scope.school_ids)


# Families: reach by channel and by language ----------------------------------------------------


REACHABLE = ("both", "sms", "email", "voice")  # the kinds a message gets through to


def _reach_kind(scope: Scope) -> ColumnElement[str]:
    # JSON lists are compared as text on both SQLite and PostgreSQL ("sms" keeps its quotes).
    channels = cast(Guardian.channels, String)
    wants_sms = channels.like('%"sms"%')
    wants_email = channels.like('%"email"%')
    senders = select(School.sms_sender).where(School.sms_sender.is_not(None))
    if scope.school_ids is not None:
        senders = senders.where(School.id.in_(scope.school_ids))
    # A number that said STOP to one of these schools' senders gets no texts from them.
    stopped = Guardian.phone.in_(
        select(OptOut.phone).where(OptOut.active.is_(True), OptOut.sender.in_(senders))
    )
    sms = and_(wants_sms, Guardian.phone.is_not(None), Guardian.phone != "", ~stopped)
    email = and_(wants_email, Guardian.email.is_not(None), Guardian.email != "")
    # Calls only (no text, no email): a STOP holds for calls too.
    voice = and_(
        channels.like('%"voice"%'), Guardian.phone.is_not(None), Guardian.phone != "", ~stopped
    )
    return case(
        (and_(sms, email), "both"),
        (sms, "sms"),
        (email, "email"),
        (voice, "voice"),
        (and_(wants_sms, stopped), "opted_out"),
        else_="none",
    )


def family_languages(session: Session, scope: Scope) -> list[LanguageFigures]:
    """Active families per language, each split by how it can be reached, with the
    translation coverage of the language; most families first."""
    rows = (
        select(Guardian.language.label("language"), _reach_kind(scope).label("reach"))
        .where(Guardian.id.in_(_guardian_ids(scope)))
        .subquery()
    )
    grouped = session.execute(
        select(rows.c.language, rows.c.reach, func.count()).group_by(rows.c.language, rows.c.reach)
    )
    figures: dict[str, LanguageFigures] = {}
    choices = translation.engine_choices(session)
    for tag, reach, count in grouped:
        code = mt_code(tag)
        if code not in figures:
            figures[code] = _language(code, choices)
        figures[code].families += count
        figures[code].reach[reach] += count
    return sorted(figures.values(), key=lambda f: (-f.families, f.name))


def _language(code: str, choices: dict[str, str]) -> LanguageFigures:
    c = packages.coverage_for(code, ENGLISH, choices)
    return LanguageFigures(
        code=code,
        name=c.name,
        native_name=c.native_name,
        coverage=c.to_family,
        coverage_back=c.from_family,
        to=c.to,
        back=c.back,
        choice=c.choice,
    )


def reach_totals(languages: Iterable[LanguageFigures]) -> dict[str, int]:
    totals = dict.fromkeys(REACH_KINDS, 0)
    for lang in languages:
        for kind, count in lang.reach.items():
            totals[kind] += count
    return totals


def coverage(session: Session, scope: Scope) -> list[LanguageFigures]:
    """The families' languages and every installed one (with no families), with the routes
    installed for each: what a district needs to decide which models to install."""
    languages = family_languages(session, scope)
    spoken = {lang.code for lang in languages}
    choices = translation.engine_choices(session)
    extra = [_language(code, choices) for code in sorted(packages.installed_languages() - spoken)]
    return languages + sorted(extra, key=lambda f: f.name)


# Messages: per week, and who replies ---------------------------------------------------------


def week_starts(timezone: str, weeks: int, now: datetime | None = None) -> list[date]:
    """The Mondays of the last `weeks` weeks, this week's last, in `timezone`."""
    local = (now or utcnow()).astimezone(ZoneInfo(timezone)).date()
    monday = local - timedelta(days=local.weekday())
    return [monday - timedelta(weeks=i) for i in range(weeks - 1, -1, -1)]


def _utc_bounds(timezone: str, starts: list[date]) -> list[datetime]:
    zone = ZoneInfo(timezone)
    return [datetime.combine(d, time(0), tzinfo=zone).astimezone(UTC) for d in starts]


def _week_of(column: Any, bounds: list[datetime]) -> ColumnElement[int]:
    # Newest week first: the first bound a timestamp is past names its week.
    return case(
        *[(column >= bound, index) for index, bound in reversed(list(enumerate(bounds)))],
        else_=-1,
    )


def weekly(
    session: Session, scope: Scope, weeks: int = DEFAULT_WEEKS, now: datetime | None = None
) -> list[WeekFigures]:
    """Notes and broadcasts written, texts and emails that went out, and family replies, per
    week (Monday to Sunday in the scope's timezone), oldest week first."""
    starts = week_starts(scope.timezone, weeks, now)
    bounds = _utc_bounds(scope.timezone, starts)
    messages = (
        select(
            _week_of(Message.created_at, bounds).label("week"),
            Message.direction.label("direction"),
            Message.kind.label("kind"),
        )
        .where(Message.thread_id.in_(_thread_ids(scope)), Message.created_at >= bounds[0])
        .subquery()
    )
    counts: dict[tuple[int, str], int] = {}
    for week, direction, kind, count in session.execute(
        select(messages.c.week, messages.c.direction, messages.c.kind, func.count()).group_by(
            messages.c.week, messages.c.direction, messages.c.kind
        )
    ):
        key = "replies" if direction == "inbound" else kind
        counts[(week, key)] = counts.get((week, key), 0) + count
    deliveries = (
        select(_week_of(Delivery.sent_at, bounds).label("week"), Delivery.channel.label("channel"))
        .where(
            _delivery_school(scope),
            Delivery.status.in_(REACHED),
            Delivery.sent_at >= bounds[0],
        )
        .subquery()
    )
    for week, channel, count in session.execute(
        select(deliveries.c.week, deliveries.c.channel, func.count()).group_by(
            deliveries.c.week, deliveries.c.channel
        )
    ):
        counts[(week, channel)] = count
    return [
        WeekFigures(
            start=start,
            notes=counts.get((i, "note"), 0),
            broadcasts=counts.get((i, "broadcast"), 0),
            texts=counts.get((i, "sms"), 0),
            emails=counts.get((i, "email"), 0),
            replies=counts.get((i, "replies"), 0),
        )
        for i, start in enumerate(starts)
    ]


def reply_rates(
    session: Session, scope: Scope, since: datetime, until: datetime | None = None
) -> list[ReplyFigures]:
    """Per language: the families a message reached since `since` (and before `until`), and how
    many of them wrote back in that time (a text or an email in one of the scope's threads)."""
    reached = select(Delivery.guardian_id).where(
        _delivery_school(scope), Delivery.status.in_(REACHED), Delivery.sent_at >= since
    )
    replied = select(Message.author_guardian_id).where(
        Message.direction == "inbound",
        Message.author_guardian_id.is_not(None),
        Message.created_at >= since,
        Message.thread_id.in_(_thread_ids(scope)),
    )
    if until is not None:
        reached = reached.where(Delivery.sent_at < until)
        replied = replied.where(Message.created_at < until)
    rows = session.execute(
        select(
            Guardian.language,
            func.count(Guardian.id),
            func.count(case((Guardian.id.in_(replied), 1))),
        )
        .where(Guardian.id.in_(reached))
        .group_by(Guardian.language)
    )
    folded: dict[str, list[int]] = {}
    for tag, reached_count, replied_count in rows:
        totals = folded.setdefault(mt_code(tag), [0, 0])
        totals[0] += reached_count
        totals[1] += replied_count
    out = []
    choices = translation.engine_choices(session)
    for code, (reached_count, replied_count) in folded.items():
        c = packages.coverage_for(code, ENGLISH, choices)
        out.append(ReplyFigures(code, c.name, c.native_name, reached_count, replied_count))
    return sorted(out, key=lambda r: (-r.reached, r.name))


def failures(
    session: Session, scope: Scope, since: datetime, until: datetime | None = None
) -> dict[str, int]:
    """Deliveries made since `since` (and before `until`) that did not reach the family, by
    reason (the delivery's error code: no_address, untranslatable, opted_out, a provider's code…),
    most first."""
    stmt = select(Delivery.error_code, func.count()).where(
        _delivery_school(scope),
        Delivery.status.in_(FAILED),
        Delivery.created_at >= since,
    )
    if until is not None:
        stmt = stmt.where(Delivery.created_at < until)
    rows = session.execute(stmt.group_by(Delivery.error_code))
    counts = {code or "unknown": count for code, count in rows}
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def dashboard(
    session: Session,
    subject: AuthSubject,
    school_id: int | None = None,
    weeks: int = DEFAULT_WEEKS,
    now: datetime | None = None,
) -> Dashboard:
    scope = scope_for(session, subject, school_id)
    weeks = max(1, min(weeks, MAX_WEEKS))
    languages = family_languages(session, scope)
    weekly_figures = weekly(session, scope, weeks, now)
    since = _utc_bounds(scope.timezone, [weekly_figures[0].start])[0]
    return Dashboard(
        scope=scope,
        weeks_from=weekly_figures[0].start,
        reach=reach_totals(languages),
        languages=languages,
        weeks=weekly_figures,
        replies=reply_rates(session, scope, since),
        failures=failures(session, scope, since),
    )


def visible_schools(session: Session, subject: AuthSubject) -> list[School]:
    """The schools the caller may choose between, by name."""
    return list(session.scalars(schools.readable_schools(subject).order_by(School.name)))
