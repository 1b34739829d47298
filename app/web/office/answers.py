"""A broadcast's question on its report page: the answers counted per option and per language,
live while families answer, who has not answered, and the CSV (a call list)."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.auth.dependencies import OfficeViewer
from app.broadcasts import service as broadcasts
from app.core.db import SessionDep, utcnow
from app.core.errors import NotFound
from app.core.schema import Id
from app.schools.models import School
from app.web.formatting import Formats
from app.web.pages import csv_download, render, request_language

router = APIRouter()

# htmx stops polling on this status: the broadcast asks no question.
STOP_POLLING = 286


@router.get("/broadcasts/{broadcast_id}/answers")
def broadcast_answers(
    request: Request, session: SessionDep, viewer: OfficeViewer, broadcast_id: Id
) -> Response:
    broadcast = broadcasts.get(session, viewer.subject, broadcast_id)  # 404: not theirs
    try:
        found = broadcasts.answers(session, viewer.subject, broadcast_id)
    except NotFound:
        return Response("", status_code=STOP_POLLING)
    school = session.get(School, broadcast.school_id)
    top = max((o["count"] for o in found["per_option"]), default=0)
    open_ = found["deadline"] is None or found["deadline"] >= utcnow()
    return render(
        request,
        "office/_answers.html",
        {
            "broadcast_id": broadcast_id,
            "found": found,
            "top": top,
            "open": open_,
            "fmt": Formats(request_language(request), school.timezone if school else "UTC"),
        },
    )


@router.get("/broadcasts/{broadcast_id}/answers.csv")
def broadcast_answers_csv(session: SessionDep, viewer: OfficeViewer, broadcast_id: Id) -> Response:
    name, body = broadcasts.answers_csv(session, viewer.subject, broadcast_id)
    return csv_download(name, body)
