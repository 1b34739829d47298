"""What the admin pages' forms share: labels of roles, scopes and fields, the text field,
ids chosen from lists, what was wrong with a form, and the redirect after a change."""

from collections.abc import Iterable
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from app.auth.sessions import SignedIn
from app.core.errors import Invalid, NotFound
from app.core.i18n import N_
from app.core.schema import MAX_ID
from app.reports import service as reports
from app.web.formatting import error_lines
from app.web.pages import form_id

ROLE_LABELS = {
    "teacher": N_("Teacher"),
    "office": N_("Office"),
    "admin": N_("Admin"),
    "interpreter": N_("Interpreter"),
}
SCOPE_LABELS = {
    "read": N_("read: see records and threads"),
    "write": N_("write: change records, write notes"),
    "send": N_("send: send notes and broadcasts"),
    "admin": N_("admin: everything, in every school"),
}
# Field names of the schemas, as the forms label them.
FIELD_LABELS = {
    "name": N_("Name"),
    "email": N_("Email"),
    "role": N_("Role"),
    "ui_language": N_("Language of the pages"),
    "password": N_("Temporary password"),
    "school_ids": N_("Schools"),
    "timezone": N_("Timezone"),
    "default_language": N_("Default language"),
    "sms_sender": N_("SMS sender"),
    "sms_pool": N_("More numbers (the pool)"),
    "email_sender": N_("Email sender"),
    "quiet_hours_start": N_("Quiet hours start"),
    "quiet_hours_end": N_("Quiet hours end"),
    "term": N_("Term"),
    "renderings": N_("Fixed translations"),
}

Text = Annotated[str, Form(max_length=2000)]


def messages(request: Request, exc: Exception) -> list[str]:
    """What went wrong, for a person: one line per field for a schema error."""
    return error_lines(request, exc, FIELD_LABELS)


def ids(values: Iterable[str]) -> list[int]:
    out = []
    for value in values:
        if value.strip():
            school_id = form_id(value)
            if school_id is None:
                raise Invalid(N_("Choose schools from the list."))
            out.append(school_id)
    return out


def optional_id(value: str) -> int | None:
    found = ids([value])
    return found[0] if found else None


def checked_id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFound("There is nothing here, or you cannot see it.")
    return value


def school_names(session: Session, viewer: SignedIn) -> dict[int, str]:
    return {s.id: s.name for s in reports.visible_schools(session, viewer.subject)}


def after(path: str, done: str) -> RedirectResponse:
    """Back to the page, saying what was done."""
    return RedirectResponse(f"{path}?done={done}", status_code=303)
