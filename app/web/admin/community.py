"""The community engagement report (office staff and admins): one school's (or all of theirs)
figures for a term, for the board and the annual report card, as a printable page and as a PDF
of the same figures, in the staff member's language."""

from datetime import date
from typing import Annotated

from babel.dates import format_date
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.auth.dependencies import OfficeViewer
from app.auth.sessions import SignedIn
from app.core.db import SessionDep
from app.core.errors import Invalid, NotFound
from app.reports import goals
from app.reports import service as reports
from app.reports.community import TermFigures, term_figures
from app.reports.terms import Term, recent_terms, term, term_of
from app.schools import service as schools
from app.web.admin.community_pdf import report_pdf
from app.web.admin.community_report import Report, Table
from app.web.admin.forms import optional_id
from app.web.admin.progress import GOAL_LABELS, TREND_LABELS, goal_figure, term_label
from app.web.formatting import language_name, percent
from app.web.pages import render, request_language, translate

router = APIRouter(include_in_schema=False)
Choice = Annotated[str, Query(max_length=16)]


def _choice(key: str) -> Term:
    try:
        return term(key) if key else term_of(date.today())
    except Invalid:
        raise NotFound("No such term.") from None


def _hours(request: Request, seconds: float | None) -> str:
    return goal_figure(request, "response_hours", None if seconds is None else seconds / 3600)


def _headline(request: Request, f: TermFigures) -> list[tuple[str, str]]:
    """The figures compared term on term: label, and the term's value."""
    _ = lambda message, **values: translate(request, message, **values)  # noqa: E731
    return [
        (_("Families"), str(f.families)),
        (_("Families reached"), str(f.reached)),
        (_("Reached in their language"), percent(request, f.in_language, f.families)),
        (_("Reached with one line in their language"), str(f.one_line)),
        (_("Families who wrote back"), str(f.replied)),
        (_("Reply rate"), percent(request, f.replied, f.reached)),
        (_("Notes from staff"), str(f.notes)),
        (_("Broadcasts"), str(f.broadcasts)),
        (_("Messages from families"), str(f.replies)),
        (_("Median staff response time"), _hours(request, f.response_seconds)),
    ]


def build_report(
    request: Request, session: Session, viewer: SignedIn, school_id: int | None, current: Term
) -> Report:
    _ = lambda message, **values: translate(request, message, **values)  # noqa: E731
    ui = request_language(request)
    scope = reports.scope_for(session, viewer.subject, school_id)
    figures = term_figures(session, scope, current)
    previous = term_figures(session, scope, current.previous())
    if school_id is not None:
        place_name = schools.get_school(session, viewer.subject, school_id).name
    else:
        place_name = _("All my schools")
    period = _(
        "%(term)s: %(first)s to %(last)s",
        term=term_label(request, current.key),
        first=format_date(current.start, "long", locale=ui),
        last=format_date(current.last_day, "long", locale=ui),
    )
    languages = Table(
        [
            _("Language"),
            _("Families"),
            _("Reached"),
            _("In their language"),
            _("One line in theirs"),
            _("Wrote back"),
            _("Reply rate"),
        ],
        [
            [
                language_name(lang.code, ui),
                str(lang.families),
                str(lang.reached),
                str(lang.in_language),
                str(lang.one_line),
                str(lang.replied),
                percent(request, lang.replied, lang.reached),
            ]
            for lang in figures.languages
        ],
        _("Reach by language"),
    )
    interpreters = [
        _(
            "%(language)s: %(sent)s families written to, %(given)s reached in their language, "
            "%(line)s reached in the school's language with one line in theirs, %(failed)s "
            "could not be sent a translation",
            language=language_name(lang.code, ui),
            sent=lang.sent_to,
            given=lang.in_language,
            line=lang.one_line,
            failed=lang.untranslatable,
        )
        for lang in figures.interpreter_languages
    ]
    now, before = _headline(request, figures), _headline(request, previous)
    changes = Table(
        [_("Figure"), term_label(request, current.key), term_label(request, previous.term.key)],
        [[label, value, old] for (label, value), (_label, old) in zip(now, before, strict=True)],
        _("What changed since last term"),
    )
    goal_table = None
    if school_id is not None:
        progress = goals.school_progress(session, viewer.subject, school_id, current).progress
        if progress:
            goal_table = Table(
                [_("Goal"), _("Target"), _("This term"), _("Last term"), _("Trend")],
                [
                    [
                        _(GOAL_LABELS[g.measure]),
                        goal_figure(request, g.measure, g.target),
                        goal_figure(request, g.measure, g.value),
                        goal_figure(request, g.measure, g.previous),
                        _(TREND_LABELS[g.trend]),
                    ]
                    for g in progress
                ],
                _("Progress against the district's goals"),
            )
    return Report(
        title=_("Community engagement report"),
        place=place_name,
        period=period,
        summary=now,
        languages=languages,
        interpreters=interpreters,
        interpreter_title=_("Languages that needed an interpreter"),
        interpreter_note=_(
            "A language needs an interpreter when no installed translation model covers it. "
            "Counted from the messages sent this term: the families written to in such a "
            "language, those a message reached in their own language (a translation by people), "
            "those an urgent message reached in the school's language under one line in theirs "
            "asking them to call, and those whose message could not be sent for want of a "
            "translation."
        ),
        changes=changes,
        goals=goal_table,
        notes=[
            _(
                "Families: active families today. Reached: families a text or email reached "
                "during the term. In their language: a text or email in the family's language; "
                "an urgent text sent in the school's language under one line in theirs (no "
                "translation) is not counted there but as one line in theirs. Response time: "
                "from a family's message to the next message a staff member wrote in the same "
                "conversation."
            )
        ],
    )


def _school(viewer: SignedIn, session: Session, school: str) -> int | None:
    try:
        school_id = optional_id(school)
    except Invalid:
        raise NotFound("No such school.") from None
    if school_id is not None:
        reports.scope_for(session, viewer.subject, school_id)  # 404 for a school not theirs
    return school_id


@router.get("/reports/community")
def community_page(
    request: Request,
    session: SessionDep,
    viewer: OfficeViewer,
    school: Choice = "",
    term: Choice = "",
) -> Response:
    current = _choice(term)
    school_id = _school(viewer, session, school)
    report = build_report(request, session, viewer, school_id, current)
    return render(
        request,
        "admin/community.html",
        {
            "report": report,
            "term": current,
            "terms": recent_terms(date.today()),
            "term_label": lambda key: term_label(request, key),
            "schools": reports.visible_schools(session, viewer.subject),
            "school": school,
            "pdf_query": f"?school={school}&term={current.key}",
        },
    )


@router.get("/reports/community.pdf")
def community_pdf(
    request: Request,
    session: SessionDep,
    viewer: OfficeViewer,
    school: Choice = "",
    term: Choice = "",
) -> Response:
    current = _choice(term)
    school_id = _school(viewer, session, school)
    report = build_report(request, session, viewer, school_id, current)
    name = f"hearth-community-{school_id or 'all'}-{current.key}.pdf"
    return Response(
        report_pdf(report),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
