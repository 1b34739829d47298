"""Translation coverage (admins) and the engagement dashboard with its CSV tables (office staff
and admins): both read reports.service."""

from datetime import date
from typing import Annotated, Any

from babel.dates import format_skeleton
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.auth.dependencies import AdminViewer, OfficeViewer
from app.auth.sessions import SignedIn
from app.core.db import SessionDep
from app.core.errors import Invalid, NotFound
from app.core.i18n import N_
from app.core.languages import display_names
from app.core.spreadsheet import csv_text
from app.reports import goals
from app.reports import service as reports
from app.reports.terms import term_of
from app.translation import engines, multilingual, packages
from app.translation import service as translation
from app.web.admin.forms import after, optional_id
from app.web.admin.progress import GOAL_LABELS, TREND_LABELS, goal_figure
from app.web.charts import Series, bars, columns
from app.web.formatting import percent, week_label
from app.web.pages import render, request_language, translate

router = APIRouter(include_in_schema=False)

REACH_LABELS = {
    "both": N_("Text and email"),
    "sms": N_("Text only"),
    "email": N_("Email only"),
    "voice": N_("Voice calls only"),
    "opted_out": N_("Opted out of texts, no email"),
    "none": N_("No usable phone or email"),
}
COVERAGE_LABELS = {
    "same": N_("English"),
    "direct": N_("Direct model"),
    "pivot": N_("Through English"),
    "none": N_("No model"),
}
ENGINE_LABELS = {
    "argos": N_("Argos"),
    "opus-mt": N_("Imported OPUS-MT"),
    "multilingual": N_("Multilingual model"),
}
CHOICE_LABELS = {
    "auto": N_("Automatic: Argos, then the multilingual model"),
    "argos": N_("Argos only"),
    "multilingual": N_("Multilingual model first"),
}
TIER_LABELS = {
    "test model": N_("Test model: not for families"),
    "weak": N_("Weak"),
    "unrated": N_("Not rated"),
    "good": N_("Good"),
}
# Why a delivery did not reach a family (its error code); a provider's own codes are shown as is.
FAILURE_LABELS = {
    "no_address": N_("No phone or email for that channel"),
    "no_sender": N_("The school has no texting number"),
    "opted_out": N_("Opted out (replied STOP)"),
    "untranslatable": N_("No translation: needed an interpreter"),
    "family_deleted": N_("Family removed"),
    "interrupted": N_("Interrupted while sending"),
    "unknown": N_("No reason given"),
}
CSV_TABLES = ("reach", "languages", "weeks", "replies", "failures")
SchoolChoice = Annotated[str, Query(max_length=12)]
Weeks = Annotated[int, Query(ge=1, le=reports.MAX_WEEKS)]


def _school_choice(value: str) -> int | None:
    try:
        return optional_id(value)
    except Invalid:
        raise NotFound("No such school.") from None


@router.get("/admin/coverage")
def coverage_page(
    request: Request, session: SessionDep, viewer: AdminViewer, school: SchoolChoice = ""
) -> Response:
    scope = reports.scope_for(session, viewer.subject, _school_choice(school))
    languages = reports.coverage(session, scope)
    pairs: list[dict[str, Any]] = [
        {
            "source": display_names(p.source)[0],
            "target": display_names(p.target)[0],
            "pair": p,
            "hop": engines.argos_hop(p),
        }
        for p in packages.installed()
    ]
    many = [(m, engines.multilingual_hop(m, "", "")) for m in multilingual.installed()]
    return render(
        request,
        "admin/coverage.html",
        {
            "scope": scope,
            "languages": languages,
            "pairs": pairs,
            "multilingual": many,
            "schools": reports.visible_schools(session, viewer.subject),
            "uncovered": [lang for lang in languages if lang.needs_interpreter and lang.families],
            "engine_labels": ENGINE_LABELS,
            "choice_labels": CHOICE_LABELS,
            "tier_labels": TIER_LABELS,
            "may_choose": viewer.subject.sees_all_schools,
            "done": request.query_params.get("done", ""),
            "test_models": [p for p in pairs if p["pair"].test_model],
        },
    )


@router.post("/admin/coverage/engine")
def choose_engine(
    session: SessionDep,
    viewer: AdminViewer,
    language: Annotated[str, Form(max_length=35)] = "",
    engine: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """An admin's engine for one language, district-wide (refused for a school's admin)."""
    translation.set_engine_choice(session, viewer.subject, language, engine)
    return after("/admin/coverage", "engine_saved")


def failure_label(request: Request, code: str) -> str:
    if code in FAILURE_LABELS:
        return translate(request, FAILURE_LABELS[code])
    return translate(request, "Provider error %(code)s", code=code)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _charts(request: Request, board: reports.Dashboard) -> dict[str, Any]:
    """The dashboard's three charts; each is followed on the page by its table."""
    _ = lambda message, **values: translate(request, message, **values)  # noqa: E731
    first, last = board.weeks[0].start, board.weeks[-1].start
    weekly = columns(
        "chart-weeks",
        _("Messages and replies per week"),
        _(
            "Texts and emails sent to families, and replies from families, per week from "
            "%(first)s to %(last)s. The table below has the figures.",
            first=week_label(request, first),
            last=week_label(request, last),
        ),
        [format_skeleton("MMMd", w.start, locale=request_language(request)) for w in board.weeks],
        [
            Series(_("Texts and emails sent"), [w.texts + w.emails for w in board.weeks]),
            Series(_("Replies from families"), [w.replies for w in board.weeks]),
        ],
    )
    rates = {r.code: r for r in board.replies}
    langs = board.languages
    reach = [_share(lang.reachable, lang.families) for lang in langs]
    reply = [(rates[lang.code].rate if lang.code in rates else None) or 0.0 for lang in langs]
    by_language = bars(
        "chart-languages",
        _("Reach and reply rate by language"),
        _(
            "For each language: the share of its families Hearth can reach by text or email, "
            "and the share of families reached since %(date)s who wrote back.",
            date=week_label(request, board.weeks_from),
        ),
        [lang.name for lang in langs],
        [Series(_("Reachable"), reach), Series(_("Reply rate"), reply)],
        [
            [percent(request, lang.reachable, lang.families) for lang in langs],
            [
                percent(request, rates[lang.code].replied, rates[lang.code].reached)
                if lang.code in rates
                else "–"
                for lang in langs
            ],
        ],
    )
    reasons = list(board.failures)
    failed = bars(
        "chart-failures",
        _("Delivery failures by reason"),
        _(
            "Texts and emails made since %(date)s that did not reach the family, by reason.",
            date=week_label(request, board.weeks_from),
        ),
        [failure_label(request, code) for code in reasons],
        [Series(_("Deliveries"), [board.failures[code] for code in reasons])],
        [[str(board.failures[code]) for code in reasons]],
    )
    return {"chart_weeks": weekly, "chart_languages": by_language, "chart_failures": failed}


def _dashboard(session: Session, viewer: SignedIn, school: str, weeks: int) -> reports.Dashboard:
    return reports.dashboard(session, viewer.subject, _school_choice(school), weeks)


@router.get("/dashboard")
def dashboard_page(
    request: Request,
    session: SessionDep,
    viewer: OfficeViewer,
    school: SchoolChoice = "",
    weeks: Weeks = reports.DEFAULT_WEEKS,
) -> Response:
    board = _dashboard(session, viewer, school, weeks)
    reached, replied = board.reply_totals
    reachable = sum(board.reach[k] for k in reports.REACHABLE)
    term = term_of(date.today())
    progress = goals.district_progress(session, viewer.subject, term, board.scope.school_id)
    rates = {r.code: r for r in board.replies}
    return render(
        request,
        "admin/dashboard.html",
        {
            "board": board,
            "weeks": weeks,
            "school": school,
            "schools": reports.visible_schools(session, viewer.subject),
            "reach_labels": REACH_LABELS,
            "coverage_labels": COVERAGE_LABELS,
            "reachable": reachable,
            "reachable_share": percent(request, reachable, board.families),
            "reached": reached,
            "replied": replied,
            "reply_share": percent(request, replied, reached),
            "percent": lambda part, whole: percent(request, part, whole),
            "week_label": lambda start: week_label(request, start),
            "csv_query": f"?school={school}&weeks={weeks}",
            "rates": rates,
            "failure_label": lambda code: failure_label(request, code),
            "term": term,
            "progress": progress,
            "goal_labels": GOAL_LABELS,
            "trend_labels": TREND_LABELS,
            "goal_figure": lambda measure, value: goal_figure(request, measure, value),
            **_charts(request, board),
        },
    )


def _csv_rows(board: reports.Dashboard, table: str) -> list[list[Any]]:
    if table == "reach":
        return [["reach", "families"], *[[k, board.reach[k]] for k in reports.REACH_KINDS]]
    if table == "languages":
        head = ["language", "name", "families", *reports.REACH_KINDS, "coverage", "coverage_back"]
        return [
            head,
            *[
                [
                    lang.code,
                    lang.name,
                    lang.families,
                    *[lang.reach[k] for k in reports.REACH_KINDS],
                    lang.coverage,
                    lang.coverage_back,
                ]
                for lang in board.languages
            ],
        ]
    if table == "weeks":
        return [
            ["week_start", "notes", "broadcasts", "texts", "emails", "replies"],
            *[
                [w.start.isoformat(), w.notes, w.broadcasts, w.texts, w.emails, w.replies]
                for w in board.weeks
            ],
        ]
    if table == "failures":
        return [["reason", "deliveries"], *[[k, v] for k, v in board.failures.items()]]
    return [
        ["language", "name", "families_reached", "families_replied", "reply_rate"],
        *[
            [r.code, r.name, r.reached, r.replied, "" if r.rate is None else f"{r.rate:.4f}"]
            for r in board.replies
        ],
    ]


@router.get("/dashboard/{table}.csv")
def dashboard_csv(
    session: SessionDep,
    viewer: OfficeViewer,
    table: str,
    school: SchoolChoice = "",
    weeks: Weeks = reports.DEFAULT_WEEKS,
) -> Response:
    if table not in CSV_TABLES:
        raise NotFound("There is nothing here, or you cannot see it.")
    board = _dashboard(session, viewer, school, weeks)
    name = f"hearth-{table}-{board.scope.school_id or 'all'}-{date.today().isoformat()}.csv"
    return Response(
        csv_text(_csv_rows(board, table)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
