"""No family left with nothing, through the real send path and the Twilio double: an urgent
broadcast reaches every SMS family of the demo school (Hmong included) in its language or with
the one line in its language, the report's call list names who must be called; a note to a
Hmong family waits for an interpreter, and the interpreter's text is what the family gets."""

import csv
import dataclasses
import io

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from app.auth.service import load_staff, subject_for_staff
from app.broadcasts import service as broadcasts
from app.broadcasts.models import Broadcast
from app.core.config import get_settings
from app.core.queue import run_job
from app.delivery import optouts
from app.delivery.models import Delivery
from app.demo import service as demo
from app.messaging import interpreting, translations
from app.messaging import service as messaging
from app.messaging.models import InterpretationTask, MessageTranslation
from app.messaging.schemas import MessageCreate, ThreadCreate
from app.people.models import Guardian, Staff, StaffLanguage, StaffSchool, Student, StudentGuardian
from app.schools.models import School
from app.translation import service as translation
from app.translation.quality import Quality

DISMISSAL = "Early dismissal today at 12:30 PM because of the storm."
HMONG_LINE = (
    "Xov tseem ceeb los ntawm Riverside Elementary. Hu rau +15125550100 kom tau kev pab ua "
    "koj hom lus."
)
# The first words of the line in each language the test models cannot translate into.
LINES = {
    "hmn": "Xov tseem ceeb",
    "so": "Fariin muhiim ah",
    "ht": "Mesaj enpòtan",
    "ar": "رسالة مهمة",
    "pt": "Mensagem importante",
}
NOTE = "Kou's field trip form is due on Friday."
INTERPRETED = "Kou daim ntawv mus ncig tebchaws yuav tsum xa rau hnub Friday."


@pytest.fixture
def school(session):
    """The demo district, its quiet hours lifted so that a test at night sends at once."""
    assert demo.seed(session)
    school = session.scalars(select(School).where(School.external_id == demo.DEMO_SCHOOL_ID)).one()
    school.quiet_hours_start = school.quiet_hours_end = None
    session.commit()
    return school


def _subject(session, email):
    staff = session.scalars(select(Staff).where(Staff.email == email)).one()
    return subject_for_staff(load_staff(session, staff.id), frozenset({"read", "write", "send"}))


def _sms_guardians(session, school):
    return list(
        session.scalars(
            select(Guardian).where(
                Guardian.active.is_(True),
                Guardian.id.in_(
                    select(StudentGuardian.guardian_id)
                    .join(Student, Student.id == StudentGuardian.student_id)
                    .where(Student.school_id == school.id)
                ),
            )
        )
    )


def test_an_urgent_broadcast_reaches_every_sms_family_and_lists_whom_to_call(
    client, auth, session, school, argos_models, twilio
):
    guardians = [g for g in _sms_guardians(session, school) if "sms" in g.channels]
    assert {g.language for g in guardians} >= {"hmn", "so", "ht", "es", "vi", "en"}
    stopped = next(g for g in guardians if g.language == "es")
    optouts.record_opt_out(session, stopped.phone, school.sms_sender, school.id, "keyword", "STOP")
    office = session.scalars(select(Staff).where(Staff.email == demo.OFFICE_EMAIL)).one()
    session.commit()

    response = client.post(
        "/api/v1/broadcasts",
        headers=auth("read,send", staff=office),
        json={
            "school_id": school.id,
            "audience": {"whole_school": True},
            "urgent": True,
            "title": "Early dismissal",
            "body": DISMISSAL,
        },
    )
    assert response.status_code == 201, response.text

    texts = {m.to: m.body for m in twilio.messages if m.sid}
    for g in guardians:
        if g.phone == stopped.phone:
            assert g.phone not in texts  # replied STOP: never texted
            continue
        body = texts[g.phone]  # every other SMS family got a text
        code = g.language.split("-")[0]
        if code == "en":
            assert body == DISMISSAL
        elif code in LINES:  # no model: the school's text under the line in their language
            assert body.startswith(LINES[code]) and body.endswith("\n\n" + DISMISSAL), g.language
        else:  # a model: translated, never the English passed off as their language
            assert body != DISMISSAL and "Call +1" not in body, g.language
    hmong = next(g for g in guardians if g.language == "hmn")
    assert texts[hmong.phone] == f"{HMONG_LINE}\n\n{DISMISSAL}"

    # The report's call list: the families with no text in their language, with their phones.
    broadcast = session.get(Broadcast, response.json()["id"])
    called = broadcasts.call_list(session, broadcast)
    fallback = [g for g in _sms_guardians(session, school) if g.language.split("-")[0] in LINES]
    assert {c["guardian_id"] for c in called} == {g.id for g in fallback}
    assert {c["phone"] for c in called} == {g.phone for g in fallback}
    assert {c["status"] for c in called} == {"fallback"}
    _, body = broadcasts.call_list_csv(session, _subject(session, demo.OFFICE_EMAIL), broadcast.id)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {r["phone"] for r in rows} == {g.phone for g in fallback}
    assert next(r for r in rows if r["phone"] == hmong.phone)["language"] == "hmn"


def _hmong_thread(session, school):
    office = _subject(session, demo.OFFICE_EMAIL)
    guardian = session.scalars(
        select(Guardian).where(Guardian.language == "hmn").order_by(Guardian.id)
    ).first()
    student_id = session.scalars(
        select(StudentGuardian.student_id).where(StudentGuardian.guardian_id == guardian.id)
    ).one()
    thread = messaging.create_thread(
        session, office, ThreadCreate(student_id=student_id, guardian_ids=[guardian.id])
    )
    return office, thread, guardian


def _interpreter(session, school, languages=("hmn",)):
    staff = Staff(
        name="Mai Xiong",
        email="mai.xiong@riverside.example.org",
        role="interpreter",
        school_links=[StaffSchool(school_id=school.id)],
        language_links=[StaffLanguage(language=code) for code in languages],
    )
    session.add(staff)
    session.commit()
    return subject_for_staff(load_staff(session, staff.id), frozenset({"read", "write"}))


def test_a_note_to_a_hmong_family_waits_for_an_interpreter_whose_text_is_what_it_gets(
    session, school, argos_models, twilio
):
    who, thread, guardian = _hmong_thread(session, school)
    message = messaging.post_message(session, who, thread.id, MessageCreate(body=NOTE))
    session.commit()

    # No model for Hmong: nothing goes, nothing fails; an interpreter task holds the delivery.
    assert not [m for m in twilio.messages if m.to == guardian.phone]
    row = session.scalars(select(Delivery).where(Delivery.message_id == message.id)).one()
    assert (row.status, row.body) == ("queued", None)
    task = session.scalars(select(InterpretationTask)).one()
    assert (task.language, task.family_language, task.reason) == ("hmn", "hmn", "no_route")

    mai = _interpreter(session, school)
    assert [v.task.id for v in interpreting.tasks(session, mai)] == [task.id]
    # Someone who does not interpret Hmong does not see it.
    other = _interpreter_for(session, school, "so")
    assert interpreting.tasks(session, other) == []

    interpreting.complete(session, mai, task.id, INTERPRETED)
    session.commit()

    received = [m.body for m in twilio.messages if m.to == guardian.phone]
    # The interpreter's words under who wrote them, with no machine-translation mark.
    assert len(received) == 1 and INTERPRETED in received[0]
    assert "machine" not in received[0]
    session.expire_all()
    done = session.get(InterpretationTask, task.id)
    assert done.status == "done" and done.done_by_staff_id == mai.staff_id and done.done_at
    translated = session.scalars(
        select(MessageTranslation).where(MessageTranslation.message_id == message.id)
    ).one()
    assert (translated.text, translated.engine) == (INTERPRETED, "interpreter")

    # Remembered: the same text later gets the human version first, with no task and no wait.
    again = messaging.post_message(session, who, thread.id, MessageCreate(body=NOTE))
    session.commit()
    later = [m.body for m in twilio.messages if m.to == guardian.phone]
    assert len(later) == 2 and all(INTERPRETED in body and "machine" not in body for body in later)
    assert session.scalars(select(InterpretationTask)).one().id == task.id
    result = translation.translate(session, [NOTE], "en", "hmn", school_id=school.id)[0]
    assert (result.text, result.origin) == (INTERPRETED, "human")
    assert again.id != message.id
    # Only at this school: another school's families never get this school's people's text
    # (here there is no model for Hmong, so nothing at all), nor does a district-wide call.
    other = School(name="Hillside", timezone=school.timezone)
    session.add(other)
    session.flush()
    for school_id in (other.id, None):
        elsewhere = translation.translate(session, [NOTE], "en", "hmn", school_id=school_id)[0]
        assert (elsewhere.status, elsewhere.text) == ("unavailable", None)


def _interpreter_for(session, school, language):
    staff = Staff(
        name=f"Interpreter {language}",
        email=f"{language}@riverside.example.org",
        role="interpreter",
        school_links=[StaffSchool(school_id=school.id)],
        language_links=[StaffLanguage(language=language)],
    )
    session.add(staff)
    session.commit()
    return subject_for_staff(load_staff(session, staff.id), frozenset({"read", "write"}))


def test_an_open_task_past_its_deadline_goes_to_the_office(session, school, argos_models):
    school.interpreter_hours = 0  # due at once
    who, thread, _ = _hmong_thread(session, school)
    messaging.post_message(session, who, thread.id, MessageCreate(body=NOTE))
    session.commit()
    office = _subject(session, demo.OFFICE_EMAIL)
    assert interpreting.tasks(session, office, escalated=True) == []

    run_job("messaging.escalate_interpretation")
    session.expire_all()

    overdue = interpreting.tasks(session, office, escalated=True)
    assert len(overdue) == 1 and overdue[0].overdue and overdue[0].source_text == NOTE


@pytest.mark.parametrize("interpreter", [True, False])
def test_a_poor_translation_waits_for_an_interpreter_when_the_school_has_one(
    session, school, argos_models, twilio, monkeypatch, interpreter
):
    """The test models' Spanish is made to look poor: with a Spanish interpreter at the school
    the note waits for them; with none, it goes as the author sent it (the preview marked it)."""
    real = translations.translation.translate

    def poorly(*args, **kwargs):
        return [
            dataclasses.replace(r, quality=Quality("poor", 0.1, ["round_trip_differs"]))
            for r in real(*args, **kwargs)
        ]

    monkeypatch.setattr(translations.translation, "translate", poorly)
    if interpreter:
        _interpreter_for(session, school, "es")
    office = _subject(session, demo.OFFICE_EMAIL)
    guardian = session.scalars(
        select(Guardian).where(Guardian.language == "es").order_by(Guardian.id)
    ).first()
    student_id = session.scalars(
        select(StudentGuardian.student_id).where(StudentGuardian.guardian_id == guardian.id)
    ).one()
    thread = messaging.create_thread(
        session, office, ThreadCreate(student_id=student_id, guardian_ids=[guardian.id])
    )
    messaging.post_message(session, office, thread.id, MessageCreate(body=NOTE))
    session.commit()

    received = [m.body for m in twilio.messages if m.to == guardian.phone]
    tasks = list(session.scalars(select(InterpretationTask)))
    if interpreter:
        assert received == [] and [(t.reason, t.language) for t in tasks] == [("poor", "es")]
        assert tasks[0].machine_text  # the machine's try, for the interpreter to correct
    else:
        assert len(received) == 1 and received[0] != NOTE and tasks == []


def test_a_hmong_reply_is_read_for_staff_by_an_interpreter(client, session, school, argos_models):
    office, thread, guardian = _hmong_thread(session, school)
    session.commit()
    params = {
        "MessageSid": "SM" + "7" * 32,
        "From": guardian.phone,
        "To": school.sms_sender,
        "Body": "Kuv tus me nyuam mob hnub no, nws yuav tsis tuaj kawm ntawv.",
    }
    url = get_settings().public_url.rstrip("/") + "/webhooks/twilio/sms"
    signature = RequestValidator(get_settings().webhook_auth_token()).compute_signature(url, params)
    response = client.post(
        "/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 200
    session.expire_all()
    task = session.scalars(select(InterpretationTask)).one()
    assert (task.direction, task.family_language, task.language) == ("inbound", "hmn", "en")

    mai = _interpreter(session, school)
    interpreting.complete(session, mai, task.id, "I will come on Friday.")
    session.commit()
    texts = messaging.translated_texts(session, task.message_id)
    assert texts["en"] == ("translated", "I will come on Friday.")
