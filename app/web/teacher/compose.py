"""Writing a note: choose a student, the guardians who get it (with what reaches each of them),
optionally a notice template, preview the translations, and send."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.dependencies import Viewer
from app.core.db import SessionDep, all_or_nothing
from app.core.errors import HearthError, Invalid, NotFound
from app.core.i18n import N_
from app.core.languages import mt_code
from app.delivery import optouts
from app.delivery import voice as calls
from app.messaging import service as messaging
from app.messaging.schemas import MessageCreate, ThreadCreate
from app.messaging.translations import PreparedTranslation
from app.notices import service as notices
from app.people import service as people
from app.people.models import Guardian, Student
from app.questions import service as questions
from app.schools.models import School
from app.translation import service as translation
from app.web.formatting import (
    CHANNEL_LABELS,
    full_name,
    is_htmx,
    known_languages,
    language_name,
    viewer_language,
)
from app.web.office.broadcast_form import question_draft
from app.web.pages import form_id, render, translate
from app.web.teacher.notes import (
    NoteForm,
    NoteFormDep,
    catalog_texts,
    chosen_language,
    note_language,
    note_problems,
    note_protection,
    preview_context,
    preview_response,
    refusal,
    store_chosen,
)

router = APIRouter(include_in_schema=False)

SEARCH_LIMIT = 40


def note_templates() -> list[notices.NoticeTemplate]:
    """Notice templates that are about one student: those make sense as a teacher's note."""
    return [t for t in notices.list_templates() if t.param("student_name") is not None]


def _template_fields(
    request: Request, ui: str, name: str, values: dict[str, str], prefill: dict[str, str]
) -> list[dict[str, Any]]:
    template = next((t for t in note_templates() if t.name == name), None)
    if template is None:
        return []
    fields = []
    for p in template.params:
        choices = [
            {"value": value, "label": notices.catalog_text(label, ui) or label}
            for value, label in p.choices.items()
        ]
        fields.append(
            {
                "name": p.name,
                "type": p.type,
                "label": translate(request, p.help),
                "required": p.required,
                "value": values.get(p.name) or prefill.get(p.name, ""),
                "choices": choices,
                "minimum": p.minimum,
                "maximum": p.maximum,
                "max_length": p.max_length,
            }
        )
    return fields


def _channel_problem(
    channel: str, address: str | None, school: School, stopped: set[str], language: str = "en"
) -> str | None:
    """Why a guardian's channel cannot be used for this note, if it cannot."""
    if not address:
        return N_("no email address") if channel == "email" else N_("no phone number")
    if channel != "email" and not school.sms_sender:
        return N_("the school has no texting number")
    if channel != "email" and address in stopped:
        return N_("opted out (replied STOP)")
    if channel == "voice" and not calls.can_call(mt_code(language)):
        return N_("no voice for this language: the call is not placed")
    return None


def _guardian_rows(
    request: Request,
    ui: str,
    session: Session,
    school: School,
    family: dict[str, Any],
    source: str,
    chosen: list[int] | None,
) -> list[dict[str, Any]]:
    """The student's guardians as the compose page shows them: language and whether a
    translation reaches it, each channel and whether it can be used, opt-out state."""
    phones = [g["phone"] for g in family["guardians"] if g["phone"]]
    stopped = optouts.opted_out_phones(session, school.sms_sender, phones)
    choices = translation.engine_choices(session)
    rows = []
    for g in family["guardians"]:
        channels = []
        for channel in g["channels"]:
            address = g["email"] if channel == "email" else g["phone"]
            problem = _channel_problem(channel, address, school, stopped, g["language"])
            channels.append(
                {
                    "label": translate(request, CHANNEL_LABELS.get(channel, channel)),
                    "address": address,
                    "problem": translate(request, problem) if problem else None,
                }
            )
        route = translation.find_route(source, g["language"], choices)
        reachable = g["active"] and any(c["problem"] is None for c in channels)
        rows.append(
            {
                "id": g["id"],
                "name": f"{g['given_name']} {g['family_name']}",
                "relationship": g["relationship"],
                "language": language_name(g["language"], ui),
                "language_tag": g["language"],
                "route": route.coverage,
                "needs_interpreter": route.coverage == "none",
                "channels": channels,
                "no_channel": not g["channels"],
                "opted_out": any(c != "email" and g["phone"] in stopped for c in g["channels"]),
                "reachable": reachable,
                "active": g["active"],
                "checked": g["active"] and (chosen is None or g["id"] in chosen),
            }
        )
    return rows


def _search(session: Session, viewer: Viewer, q: str) -> list[dict[str, Any]]:
    stmt = people.student_filters(
        people.readable_students(viewer.subject), q=q or None, active=True
    )
    return [
        {"id": s.id, "name": full_name(s), "grade": s.grade}
        for s in session.scalars(stmt.limit(SEARCH_LIMIT))
    ]


def _compose_context(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    student_id: int | None,
    q: str = "",
    form: NoteForm | None = None,
) -> dict[str, Any]:
    form = form or NoteForm()
    context: dict[str, Any] = {
        "q": q,
        "form": form,
        "templates": [
            {"name": t.name, "title": translate(request, t.title)} for t in note_templates()
        ],
        "template_fields": [],
        "errors": [],
        "preview": None,
    }
    if student_id is None:
        context["students"] = _search(session, viewer, q)
        return context
    family = people.family(session, viewer.subject, student_id)
    student = family["student"]
    school = session.get(School, student.school_id)
    if school is None:
        raise NotFound("No such school.")
    ui = viewer_language(viewer)
    protection = note_protection(session, school.id, student, [], viewer.staff)
    source = note_language(form.language, viewer, form.body, protection)
    chosen = form.guardian_ids if form.student_id == student_id else None
    guardians = _guardian_rows(request, ui, session, school, family, source, chosen)
    prefill = {
        "student_name": student.given_name,
        "teacher_name": viewer.staff.name,
        "school_name": school.name,
    }
    context.update(
        student=student,
        student_name=full_name(student),
        school=school,
        guardians=guardians,
        language=source,
        language_name=language_name(source, ui),
        # The note's language: detected from the text until the teacher chooses one.
        language_detected=bool(form.body.strip()) and chosen_language(form.language) is None,
        note_languages=known_languages(session, viewer.subject, ui, source),
        prefill=prefill,
        template_fields=_template_fields(request, ui, form.template, form.params, prefill),
        interpreter=[g for g in guardians if g["active"] and g["needs_interpreter"]],
        unreachable=[g for g in guardians if g["active"] and not g["reachable"]],
    )
    return context


def _family_members(
    session: Session, viewer: Viewer, student_id: int | None, guardian_ids: list[int]
) -> tuple[Student, list[Guardian]]:
    """The chosen guardians, only from this student's family as the viewer may read it."""
    if student_id is None:
        raise Invalid("Choose a student first.")
    family = people.family(session, viewer.subject, student_id)
    allowed = {g["id"] for g in family["guardians"] if g["active"]}
    wanted = [i for i in guardian_ids if i in allowed]
    guardians = list(session.scalars(select(Guardian).where(Guardian.id.in_(wanted))))
    return family["student"], guardians


@router.get("/compose")
def compose(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    student_id: str = "",
    q: str = "",
) -> Response:
    context = _compose_context(
        request, session, viewer, student_id=form_id(student_id), q=q[:100].strip()
    )
    return render(request, "teacher/compose.html", context)


@router.get("/compose/students")
def compose_students(
    request: Request, session: SessionDep, viewer: Viewer, q: str = ""
) -> Response:
    q = q[:100].strip()
    return render(
        request,
        "teacher/_students.html",
        {"students": _search(session, viewer, q), "q": q},
    )


@router.post("/compose/preview")
def compose_preview(
    request: Request, session: SessionDep, viewer: Viewer, form: NoteFormDep
) -> Response:
    student, guardians = _family_members(session, viewer, form.student_id, form.guardian_ids)
    if is_htmx(request):
        return preview_response(
            request,
            session,
            viewer,
            student.school_id,
            student,
            guardians,
            form.body,
            form.language,
            form,
        )
    # Without JavaScript the Preview button posts the whole form: the page comes back with
    # the preview filled in and everything typed kept.
    context = _compose_context(request, session, viewer, student_id=student.id, form=form)
    context |= preview_context(
        request,
        session,
        viewer,
        student.school_id,
        student,
        guardians,
        form.body,
        form.language,
        form,
    )
    return render(request, "teacher/compose.html", context)


@router.post("/compose/template-fields")
def compose_template_fields(
    request: Request, session: SessionDep, viewer: Viewer, form: NoteFormDep
) -> Response:
    context = _compose_context(request, session, viewer, student_id=form.student_id, form=form)
    if is_htmx(request):
        return render(request, "teacher/_template_fields.html", context)
    return render(request, "teacher/compose.html", context)


@router.post("/compose/template")
def compose_template(
    request: Request, session: SessionDep, viewer: Viewer, form: NoteFormDep
) -> Response:
    """Fills the note with a notice template written out in the teacher's language; the note
    is then translated and previewed like any other."""
    errors: list[str] = []
    template = next((t for t in note_templates() if t.name == form.template), None)
    if template is None:
        errors.append(translate(request, "Choose a template first."))
    else:
        params = {p.name: form.params.get(p.name, "") for p in template.params}
        try:
            rendering = notices.render(
                template.name, params, viewer.staff.ui_language, viewer.staff.ui_language
            )
            form.body = rendering.text or ""
            form.language = rendering.language.replace("_", "-")
        except HearthError as exc:
            errors.append(translate(request, exc.message))
    context = _compose_context(request, session, viewer, student_id=form.student_id, form=form)
    status = 422 if errors else 200
    if is_htmx(request):
        context["body_errors"] = errors
        # After the swap: the preview must read the note as written into it, not as it was.
        headers = None if errors else {"HX-Trigger-After-Swap": "refresh-preview"}
        return render(
            request, "teacher/_note_body.html", context, status_code=status, headers=headers
        )
    context["errors"] = errors
    return render(request, "teacher/compose.html", context, status_code=status)


def _catalog_translations(
    session: Session, viewer: Viewer, school_id: int, form: NoteForm, note: MessageCreate
) -> dict[str, PreparedTranslation]:
    """A note that is still its notice template goes out in the human catalogs' words, as
    the same template in a broadcast does."""
    readers = session.scalars(select(Guardian.language).where(Guardian.id.in_(form.guardian_ids)))
    texts = catalog_texts(
        session,
        school_id,
        form,
        note.body,
        note.language or viewer.staff.ui_language,
        {mt_code(tag) for tag in readers},
    )
    return {
        code: PreparedTranslation("translated", text, None, "catalog")
        for code, text in texts.items()
    }


@router.post("/compose")
def send(request: Request, session: SessionDep, viewer: Viewer, form: NoteFormDep) -> Response:
    errors = note_problems(request, form.body)
    if not form.guardian_ids:
        errors.append(translate(request, "Choose at least one guardian."))
    if form.student_id is None:
        errors.append(translate(request, "Choose a student first."))
    if not errors:
        try:
            student, guardians = _family_members(
                session, viewer, form.student_id, form.guardian_ids
            )
            protection = note_protection(
                session, student.school_id, student, guardians, viewer.staff
            )
            note = MessageCreate(
                body=form.body,
                language=note_language(form.language, viewer, form.body, protection),
                ask_interpreter=form.ask_interpreter,
            )
            new_thread = ThreadCreate(
                student_id=form.student_id,
                guardian_ids=form.guardian_ids,
                subject=form.subject[:200],
            )
        except ValidationError:
            errors.append(translate(request, "The form was not filled in as expected. Reload it."))
    if not errors:
        try:
            with all_or_nothing(session):  # no thread without its note
                thread = messaging.create_thread(session, viewer.subject, new_thread)
                note.attachment_ids = store_chosen(session, viewer, form)
                human = _catalog_translations(session, viewer, thread.school_id, form, note)
                school = session.get(School, thread.school_id)
                assert school is not None
                note.question = question_draft(form.question, school)
                if note.question is not None:
                    questions.ask_in_note(session, viewer.subject, thread.id, note, human)
                else:
                    messaging.post_message(session, viewer.subject, thread.id, note, human)
            return RedirectResponse(f"/threads/{thread.id}", status_code=303)
        except HearthError as exc:
            errors.append(refusal(request, exc))
    context = _compose_context(request, session, viewer, student_id=form.student_id, form=form)
    context["errors"] = errors
    return render(request, "teacher/compose.html", context, status_code=422)
