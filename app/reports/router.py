"""District goals over the API (keys with the admin scope): set them per term for the district
or a school, list them, and read each school's progress against them."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.auth.dependencies import AdminScope
from app.core.db import SessionDep
from app.reports import goals
from app.reports.schemas import GoalRead, GoalSet, ProgressRead
from app.reports.terms import term

router = APIRouter(prefix="/api/v1", tags=["goals"])
TermQuery = Annotated[
    str, Query(alias="term", pattern=r"^\d{4}-(fall|spring)$", examples=["2026-fall"])
]


@router.get("/goals", response_model=list[GoalRead])
def list_goals(session: SessionDep, subject: AdminScope, term_key: TermQuery):
    subject.require_district_admin("read district goals")
    return goals.list_goals(session, term_key)


@router.put("/goals", response_model=GoalRead, responses={204: {"description": "Goal removed"}})
def set_goal(data: GoalSet, session: SessionDep, subject: AdminScope):
    goal = goals.set_goal(session, subject, data.term, data.school_id, data.measure, data.target)
    if goal is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return goal


@router.get("/goals/progress", response_model=list[ProgressRead])
def progress(session: SessionDep, subject: AdminScope, term_key: TermQuery):
    rows = goals.district_progress(session, subject, term(term_key))
    return [
        ProgressRead(
            school_id=p.school.id,
            measure=g.measure,
            target=g.target,
            district_wide=g.district_wide,
            value=g.value,
            previous=g.previous,
            met=g.met,
            trend=g.trend,
        )
        for p in rows
        for g in p.progress
    ]
