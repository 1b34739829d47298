"""Interpreting: an interpreter's tasks by language and the form where they write the family's
text (outgoing) or the staff's translation (a family's reply); the office's view of every open
task, the overdue first; staff asking an interpreter about a text of their thread; and the call
list of a broadcast (families who got no text in their language)."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from app.auth.dependencies import InterpretingViewer, OfficeViewer, Viewer
from app.broadcasts import service as broadcasts
from app.core.db import SessionDep, all_or_nothing
from app.core.errors import HearthError, NotFound
from app.core.i18n import N_
from app.core.schema import Id
from app.messaging import interpreting
from app.messaging.interpreting import TaskView
from app.schools.models import School
from app.web.formatting import Formats
from app.web.pages import csv_download, form_id, render, request_language, translate

router = APIRouter(include_in_schema=False)

REASONS = {
    "no_route": N_("No translation model for this language"),
    "poor": N_("The machine translation is likely wrong"),
    "requested": N_("Staff asked for an interpreter"),
}
DIRECTIONS = {
    "outbound": N_("To the family: write it in their language"),
    "inbound": N_("From the family: write it for the staff"),
}


def _zone(session: Session, school_id: int) -> str:
    school = session.get(School, school_id)
    return school.timezone if school else "UTC"


def _task_view(request: Request, session: Session, view: TaskView) -> dict[str, Any]:
    task = view.task
    fmt = Formats(request_language(request), _zone(session, task.school_id))
    return {
        "id": task.id,
        "language": fmt.language(task.family_language),
        "target": task.language,
        "target_name": fmt.language(task.language),
        "source_language": task.source_language,
        "direction": translate(request, DIRECTIONS.get(task.direction, task.direction)),
        "reason": translate(request, REASONS.get(task.reason, task.reason)),
        "source_text": view.source_text,
        "machine_text": task.machine_text,
        "text": task.text,
        "status": task.status,
        "due": fmt.when(task.due_at),
        "overdue": view.overdue,
    }


@router.get("/interpreting")
def task_list(request: Request, session: SessionDep, viewer: InterpretingViewer) -> Response:
    views = [_task_view(request, session, v) for v in interpreting.tasks(session, viewer.subject)]
    by_language: dict[str, list[dict[str, Any]]] = {}
    for v in sorted(views, key=lambda v: (not v["overdue"], v["language"])):
        by_language.setdefault(v["language"], []).append(v)
    return render(
        request,
        "interpreting/tasks.html",
        {"by_language": by_language, "overdue": sum(v["overdue"] for v in views)},
    )


def _task_or_404(session: Session, viewer: InterpretingViewer, raw_id: str) -> TaskView:
    task_id = form_id(raw_id)
    if task_id is None:
        raise NotFound("No such interpretation task.")
    return interpreting.get_task(session, viewer.subject, task_id)


@router.get("/interpreting/{task_id}")
def task_page(
    request: Request, session: SessionDep, viewer: InterpretingViewer, task_id: str
) -> Response:
    view = _task_or_404(session, viewer, task_id)
    return render(request, "interpreting/task.html", {"task": _task_view(request, session, view)})


@router.post("/interpreting/{task_id}")
def task_save(
    request: Request,
    session: SessionDep,
    viewer: InterpretingViewer,
    task_id: str,
    text: Annotated[str, Form(max_length=interpreting.MAX_TEXT)] = "",
) -> Response:
    view = _task_or_404(session, viewer, task_id)
    try:
        with all_or_nothing(session):  # a refused text changes nothing
            interpreting.complete(session, viewer.subject, view.task.id, text)
    except HearthError as exc:
        context = {
            "task": _task_view(request, session, view),
            "errors": [translate(request, exc.message)],
            "text": text,
        }
        return render(request, "interpreting/task.html", context, status_code=exc.status_code)
    return RedirectResponse("/interpreting?done=1", status_code=303)


@router.post("/threads/{thread_id}/messages/{message_id}/interpreter")
def ask_interpreter(
    session: SessionDep,
    viewer: Viewer,
    thread_id: Id,
    message_id: Id,
    language: Annotated[str, Form(max_length=16)],
) -> Response:
    interpreting.ask(session, viewer.subject, thread_id, message_id, language)
    return RedirectResponse(f"/threads/{thread_id}?asked=1#m{message_id}", status_code=303)


@router.get("/broadcasts/{broadcast_id}/call-list.csv")
def call_list_csv(session: SessionDep, viewer: OfficeViewer, broadcast_id: Id) -> Response:
    name, body = broadcasts.call_list_csv(session, viewer.subject, broadcast_id)
    return csv_download(name, body)
