"""Translation coverage (admins) and the engagement dashboard with its CSV tables (office staff
and admins): both read reports.service."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.auth.dependencies import AdminViewer, OfficeViewer
from app.auth.sessions import SignedIn
from app.core.db import SessionDep
from app.core.errors import Invalid, NotFound
from app.core.i18n import N_
from app.core.spreadsheet import csv_text
from app.reports import service as reports
from app.translation import packages
from app.translation.languages import display_names
from app.web.admin.forms import optional_id
from app.web.formatting import percent, week_label
from app.web.pages import render

router = APIRouter(include_in_schema=False)

REACH_LABELS = {
    "both": N_("Text and email"),
    "sms": N_("Text only"),
    "email": N_("Email only"),
    "opted_out": N_("Opted out of texts, no email"),
    "none": N_("No usable phone or email"),
}
COVERAGE_LABELS = {
    "same": N_("English"),
    "direct": N_("Direct model"),
    "pivot": N_("Through English"),
    "none": N_("No model"),
}
CSV_TABLES = ("reach", "languages", "weeks", "replies")
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
    pairs = [
        {"source": display_names(p.source)[0], "target": display_names(p.target)[0], "pair": p}
        for p in packages.installed()
    ]
    return render(
        request,
        "admin/coverage.html",
        {
            "scope": scope,
            "languages": languages,
            "pairs": pairs,
            "schools": reports.visible_schools(session, viewer.subject),
            "uncovered": [lang for lang in languages if lang.needs_interpreter and lang.families],
            "test_models": [p for p in pairs if p["pair"].test_model],
        },
    )


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
    reachable = board.reach["both"] + board.reach["sms"] + board.reach["email"]
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
