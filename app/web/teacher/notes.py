"""What the compose and reply forms share: the posted note, what is wrong with it, and the live
preview of what each family will read (and what that says back in the teacher's language)."""

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as StarletteUpload

from app.auth.dependencies import Viewer
from app.broadcasts import service as broadcasts
from app.broadcasts.schemas import Audience, BroadcastDraft
from app.channels.segments import count_segments
from app.core.errors import HearthError
from app.core.languages import mt_code
from app.delivery import attachments as attachment_files
from app.delivery import mms
from app.messaging import attachments, family_links, identity
from app.messaging import service as messaging
from app.messaging.attachments import read_limit
from app.messaging.models import Thread
from app.messaging.schemas import MAX_BODY, MessageCreate
from app.people.models import Guardian, Staff, Student
from app.questions import service as questions
from app.schools import senders
from app.schools.models import School
from app.translation import service as translation
from app.translation.protect import Protection
from app.web.formatting import full_name, language_name, viewer_language
from app.web.office.broadcast_form import question_draft
from app.web.pages import form_id, render, translate


def note_problems(request: Request, body: str) -> list[str]:
    if not body.strip():
        return [translate(request, "Write the note first.")]
    if len(body) > MAX_BODY:
        return [
            translate(
                request,
                "The note is longer than %(max)s characters. Shorten it, or send it as two notes.",
                max=MAX_BODY,
            )
        ]
    return []


# The broadcast form's question fields, without its reminder (a note sends none).
NOTE_QUESTION = (
    "question_kind",
    "question_options",
    "question_deadline_date",
    "question_deadline_time",
)


@dataclass
class NoteForm:
    """What the compose and reply forms post (read once, for every route that takes them)."""

    student_id: int | None = None
    guardian_ids: list[int] = field(default_factory=list)
    subject: str = ""
    body: str = ""
    language: str = ""
    template: str = ""
    params: dict[str, str] = field(default_factory=dict)
    ask_interpreter: bool = False
    # A question asked with the note ("Ask the families"), its fields kept as typed.
    question: dict[str, str] = field(default_factory=lambda: dict.fromkeys(NOTE_QUESTION, ""))
    # Photos and PDFs chosen in the form: (file name, declared type, bytes). The preview,
    # which does not send the files, is told there are some by `has_files`.
    files: list[tuple[str, str | None, bytes]] = field(default_factory=list)
    has_files: bool = False
    # Exactly one file, a photo: it may go as MMS (where the school sends MMS).
    one_image: bool = False


async def _chosen_files(form: Any) -> list[tuple[str, str | None, bytes]]:
    chosen = []
    for item in form.getlist("attachments")[:10]:
        if isinstance(item, StarletteUpload) and item.filename:
            data = await item.read(read_limit())
            chosen.append((item.filename, item.content_type, data))
    return chosen


def _one_image(files: list[tuple[str, str | None, bytes]], named: list[str]) -> bool:
    """Whether exactly one file was chosen, and it is a photo (by its bytes; by its name when
    only its name was sent)."""
    if len(files) + len(named) != 1:
        return False
    if files:
        return attachment_files.sniff(files[0][2]) in attachment_files.IMAGE_TYPES
    return attachment_files.declared_type(named[0], None) in attachment_files.IMAGE_TYPES


async def note_form(request: Request) -> NoteForm:
    form = await request.form()
    files = await _chosen_files(form)

    def text(name: str, limit: int) -> str:
        value = form.get(name)
        # Browsers send a textarea's line breaks as CRLF; its maxlength counts them as one.
        return value.replace("\r\n", "\n")[:limit] if isinstance(value, str) else ""

    # The preview is sent the chosen files' names only.
    named = [v for v in form.getlist("attachments") if isinstance(v, str) and v]
    return NoteForm(
        student_id=form_id(text("student_id", 12)),
        guardian_ids=sorted(
            {
                i
                for raw in form.getlist("guardian_ids")[:50]
                if isinstance(raw, str) and (i := form_id(raw)) is not None
            }
        ),
        subject=" ".join(text("subject", 400).split()),
        # One past the limit is enough to say it is too long, whatever was sent.
        body=text("body", MAX_BODY + 1),
        language=text("language", 35),
        template=text("template", 40),
        params={
            key.removeprefix("param_"): value[:400]
            for key, value in form.items()
            if key.startswith("param_") and isinstance(value, str)
        },
        ask_interpreter=form.get("ask_interpreter") == "1",
        question={name: text(name, 2000).strip() for name in NOTE_QUESTION},
        files=files,
        has_files=bool(files) or bool(named),
        one_image=_one_image(files, named),
    )


NoteFormDep = Annotated[NoteForm, Depends(note_form)]


def store_chosen(session: Session, viewer: Viewer, form: NoteForm) -> list[int]:
    """The form's photos and PDFs stored (in the caller's all-or-nothing write), by id. Every
    file is checked before any is stored: a refused one (`Refused`) keeps nothing."""
    for name, kind, data in form.files:
        attachment_files.clean(name, kind, data)
    return [
        attachments.upload(session, viewer.subject, name, kind, data).id
        for name, kind, data in form.files
    ]


def refusal(request: Request, exc: HearthError) -> str:
    """A refused write in the viewer's language (a refused file's reason, with its values)."""
    if isinstance(exc, attachment_files.Refused):
        return translate(request, exc.msgid, **exc.values)
    return translate(request, exc.message)


def chosen_language(raw: str) -> str | None:
    """The language the teacher chose for the note (or a template was rendered in), if any."""
    try:
        return MessageCreate(body="x", language=raw or None).language
    except ValidationError:
        return None


def note_language(raw: str, viewer: Viewer, body: str, protection: Protection | None) -> str:
    """The language the note is written in: as chosen, else as its text says (a bilingual
    teacher writes in either language, whatever their pages are in), else the teacher's own."""
    return chosen_language(raw) or translation.written_language(
        body, viewer.staff.ui_language, protection
    )


# The preview -------------------------------------------------------------------------------


@dataclass
class PreviewLanguage:
    code: str
    name: str
    readers: list[str]
    status: str  # same | translated | unavailable
    text: str | None = None
    back: str | None = None
    reason: str | None = None
    catalog: bool = False  # a notice template's human translation, not a machine's
    # A machine translation judged "check" or "poor": the teacher is told it may be wrong.
    may_be_wrong: bool = False
    test_model: bool = False  # made by a model built for tests: not for families
    sent: str | None = None  # exactly what the phone receives
    segments: int = 0
    mms: bool = False  # it goes as MMS, with the photo (one message, whatever its length)
    numbers: list[str] = field(default_factory=list)  # what the families see it from


def note_protection(
    session: Session,
    school_id: int,
    student: Student | None,
    guardians: list[Guardian],
    staff: Staff,
) -> Protection:
    """What translation keeps as written, as for a sent note."""
    people: list[Guardian | Student] = [*guardians, *([student] if student else [])]
    return messaging.people_protection(session, school_id, people, [staff])


def preview_translations(
    session: Session,
    *,
    body: str,
    source: str,
    back_to: str,
    guardians: list[Guardian],
    protection: Protection,
    school_id: int,
) -> list[PreviewLanguage]:
    """The note in each guardian language, and each translation translated back into the
    teacher's language, by the translation service that will translate the note. Nothing is
    kept: the cache rows the service adds are rolled back with a savepoint."""
    readers: dict[str, list[str]] = {}
    for g in guardians:
        readers.setdefault(mt_code(g.language), []).append(full_name(g))
    out: list[PreviewLanguage] = []
    savepoint = session.begin_nested()
    try:
        for code in sorted(readers):
            item = PreviewLanguage(code, "", readers[code], "same")
            result = translation.translate(
                session, [body], source, code, protection=protection, school_id=school_id
            )[0]
            if result.status == "same_language":
                item.text = body
            elif result.status == "translated" and result.text:
                item.status, item.text = "translated", result.text
                item.may_be_wrong = bool(result.quality and result.quality.flagged)
                item.test_model = result.test_model
                back = translation.translate(
                    session, [result.text], code, back_to, protection=protection
                )[0]
                item.back = back.text if back.status != "unavailable" else None
            else:
                item.status, item.reason = "unavailable", result.reason
            out.append(item)
    finally:
        savepoint.rollback()
    return out


def catalog_texts(
    session: Session,
    school_id: int,
    form: "NoteForm | None",
    body: str,
    language: str,
    codes: set[str],
) -> dict[str, str]:
    """MT code → the note in that language from the human catalogs, for the note that is still
    exactly the notice template the teacher wrote into it: rendered by the very path a
    broadcast of that template takes (broadcasts.render). Empty once the teacher changed the
    text (it is then theirs, machine-translated like any note)."""
    if form is None or not form.template or not codes:
        return {}
    school = session.get(School, school_id)
    if school is None:
        return {}
    try:
        draft = BroadcastDraft(
            school_id=school_id,
            audience=Audience(whole_school=True),
            template=form.template,
            params={k: v for k, v in form.params.items() if v},
        )
        own = mt_code(language)
        rendered = broadcasts.render(session, draft, language, {own, *codes}, school)
    except (HearthError, ValidationError):
        return {}
    mine = rendered.get(own)
    if mine is None or mine.source != "same_language" or (mine.text or "").strip() != body.strip():
        return {}
    return {
        code: r.text for code, r in rendered.items() if r.source == "human" and r.text is not None
    }


def _as_sent(
    session: Session,
    author: Staff,
    school_id: int,
    guardians: list[Guardian],
    items: list[PreviewLanguage],
    thread: Thread | None,
    question: dict[str, str] | None = None,
    source: str = "en",
    has_files: bool = False,
    one_image: bool = False,
) -> None:
    """Each language's text exactly as the phones will receive it (who wrote, the mark, the
    invitation to reply: messaging.identity), its SMS segments, and the numbers the families
    see it from. Nothing is kept (a number assigned for the preview is rolled back)."""
    school = session.get(School, school_id)
    if school is None:
        return
    invite = identity.invites_reply(session, thread.id) if thread else True
    owner = thread.owner_staff_id if thread else author.id
    try:  # a question not filled in right yet is left out until it is (sending says why)
        draft = question_draft(question, school) if question else None
    except HearthError:
        draft = None
    savepoint = session.begin_nested()
    try:
        numbers = senders.senders_for(session, school, [g.id for g in guardians], owner)
        for item in items:
            if item.text is None:
                continue
            item.sent = identity.family_text(
                session,
                school=school,
                author=author,
                language=item.code,
                body=item.text,
                machine=item.status == "translated" and not item.catalog,
                invite=invite,
            )
            if draft is not None:  # how to answer, in the family's language, as sent
                item.sent += "\n\n" + questions.prompt(session, draft, item.code, source)
            # The family's own link to the family page, when the school's texts carry it.
            # (Always, when it carries photos or PDFs: the page shows them; unless its one
            # photo goes in the text, as MMS, to these families' numbers.)
            phones = [g.phone for g in guardians if mt_code(g.language) == item.code]
            item.mms = one_image and school.mms_images and any(mms.reaches(p) for p in phones)
            policy = family_links.policy_with(school.family_link, has_files and not item.mms)
            item.sent = family_links.sample(policy, item.sent)
            item.segments = 1 if item.mms else count_segments(item.sent).segments
            item.numbers = sorted(
                {
                    numbers[g.id]
                    for g in guardians
                    if mt_code(g.language) == item.code and g.id in numbers
                }
            )
    finally:
        savepoint.rollback()


def preview_context(
    request: Request,
    session: Session,
    viewer: Viewer,
    school_id: int,
    student: Student | None,
    guardians: list[Guardian],
    body: str,
    language: str,
    form: "NoteForm | None" = None,
    thread: Thread | None = None,
) -> dict[str, Any]:
    ui = viewer_language(viewer)
    context: dict[str, Any] = {"preview": [], "preview_errors": [], "preview_empty": False}
    if not body.strip():
        context["preview_empty"] = True
        return context
    errors = note_problems(request, body)
    if not guardians:
        errors.append(translate(request, "Choose at least one guardian to see the preview."))
    if errors:
        context["preview_errors"] = errors
        return context
    protection = note_protection(session, school_id, student, guardians, viewer.staff)
    source = note_language(language, viewer, body, protection)
    context["source_name"] = language_name(source, ui)
    context["source_detected"] = chosen_language(language) is None
    items = preview_translations(
        session,
        body=body,
        source=source,
        back_to=ui,
        guardians=guardians,
        protection=protection,
        school_id=school_id,
    )
    human = catalog_texts(
        session, school_id, form, body, source, {mt_code(g.language) for g in guardians}
    )
    for item in items:
        item.name = language_name(item.code, ui)
        if item.code in human:  # what the family will get: the school's translated notice
            item.status, item.text, item.back, item.catalog = (
                "translated",
                human[item.code],
                None,
                True,
            )
    _as_sent(
        session,
        viewer.staff,
        school_id,
        guardians,
        items,
        thread,
        question=form.question if form is not None else None,
        source=source,
        has_files=form is not None and form.has_files,
        one_image=form is not None and form.one_image,
    )
    context["preview"] = items
    context["back_name"] = language_name(ui, ui)
    return context


def preview_response(
    request: Request,
    session: Session,
    viewer: Viewer,
    school_id: int,
    student: Student | None,
    guardians: list[Guardian],
    body: str,
    language: str,
    form: "NoteForm | None" = None,
    thread: Thread | None = None,
) -> Response:
    """The preview alone, as htmx swaps it in below the form."""
    context = preview_context(
        request, session, viewer, school_id, student, guardians, body, language, form, thread
    )
    status = 422 if context["preview_errors"] else 200
    return render(request, "teacher/_preview.html", context, status_code=status)
