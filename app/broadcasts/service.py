"""Broadcasts: one notice to many families, each in its own language, with what it will cost
and who cannot be reached known before anyone presses send."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.service import AuthSubject, load_staff, subject_for_staff
from app.broadcasts.models import Broadcast
from app.broadcasts.schemas import Audience, BroadcastDraft
from app.channels.segments import count_segments
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Forbidden, Invalid, NotFound
from app.core.languages import display_names, mt_code
from app.core.queue import enqueue_job, schedule_job
from app.core.spreadsheet import csv_text
from app.delivery import attachments, mms, optouts
from app.delivery import service as delivery
from app.delivery import voice as calls
from app.delivery.models import FAILED, Delivery
from app.messaging import family_links, identity, interpretation
from app.messaging import service as messaging
from app.messaging.models import Message, Thread
from app.messaging.translations import PreparedTranslation
from app.notices import service as notices
from app.people import service as people
from app.people.models import Guardian, Student, StudentGuardian
from app.questions import service as questions
from app.questions.texts import REMINDER
from app.schools import service as schools
from app.schools.models import Enrollment, School
from app.translation import service as translation
from app.translation.protect import Protection


@dataclass(frozen=True)
class Rendered:
    """A broadcast's text in one language, rendered once for all its recipients."""

    text: str | None
    # human | mt | same_language | unavailable; in a preview also fallback (urgent, no
    # translation: the school's text under one line in the family's language)
    source: str
    back_translation: str | None = None
    reason: str | None = None
    result: translation.TranslationResult | None = None  # for machine translations

    @property
    def prepared(self) -> PreparedTranslation:
        """As the message's translation row keeps it."""
        if self.result is not None:
            r = self.result
            return PreparedTranslation(
                self.status, self.text, r.reason, r.engine, r.origin, r.quality, r.test_model
            )
        origin = {"human": "human", "same_language": "same_language"}.get(self.source)
        engine = "catalog" if self.source == "human" else None
        return PreparedTranslation(self.status, self.text, self.reason, engine, origin)

    @property
    def status(self) -> str:
        return (
            "unavailable"
            if self.text is None
            else ("same_language" if self.source == "same_language" else "translated")
        )


# Audience ------------------------------------------------------------------------------------


def recipients(
    session: Session, subject: AuthSubject, school_id: int, audience: Audience
) -> list[delivery.Recipient]:
    """The active guardians of active students of the school that the audience names and the
    caller may reach. A teacher reaches only the families of their own sections."""
    if subject.is_teacher:
        if audience.whole_school or audience.grades:
            raise Forbidden("Teachers send broadcasts to their own sections, not the school.")
        own = set(session.scalars(schools.teacher_section_ids(subject.staff_id or 0)))
        foreign = sorted(set(audience.section_ids) - own)
        if foreign:
            raise NotFound(f"No such section: {foreign[0]}.")
    students = select(Student.id).where(Student.school_id == school_id, Student.active.is_(True))
    chosen = []
    if not audience.whole_school:
        if audience.grades:
            chosen.append(Student.grade.in_(audience.grades))
        if audience.section_ids:
            chosen.append(
                Student.id.in_(
                    select(Enrollment.student_id).where(
                        Enrollment.section_id.in_(audience.section_ids)
                    )
                )
            )
    family = select(StudentGuardian.guardian_id).where(
        StudentGuardian.student_id.in_(students.where(or_(*chosen)) if chosen else students)
    )
    reach: list[ColumnElement[bool]] = [Guardian.id.in_(family)]
    if audience.guardian_ids and not audience.whole_school:
        listed = select(StudentGuardian.guardian_id).where(
            StudentGuardian.guardian_id.in_(audience.guardian_ids),
            StudentGuardian.student_id.in_(students),
        )
        reach = (
            [or_(Guardian.id.in_(family), Guardian.id.in_(listed))]
            if chosen
            else [Guardian.id.in_(listed)]
        )
    readable = people.readable_guardians(subject).with_only_columns(Guardian.id)
    rows = session.execute(
        select(
            Guardian.id,
            Guardian.given_name,
            Guardian.family_name,
            Guardian.language,
            Guardian.channels,
            Guardian.phone,
            Guardian.email,
        )
        .where(Guardian.active.is_(True), Guardian.id.in_(readable), *reach)
        .order_by(Guardian.id)
    ).all()
    languages = {mt_code(t) for t in audience.languages}
    channels = set(audience.channels)
    out = []
    for gid, given, family_name, tag, chans, phone, email in rows:
        code = mt_code(tag)
        if languages and code not in languages:
            continue
        wanted = tuple(c for c in chans if not channels or c in channels)
        if chans and not wanted:
            continue  # filtered out by channel; a family with no channel at all is reported

        out.append(
            delivery.Recipient(gid, f"{given} {family_name}", tag, code, wanted, phone, email)
        )
    return out


# Rendering -----------------------------------------------------------------------------------


def render(
    session: Session,
    draft: BroadcastDraft,
    author_language: str,
    codes: set[str],
    school: School,
    back_translate: bool = False,
) -> dict[str, Rendered]:
    """One rendering per language: the human catalog where it has the template, else machine
    translation of the author's text, flagged (and marked "(machine translated)" for the
    families unless the school switched it off); never English passed off as a translation."""
    author = mt_code(author_language)
    glossary = translation.glossary(session, school.id)
    out: dict[str, Rendered] = {}
    params = template_params(draft, school)
    for code in sorted(codes):
        protected: list[str] = []
        source_language = author_language
        if draft.template:
            rendering = notices.render(draft.template, params, code, author_language)
            if rendering.source == "human":
                source = "same_language" if code == author else "human"
                out[code] = Rendered(rendering.text, source)
                continue
            # No catalog here: machine-translate the rendering, from the language it came in.
            text, protected = rendering.text or "", list(rendering.protected)
            source_language = rendering.language
        else:
            text = draft.body or ""
        if code == mt_code(source_language):
            out[code] = Rendered(text, "same_language")
            continue
        protection = Protection(names=protected, glossary=glossary)
        result = translation.translate(
            session, [text], source_language, code, protection=protection, school_id=school.id
        )[0]
        if result.status != "translated" or not result.text:
            out[code] = Rendered(None, "unavailable", reason=result.reason)
            continue
        back = None
        if back_translate:
            back = translation.translate(session, [result.text], code, author_language)[0].text
        text = result.text
        if school.mark_machine_translation:  # no human catalog wrote this: families are told
            text += " " + identity.family_line(session, identity.MACHINE_MARK, code)
        out[code] = Rendered(text, "mt", back, result=result)
    if draft.question is not None:
        asked = questions.with_question(
            session, draft.question, {code: r.text for code, r in out.items()}, author_language
        )
        out = {code: replace(r, text=asked[code]) for code, r in out.items()}
    return out


def _original(draft: BroadcastDraft, school: School, author_language: str) -> tuple[str, str]:
    """The broadcast as its author sees it, and the language it is in (a template falls back
    to English where the author's language has no catalog)."""
    if draft.body is not None:
        return draft.body, author_language
    rendering = notices.render(
        draft.template or "", template_params(draft, school), author_language, author_language
    )
    return rendering.text or "", rendering.language.replace("_", "-")  # a BCP 47 tag


def template_params(draft: BroadcastDraft, school: School) -> dict[str, Any]:
    """The author's parameters, with the school's own name filled in."""
    return {"school_name": school.name, **draft.params}


def _refuse_test_models(
    draft: BroadcastDraft, school: School, author: str, codes: set[str]
) -> None:
    """In production, no broadcast through a model built for tests (unless allowed): refused
    before it is saved. Languages a template's catalog covers need no model."""
    if translation.test_models_allowed():
        return
    machine = codes
    if draft.template:
        params = template_params(draft, school)
        machine = {
            code
            for code in codes
            if notices.render(draft.template, params, code, author).source != "human"
        }
    translation.refuse_test_models(author, machine)


def _check_draft(session: Session, subject: AuthSubject, draft: BroadcastDraft) -> School:
    school = schools.get_school(session, subject, draft.school_id)
    if draft.template:
        notices.validate_params(draft.template, template_params(draft, school))
    return school


def _author_language(subject: AuthSubject, draft: BroadcastDraft, school: School) -> str:
    if draft.language:
        return draft.language
    return subject.ui_language if subject.staff_id is not None else school.default_language


def _send_time(school: School, draft: BroadcastDraft, now: datetime) -> tuple[datetime, bool]:
    """When it goes: as asked, but a non-urgent text waits for the end of quiet hours."""
    at = draft.scheduled_at or now
    if draft.urgent:
        return at, False
    opens = delivery.quiet_until(school, max(at, now))
    return (opens, True) if opens else (at, False)


def preview(session: Session, subject: AuthSubject, draft: BroadcastDraft) -> dict[str, Any]:
    """Everything the office needs to know before sending. Changes nothing."""
    school = _check_draft(session, subject, draft)
    people_ = recipients(session, subject, school.id, draft.audience)
    author = _author_language(subject, draft, school)
    # A preview saves nothing: the cache rows its translations add are undone with a SAVEPOINT
    # (the caller's own writes stay).
    savepoint = session.begin_nested()
    try:
        rendered = render(
            session, draft, author, {r.language for r in people_}, school, back_translate=True
        )
    finally:
        savepoint.rollback()
    # Urgent, it goes at once where no translation reaches: the school's text under one line
    # in the family's language (as messaging.post_broadcast sends it). Shown as it will go.
    school_language = author
    if draft.urgent:
        school_text, school_language = _school_text(rendered, draft, school, author)
        rendered = {
            code: Rendered(
                interpretation.fallback_text(school, code, school_text),
                "fallback",
                reason=r.reason,
            )
            if r.text is None
            else r
            for code, r in rendered.items()
        }
    stopped = optouts.opted_out_phones(
        session, school.sms_sender, [r.phone for r in people_ if r.phone]
    )
    settings = get_settings()
    # Its one photo goes as MMS to the numbers that take it, when the school sends MMS.
    image = mms.image_for(school.mms_images, attachments.by_ids(session, draft.attachment_ids))
    per_language: dict[str, dict[str, Any]] = {}
    opted_out, no_channel, no_route = [], [], []
    helped: dict[str, list[dict[str, Any]]] = {}  # language → who get the one line
    # Families who will get it: a channel that works, a text in their language (or, urgent,
    # the school's text under one line in their language).
    reached = 0
    for r in people_:
        text = rendered[r.language]
        code = r.language
        entry = per_language.setdefault(
            r.language, {"recipients": 0, "sms": 0, "mms": 0, "emails": 0, "calls": 0}
        )
        entry["recipients"] += 1
        reachable = False
        for channel in r.channels:
            if channel in delivery.PHONE_CHANNELS and r.phone and r.phone in stopped:
                if channel == "sms" or "sms" not in r.channels:  # listed once
                    opted_out.append(_person(r, "replied STOP to the school's number"))
            elif channel == "sms" and r.phone and school.sms_sender:
                entry["sms"] += 1
                entry["mms"] += image is not None and mms.reaches(r.phone)
                reachable = True
            elif channel == "email" and r.email:
                entry["emails"] += 1
                reachable = True
            elif channel == "voice" and r.phone and school.sms_sender and calls.can_call(code):
                entry["calls"] += 1
                reachable = True
        if not reachable and not (r.phone and r.phone in stopped):
            voiceless = "voice" in r.channels and r.phone and not calls.can_call(code)
            no_channel.append(
                _person(
                    r,
                    "no voice for this language: the call is not placed"
                    if voiceless
                    else "no phone or email for the chosen channels",
                )
            )
        if text.text is None:
            no_route.append(_person(r, text.reason or "no translation route"))
        elif reachable:
            reached += 1
            if text.source == "fallback":
                helped.setdefault(code, []).append(
                    _person(r, text.reason or "no translation route")
                )
    languages = []
    for code, entry in sorted(per_language.items(), key=lambda kv: -kv[1]["recipients"]):
        text = rendered[code]
        # Texts carry the family's own link to the family page when the school says so; not
        # a question's, nor the urgent one line's: they end with what the family must do.
        own = school.family_link
        if draft.question is not None or text.source == "fallback":
            own = "never"
        policy = family_links.policy_with(own, bool(draft.attachment_ids))
        sms_text = family_links.sample(policy, text.text) if text.text else None
        count = count_segments(sms_text) if sms_text else None
        segments = count.segments if count else 0
        total = segments * (entry["sms"] - entry["mms"]) if text.text else 0
        # An MMS carries the photo: the link only where the school's policy wants it for the
        # words. One MMS each, whatever its length.
        mms_text = family_links.sample(own, text.text) if text.text and entry["mms"] else None
        mms_count = entry["mms"] if mms_text else 0
        languages.append(
            {
                "language": code,
                "name": display_names(code)[0],
                **entry,
                "text": text.text,
                "sms_text": sms_text,
                "source": text.source,
                "back_translation": text.back_translation,
                "quality": _quality(text.result),
                "test_model": bool(text.result and text.result.test_model),
                "encoding": count.encoding if count else None,
                "segments": segments,
                "total_segments": total,
                "mms_text": mms_text,
                "cost": round(
                    total * settings.sms_price_per_segment
                    + mms_count * settings.mms_price_per_message,
                    4,
                ),
                # A call speaks the text: its estimated billed minutes and their cost.
                "call_minutes": calls.estimated_minutes(text.text) if text.text else 0,
                "call_cost": calls.estimated_cost(text.text, entry["calls"]) if text.text else 0.0,
            }
        )
    fallback = []
    for code, families in helped.items():
        line, line_language = interpretation.help_line(school, code)
        fallback.append(
            {
                "language": code,
                "text_language": school_language,
                "line": line,
                "line_language": line_language,
                "families": families,
            }
        )
    at, delayed = _send_time(school, draft, utcnow())
    total_segments = sum(lang["total_segments"] for lang in languages)
    total_mms = sum(lang["mms"] for lang in languages if lang["mms_text"])
    return {
        "recipients": len(people_),
        "reached": reached,
        "sms": sum(lang["sms"] for lang in languages),
        "emails": sum(lang["emails"] for lang in languages),
        "total_segments": total_segments,
        "mms": total_mms,
        "estimated_cost": round(
            total_segments * settings.sms_price_per_segment
            + total_mms * settings.mms_price_per_message,
            2,
        ),
        "calls": sum(lang["calls"] for lang in languages),
        "estimated_call_cost": round(sum(lang["call_cost"] for lang in languages), 2),
        "currency": settings.sms_price_currency,
        "scheduled_at": at,
        "quiet_hours_delay": delayed,
        "languages": languages,
        "opted_out": opted_out,
        "no_channel": no_channel,
        "no_route": no_route,
        "fallback": fallback,
    }


def _school_text(
    rendered: dict[str, Rendered], draft: BroadcastDraft, school: School, author: str
) -> tuple[str, str]:
    """What an urgent text carries under its one line where no translation reaches, and its
    language: the school's language's text, else the message as its author sees it (as
    fan_out and messaging.post_broadcast choose them)."""
    own = rendered.get(mt_code(school.default_language))
    if own is not None and own.text:
        return own.text, school.default_language
    mine = rendered.get(mt_code(author))
    if mine is not None and mine.source == "same_language" and mine.text:
        return mine.text, author
    return _original(draft, school, author)


def _quality(result: translation.TranslationResult | None) -> dict[str, Any] | None:
    return result.quality.as_dict() if result and result.quality else None


def _person(r: delivery.Recipient, reason: str) -> dict[str, Any]:
    return {"guardian_id": r.guardian_id, "name": r.name, "language": r.tag, "reason": reason}


# Sending -------------------------------------------------------------------------------------


def create(session: Session, subject: AuthSubject, draft: BroadcastDraft) -> Broadcast:
    school = _check_draft(session, subject, draft)
    if not subject.is_teacher:
        subject.require_role("office", "send broadcasts")
    people_ = recipients(session, subject, school.id, draft.audience)
    if not people_:
        raise Invalid("Nobody is in this audience: no active family matches it.")
    author = _author_language(subject, draft, school)
    _refuse_test_models(draft, school, author, {r.language for r in people_})
    at, _ = _send_time(school, draft, utcnow())
    title = draft.title or (
        notices.title(draft.template) if draft.template else (draft.body or "")[:60]
    )
    broadcast = Broadcast(
        school_id=school.id,
        author_staff_id=subject.staff_id,
        actor=subject.actor,
        title=title,
        body=draft.body,
        template=draft.template,
        params=draft.params,
        language=author,
        audience=draft.audience.model_dump(mode="json"),
        urgent=draft.urgent,
        status="scheduled",
        scheduled_at=at,
    )
    session.add(broadcast)
    session.flush()
    attachments.attach(
        session,
        draft.attachment_ids,
        messaging.uploader(subject),
        None,
        school.id,
        broadcast_id=broadcast.id,
    )
    if draft.question is not None:
        questions.create(
            session, school_id=school.id, broadcast_id=broadcast.id, draft=draft.question
        )
        if draft.question.remind_at is not None:
            schedule_job(session, "broadcasts.remind", broadcast.id, eta=draft.question.remind_at)
    audit.record(
        session, subject.actor, "broadcast.create", "broadcast", broadcast.id, school_id=school.id
    )
    if at <= utcnow():
        enqueue_job(session, "broadcasts.fan_out", broadcast.id)
    return broadcast


def claim(session: Session, broadcast_id: int) -> Broadcast | None:
    """scheduled → sending, once, when its time has come; whoever loses the race does nothing.

    Not committed here: the claim commits with the fan-out it starts, so a fan-out cut short
    (a worker killed, the database restarted) leaves the broadcast `scheduled` for its retry or
    the next due check, rather than `sending` with no deliveries, forever. Meanwhile the row is
    locked: a second fan-out of it (the due check finds it still `scheduled`) skips it at once
    on PostgreSQL, and on SQLite waits for the first to commit, then finds it taken."""
    broadcast = session.scalar(
        select(Broadcast)
        .where(
            Broadcast.id == broadcast_id,
            Broadcast.status == "scheduled",
            Broadcast.scheduled_at <= utcnow(),
        )
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if broadcast is None:
        return None
    broadcast.status, broadcast.updated_at = "sending", utcnow()
    session.flush()
    return broadcast


def fan_out(session: Session, broadcast_id: int) -> list[int]:
    """Render once per language, write the message, its translations and every delivery in bulk.
    Returns the delivery ids ready to send."""
    broadcast = claim(session, broadcast_id)
    if broadcast is None:
        return []
    school = session.get(School, broadcast.school_id)
    assert school is not None
    subject = _subject_of(session, broadcast)
    draft = BroadcastDraft(
        school_id=school.id,
        audience=Audience(**broadcast.audience),
        title=broadcast.title,
        body=broadcast.body,
        template=broadcast.template,
        params=broadcast.params,
        language=broadcast.language,
        urgent=broadcast.urgent,
    )
    question = questions.for_broadcast(session, broadcast.id)
    if question is not None:
        draft.question = questions.draft_of(session, question)
    people_ = recipients(session, subject, school.id, draft.audience)
    rendered = render(session, draft, broadcast.language, {r.language for r in people_}, school)
    own = rendered.get(mt_code(broadcast.language))
    if own is not None and own.source == "same_language" and own.text:
        body, body_language = own.text, broadcast.language  # rendered once, reused
    else:
        body, body_language = _original(draft, school, broadcast.language)
    thread_id, message_id, ready = messaging.post_broadcast(
        session,
        school=school,
        author_staff_id=broadcast.author_staff_id,
        subject=broadcast.title,
        body=body,
        language=body_language,
        recipients=people_,
        translated={code: r.prepared for code, r in rendered.items()},
        urgent=broadcast.urgent,
        # A question's text ends with how to answer it: no link after that.
        family_link=question is None,
        files=attachments.held_for_broadcast(session, broadcast.id),
    )
    attachments.of_broadcast(session, broadcast.id, message_id)
    broadcast.thread_id, broadcast.message_id = thread_id, message_id
    broadcast.recipients, broadcast.status, broadcast.sent_at = len(people_), "sent", utcnow()
    if question is not None:
        question.message_id = message_id
    return ready


def remind(session: Session, broadcast_id: int) -> list[int]:
    """The reminder of a broadcast's question: its text again, after "Reminder:", in each
    family's language, to the families that have not answered (opt-outs and quiet hours apply
    as to any text). Once. Returns the delivery ids ready to send."""
    broadcast = session.get(Broadcast, broadcast_id)
    question = questions.for_broadcast(session, broadcast_id)
    if broadcast is None or question is None or question.message_id is None:
        return []
    if question.reminded_at is not None or broadcast.status == "canceled":
        return []
    question.reminded_at = utcnow()
    waiting = questions.not_answered_ids(session, question)
    school = session.get(School, broadcast.school_id)
    assert school is not None
    people_ = (
        recipients(
            session, _subject_of(session, broadcast), school.id, Audience(guardian_ids=waiting)
        )
        if waiting
        else []
    )
    if not people_:
        return []
    sent = messaging.translated_texts(session, question.message_id)
    translated = {}
    for code in {r.language for r in people_}:
        status, text = sent.get(code, ("unavailable", None))
        if text is None:
            translated[code] = PreparedTranslation("unavailable", None, "no text in this language")
            continue
        reminder = f"{questions.text_in(session, REMINDER, code)}\n{text}"
        translated[code] = PreparedTranslation(status, reminder)
    original = session.get(Message, question.message_id)
    assert original is not None
    reminder_title = f"{questions.text_in(session, REMINDER, broadcast.language)} {broadcast.title}"
    _, message_id, ready = messaging.post_broadcast(
        session,
        school=school,
        author_staff_id=broadcast.author_staff_id,
        subject=reminder_title[:200],
        body=f"{questions.text_in(session, REMINDER, original.language)}\n{original.body}",
        language=original.language,
        recipients=people_,
        translated=translated,
        urgent=False,
        family_link=False,  # it ends with how to answer, as the question did
    )
    question.reminder_message_id = message_id
    return ready


def _subject_of(session: Session, broadcast: Broadcast) -> AuthSubject:
    """The author's reach at sending time (a scheduled broadcast obeys today's rosters)."""
    if broadcast.author_staff_id is not None:
        staff = load_staff(session, broadcast.author_staff_id)
        if staff is not None:
            return subject_for_staff(staff, frozenset({"read", "send"}))
    return AuthSubject(
        role="office",
        scopes=frozenset({"read", "send"}),
        school_ids=frozenset({broadcast.school_id}),
    )


def of_thread(session: Session, thread_id: int) -> int | None:
    """The broadcast whose own thread this is, if any."""
    return session.scalar(select(Broadcast.id).where(Broadcast.thread_id == thread_id).limit(1))


def due(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(Broadcast.id).where(
                Broadcast.status == "scheduled", Broadcast.scheduled_at <= utcnow()
            )
        )
    )


def readable(subject: AuthSubject):
    stmt = select(Broadcast)
    if subject.school_ids is not None:
        stmt = stmt.where(Broadcast.school_id.in_(subject.school_ids))
    if subject.is_teacher:
        stmt = stmt.where(Broadcast.author_staff_id == (subject.staff_id or 0))
    return stmt


def get(session: Session, subject: AuthSubject, broadcast_id: int) -> Broadcast:
    broadcast = session.scalar(readable(subject).where(Broadcast.id == broadcast_id))
    if broadcast is None:
        raise NotFound("No such broadcast.")
    return broadcast


def cancel(session: Session, subject: AuthSubject, broadcast_id: int) -> Broadcast:
    broadcast = get(session, subject, broadcast_id)
    changed = session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast.id, Broadcast.status == "scheduled")
        .values(status="canceled", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not changed and broadcast.message_id is not None:
        # Already going out: stop what has not left yet.
        delivery.cancel_queued(session, broadcast.message_id, "The broadcast was canceled.")
    questions.call_off_reminder(session, broadcast.id)
    audit.record(
        session,
        subject.actor,
        "broadcast.cancel",
        "broadcast",
        broadcast.id,
        school_id=broadcast.school_id,
    )
    session.refresh(broadcast)  # the UPDATEs above went around the objects this session holds
    return broadcast


def report(session: Session, broadcast: Broadcast) -> dict[str, Any]:
    if broadcast.message_id is None:
        return {"by_status": {}, "by_language": {}, "by_channel": {}, "replies": 0, "failures": []}
    rows = session.execute(
        select(Delivery.language, Delivery.channel, Delivery.status, func.count())
        .where(Delivery.message_id == broadcast.message_id)
        .group_by(Delivery.language, Delivery.channel, Delivery.status)
    ).all()
    by_status: dict[str, int] = {}
    by_language: dict[str, dict[str, int]] = {}
    by_channel: dict[str, dict[str, int]] = {}
    for language, channel, status, count in rows:
        by_status[status] = by_status.get(status, 0) + count
        lang = by_language.setdefault(language, {})
        lang[status] = lang.get(status, 0) + count
        chan = by_channel.setdefault(channel, {})
        chan[status] = chan.get(status, 0) + count
    replies = (
        session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                # In the families' own "Re:" threads (and, from before those, the broadcast's).
                or_(
                    Message.thread_id == broadcast.thread_id,
                    Message.thread_id.in_(
                        select(Thread.id).where(Thread.notice_thread_id == broadcast.thread_id)
                    ),
                ),
                Message.direction == "inbound",
            )
        )
        or 0
    )
    failures = [
        {"reason": text or code, "count": count}
        for code, text, count in session.execute(
            select(Delivery.error_code, Delivery.error_text, func.count())
            .where(
                Delivery.message_id == broadcast.message_id,
                Delivery.status.in_(FAILED),
            )
            .group_by(Delivery.error_code, Delivery.error_text)
        )
    ]
    return {
        "by_status": by_status,
        "by_language": by_language,
        "by_channel": by_channel,
        "replies": replies,
        "failures": failures,
    }


def export_csv(session: Session, subject: AuthSubject, broadcast_id: int) -> tuple[str, str]:
    """(file name, CSV) of a broadcast's report. Every family's address and delivery state
    leaves Hearth with it, so each export is recorded."""
    broadcast = get(session, subject, broadcast_id)
    audit.record(
        session,
        subject.actor,
        "broadcast.export",
        "broadcast",
        broadcast.id,
        school_id=broadcast.school_id,
    )
    return f"broadcast-{broadcast.id}.csv", report_csv(session, broadcast)


def report_csv(session: Session, broadcast: Broadcast) -> str:
    rows: list[list[object]] = [
        [
            "guardian_id",
            "guardian",
            "language",
            "channel",
            "to",
            "status",
            "error",
            "sent_at",
            "delivered_at",
        ]
    ]
    if broadcast.message_id is not None:
        for d, given, family in session.execute(
            select(Delivery, Guardian.given_name, Guardian.family_name)
            .join(Guardian, Guardian.id == Delivery.guardian_id)
            .where(Delivery.message_id == broadcast.message_id)
            .order_by(Delivery.id)
        ):
            rows.append(
                [
                    d.guardian_id,
                    f"{given} {family}",
                    d.language,
                    d.channel,
                    d.address,
                    d.status,
                    d.error_text or "",
                    d.sent_at.isoformat() if d.sent_at else "",
                    d.delivered_at.isoformat() if d.delivered_at else "",
                ]
            )
    return csv_text(rows)


# A question's answers --------------------------------------------------------------------------


def answers(session: Session, subject: AuthSubject, broadcast_id: int) -> dict[str, Any]:
    """The answers to a broadcast's question, counted, and who has not answered."""
    broadcast = get(session, subject, broadcast_id)
    question = questions.for_broadcast(session, broadcast.id)
    if question is None:
        raise NotFound("This broadcast asks no question.")
    return {**questions.tally(session, question), "school_id": broadcast.school_id}


def answers_csv(session: Session, subject: AuthSubject, broadcast_id: int) -> tuple[str, str]:
    """(file name, CSV) of every family asked: its answer, or none yet with its phone and
    email (a call list). Recorded, like the report's export."""
    found = answers(session, subject, broadcast_id)
    audit.record(
        session,
        subject.actor,
        "broadcast.export_answers",
        "broadcast",
        broadcast_id,
        school_id=found["school_id"],
    )
    question = questions.for_broadcast(session, broadcast_id)
    assert question is not None
    rows: list[list[object]] = [
        [
            "guardian_id",
            "guardian",
            "language",
            "answer",
            "as_written",
            "answered_at",
            "phone",
            "email",
            "signature",
            "channel",
        ]
    ]
    for a in found["answers"]:
        label = questions.label(question, a["value"])
        text = "" if a["value"] == "text" else a["text"]
        answer = a["text"] if a["value"] == "text" else label
        rows.append(
            [
                a["guardian_id"],
                a["name"],
                a["language"],
                answer,
                text,
                a["answered_at"].isoformat(),
                "",
                "",
                a.get("signature") or "",
                a.get("channel") or "",
            ]
        )
    for w in found["not_answered"]:
        rows.append(
            [
                w["guardian_id"],
                w["name"],
                w["language"],
                "",
                "",
                "",
                w["phone"] or "",
                w["email"] or "",
                "",
                "",
            ]
        )
    return f"broadcast-{broadcast_id}-answers.csv", csv_text(rows)


# The call list ---------------------------------------------------------------------------------

# A language's text that is not a translation into it: the school's text under one line in the
# family's language, an interpreter's text still to come, or nothing at all.
NOT_IN_THEIR_LANGUAGE = {
    "fallback": "sent in the school's language with one line in theirs: call them",
    "interpreter": "waiting for an interpreter",
    "unavailable": "no translation: nothing sent",
}


def call_list(session: Session, broadcast: Broadcast) -> list[dict[str, Any]]:
    """The families who got no text in their language, with their phone numbers: whom the
    office calls, each once, by name."""
    if broadcast.message_id is None:
        return []
    statuses = {
        code: status
        for code, (status, _) in messaging.translated_texts(session, broadcast.message_id).items()
        if status in NOT_IN_THEIR_LANGUAGE
    }
    if not statuses:
        return []
    rows = session.execute(
        select(Guardian.id, Guardian.given_name, Guardian.family_name, Guardian.phone)
        .add_columns(Delivery.language)
        .join(Delivery, Delivery.guardian_id == Guardian.id)
        .where(Delivery.message_id == broadcast.message_id, Delivery.language.in_(statuses))
        .distinct()
        .order_by(Delivery.language, Guardian.family_name, Guardian.given_name, Guardian.id)
    ).all()
    seen: set[int] = set()
    out = []
    for gid, given, family, phone, language in rows:
        if gid in seen:
            continue
        seen.add(gid)
        out.append(
            {
                "guardian_id": gid,
                "name": f"{given} {family}",
                "language": language,
                "phone": phone or "",
                "status": statuses[language],
                "reason": NOT_IN_THEIR_LANGUAGE[statuses[language]],
            }
        )
    return out


def call_list_csv(session: Session, subject: AuthSubject, broadcast_id: int) -> tuple[str, str]:
    """(file name, CSV) of a broadcast's call list; recorded, as every export of addresses."""
    broadcast = get(session, subject, broadcast_id)
    audit.record(
        session,
        subject.actor,
        "broadcast.export_call_list",
        "broadcast",
        broadcast.id,
        school_id=broadcast.school_id,
    )
    rows: list[list[object]] = [["guardian_id", "guardian", "language", "phone", "reason"]]
    rows += [
        [r["guardian_id"], r["name"], r["language"], r["phone"], r["reason"]]
        for r in call_list(session, broadcast)
    ]
    return f"broadcast-{broadcast.id}-call-list.csv", csv_text(rows)
