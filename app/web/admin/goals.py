"""District goals (admins): set per term, for the district or one school, what share of
families should be reached in their language, reply, get an interpreter when they need one,
and how fast staff should answer; with each school's progress against them."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from app.auth.dependencies import AdminViewer
from app.auth.sessions import SignedIn
from app.core.db import SessionDep, all_or_nothing
from app.core.errors import HearthError, Invalid, NotFound
from app.core.i18n import N_
from app.reports import goals
from app.reports import service as reports
from app.reports.community import LOWER_IS_BETTER, MEASURES
from app.reports.terms import recent_terms, term, term_of
from app.web.admin.forms import Text, messages, optional_id
from app.web.admin.progress import GOAL_LABELS, TREND_LABELS, goal_figure, term_label
from app.web.pages import render

router = APIRouter(include_in_schema=False)
Choice = Annotated[str, Query(max_length=16)]


def _term(key: str):
    try:
        return term(key) if key else term_of(date.today())
    except Invalid:
        raise NotFound("No such term.") from None


def _entered(measure: str, raw: str) -> float | None:
    """A share typed as a percentage (80 → 0.8), a response time in hours; empty: no goal."""
    raw = raw.strip().replace(",", ".").rstrip("%").strip()
    if not raw:
        return None
    try:
        number = float(raw)
    except ValueError:
        raise Invalid(N_("Write each goal as a number, or leave it empty for none.")) from None
    if measure in LOWER_IS_BETTER:
        return number
    if not 0 <= number <= 100:
        raise Invalid(N_("A share is a percentage from 0 to 100."))
    return number / 100


def _shown(measure: str, target: float) -> str:
    value = target if measure in LOWER_IS_BETTER else target * 100
    return f"{value:g}"


def _page(
    request: Request,
    session: Session,
    viewer: SignedIn,
    key: str,
    *,
    values: dict[str, str] | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    current = _term(key)
    school_list = reports.visible_schools(session, viewer.subject)
    names = {s.id: s.name for s in school_list}
    by_scope: dict[int | None, dict[str, float]] = {}
    for goal in goals.list_goals(session, current.key):
        by_scope.setdefault(goal.school_id, {})[goal.measure] = goal.target
    return render(
        request,
        "admin/goals.html",
        {
            "term": current,
            "term_label": lambda k: term_label(request, k),
            "terms": recent_terms(date.today()),
            "schools": school_list,
            "names": names,
            "by_scope": by_scope,
            "measures": MEASURES,
            "shares": [m for m in MEASURES if m not in LOWER_IS_BETTER],
            "values": values or {},
            "errors": errors or [],
            "progress": goals.district_progress(session, viewer.subject, current),
            "goal_labels": GOAL_LABELS,
            "trend_labels": TREND_LABELS,
            "goal_figure": lambda measure, value: goal_figure(request, measure, value),
            "shown": _shown,
            "done": request.query_params.get("done", ""),
        },
        status_code=status_code,
    )


@router.get("/admin/goals")
def goals_page(
    request: Request, session: SessionDep, viewer: AdminViewer, term: Choice = ""
) -> Response:
    return _page(request, session, viewer, term)


@router.post("/admin/goals")
def save_goals(
    request: Request,
    session: SessionDep,
    viewer: AdminViewer,
    term: Text = "",
    school: Text = "",
    reached_in_language: Text = "",
    reply_rate: Text = "",
    interpreter: Text = "",
    response_hours: Text = "",
) -> Response:
    current = _term(term)
    entered = {
        "reached_in_language": reached_in_language,
        "reply_rate": reply_rate,
        "interpreter": interpreter,
        "response_hours": response_hours,
    }
    try:
        school_id = optional_id(school)
        targets = {measure: _entered(measure, raw) for measure, raw in entered.items()}
        with all_or_nothing(session):
            for measure, target in targets.items():
                goals.set_goal(session, viewer.subject, current.key, school_id, measure, target)
    except HearthError as exc:
        return _page(
            request,
            session,
            viewer,
            current.key,
            values={**entered, "school": school},
            errors=messages(request, exc),
            status_code=422,
        )
    return RedirectResponse(f"/admin/goals?term={current.key}&done=saved", status_code=303)
