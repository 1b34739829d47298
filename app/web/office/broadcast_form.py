"""The broadcast form: what the office typed, kept as typed to show the form again, and the
BroadcastDraft it describes (with a message for the office when it describes none)."""

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from starlette.datastructures import FormData

from app.broadcasts.schemas import Audience, BroadcastDraft
from app.core.db import utcnow
from app.core.errors import Invalid
from app.notices import service as notices
from app.questions.schemas import QuestionDraft
from app.schools.models import School
from app.web.formatting import validation_message
from app.web.pages import form_id

# The question's fields, kept as typed.
QUESTION_FIELDS = (
    "question_kind",
    "question_options",
    "question_deadline_date",
    "question_deadline_time",
    "question_remind_date",
    "question_remind_time",
)
# Template parameters the page fills in itself (the school's own name).
AUTOMATIC_PARAMS = {"school_name"}


def template_fields(name: str) -> dict[str, Any]:
    """The chosen template and the fields the office fills in (not the automatic ones)."""
    if not name:
        return {"template": None, "fields": []}
    template = next((t for t in notices.list_templates() if t.name == name), None)
    if template is None:
        return {"template": None, "fields": []}
    return {
        "template": template,
        "fields": [p for p in template.params if p.name not in AUTOMATIC_PARAMS],
    }


def blank_state(school: School) -> dict[str, Any]:
    return {
        "school_id": school.id,
        "audience": "whole_school",
        "grades": [],
        "sections": [],
        "languages": [],
        "channels": [],
        "template": "",
        "params": {},
        "title": "",
        "body": "",
        "language": "",  # detected from the text when previewed, unless the office chooses
        "urgent": False,
        "when": "now",
        "send_date": "",
        "send_time": "",
        **dict.fromkeys(QUESTION_FIELDS, ""),
    }


def state_from_form(form: FormData, school: School) -> dict[str, Any]:
    """What the office typed, kept as typed, to show the form again."""

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def many(name: str) -> list[str]:
        return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]

    template = text("template")
    fields = template_fields(template)["fields"]
    # Ticking a grade or a class chooses them, whatever the radio said (the page moves the
    # radio as they are ticked; without JavaScript this does).
    groups = text("audience") == "groups" or bool(many("grades") or many("sections"))
    return {
        "school_id": school.id,
        "audience": "groups" if groups else "whole_school",
        "grades": many("grades"),
        "sections": many("sections"),
        "languages": many("languages"),
        "channels": many("channels"),
        "template": template,
        "params": {p.name: text(f"param_{p.name}") for p in fields},
        "title": text("title"),
        "body": text("body"),
        "language": text("language"),
        "urgent": bool(text("urgent")),
        "when": "later" if text("when") == "later" else "now",
        "send_date": text("send_date"),
        "send_time": text("send_time"),
        **{name: text(name) for name in QUESTION_FIELDS},
    }


def state_from_draft(draft: BroadcastDraft, school: School) -> dict[str, Any]:
    local = draft.scheduled_at.astimezone(ZoneInfo(school.timezone)) if draft.scheduled_at else None
    audience = draft.audience
    return {
        "school_id": school.id,
        "audience": "whole_school" if audience.whole_school else "groups",
        "grades": list(audience.grades),
        "sections": [str(s) for s in audience.section_ids],
        "languages": list(audience.languages),
        "channels": list(audience.channels),
        "template": draft.template or "",
        "params": {k: str(v) for k, v in draft.params.items()},
        "title": draft.title,
        "body": draft.body or "",
        "language": draft.language or "",
        "urgent": draft.urgent,
        "when": "later" if local else "now",
        "send_date": local.date().isoformat() if local else "",
        "send_time": local.strftime("%H:%M") if local else "",
        **question_state(draft.question, school),
    }


def question_state(question: QuestionDraft | None, school: School) -> dict[str, str]:
    if question is None:
        return dict.fromkeys(QUESTION_FIELDS, "")
    zone = ZoneInfo(school.timezone)
    deadline = question.deadline.astimezone(zone) if question.deadline else None
    remind = question.remind_at.astimezone(zone) if question.remind_at else None
    return {
        "question_kind": question.kind,
        "question_options": "\n".join(question.options),
        "question_deadline_date": deadline.date().isoformat() if deadline else "",
        "question_deadline_time": deadline.strftime("%H:%M") if deadline else "",
        "question_remind_date": remind.date().isoformat() if remind else "",
        "question_remind_time": remind.strftime("%H:%M") if remind else "",
    }


def question_draft(fields: dict[str, str], school: School) -> QuestionDraft | None:
    """The question a form's fields describe (a teacher's note has no reminder); Invalid with
    a message for the person when it describes none."""
    state = {**dict.fromkeys(QUESTION_FIELDS, ""), **fields}
    try:
        return _question(state, school)
    except ValidationError as exc:
        raise Invalid(validation_message(exc)) from None


def _question(state: dict[str, Any], school: School) -> QuestionDraft | None:
    kind = state["question_kind"]
    if not kind:
        return None
    options = [line.strip() for line in state["question_options"].splitlines() if line.strip()]
    return QuestionDraft(
        kind=kind,
        options=options if kind == "choice" else [],
        deadline=_local(state, "question_deadline", school),
        remind_at=_local(state, "question_remind", school),
    )


def _local(state: dict[str, Any], prefix: str, school: School) -> datetime | None:
    day, at = state[f"{prefix}_date"], state[f"{prefix}_time"]
    if not day:
        return None
    try:
        when = datetime.combine(
            date.fromisoformat(day),
            time.fromisoformat(at or "17:00").replace(tzinfo=None),
            tzinfo=ZoneInfo(school.timezone),
        )
    except ValueError:
        raise Invalid(f"'{day} {at}' is not a day and time like 2026-12-03 14:30.") from None
    check_not_past(when, school)
    return when


def _scheduled_at(state: dict[str, Any], school: School) -> datetime | None:
    if state["when"] != "later":
        return None
    if not state["send_date"] or not state["send_time"]:
        raise Invalid("Choose the day and the time to send it, or choose Send now.")
    try:
        day = date.fromisoformat(state["send_date"])
    except ValueError:
        raise Invalid(f"'{state['send_date']}' is not a date like 2026-12-03.") from None
    try:
        at = time.fromisoformat(state["send_time"])
    except ValueError:
        raise Invalid(f"'{state['send_time']}' is not a time like 14:30.") from None
    when = datetime.combine(day, at.replace(tzinfo=None), tzinfo=ZoneInfo(school.timezone))
    check_not_past(when, school)
    return when


def check_not_past(when: datetime, school: School) -> None:
    # A minute's grace: the time the office previewed may have just gone by.
    if when < utcnow() - timedelta(minutes=1):
        raise Invalid(
            f"That time has already passed ({school.timezone}). Choose a later time, or Send now."
        )


def draft_from_state(state: dict[str, Any], school: School) -> BroadcastDraft:
    """The BroadcastDraft the form describes; Invalid with a message for the office."""
    whole = state["audience"] == "whole_school"
    section_ids = []
    for raw in state["sections"]:
        section_id = form_id(raw)
        if section_id is None:
            raise Invalid("Choose classes from the list.")
        section_ids.append(section_id)
    if not whole and not state["grades"] and not section_ids:
        raise Invalid("Choose who gets it: the whole school, or at least one grade or class.")
    template = state["template"] or None
    body = None if template else state["body"]
    if not template and not body:
        raise Invalid("Write the message, or choose a notice template.")
    if template:
        fields = template_fields(template)
        if fields["template"] is None:
            raise Invalid("Choose a notice template from the list.")
    try:
        return BroadcastDraft(
            school_id=school.id,
            audience=Audience(
                whole_school=whole,
                grades=[] if whole else state["grades"],
                section_ids=[] if whole else section_ids,
                languages=state["languages"],
                channels=state["channels"],
            ),
            title=state["title"],
            body=body,
            template=template,
            params={k: v for k, v in state["params"].items() if v} if template else {},
            language=state["language"] or None,
            urgent=state["urgent"],
            scheduled_at=_scheduled_at(state, school),
            question=_question(state, school),
        )
    except ValidationError as exc:
        raise Invalid(validation_message(exc)) from None
