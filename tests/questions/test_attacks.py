"""A question's answers tried as an attacker and an odd user would: other schools' staff and
keys, bad questions, formulas in families' answers, late answers and canceled broadcasts."""

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.core.db import utcnow
from app.core.queue import run_job
from app.delivery.models import Delivery
from app.messaging.models import Message
from app.people.models import Guardian
from app.questions import service as questions
from app.questions.models import Answer, Question
from tests.broadcasts.test_broadcasts import families
from tests.factories import SchoolFactory, StaffFactory
from tests.questions.test_rsvp import SENDER, _broadcast, _text


def _setup(session, client, auth, twilio, question):
    school = SchoolFactory(sms_sender=SENDER, name="Riverside Elementary")
    office = StaffFactory(role="office", schools=[school], ui_language="en")
    families(session, school, 2, ["en"])
    broadcast = _broadcast(client, auth, school, office, question)
    return school, office, broadcast


def test_only_the_schools_office_sees_the_answers_and_phone_numbers(
    client, auth, session, twilio, argos_models
):
    school, office, broadcast = _setup(session, client, auth, twilio, {"kind": "yes_no"})
    other = SchoolFactory(name="Hillside")
    outsiders = {
        "teacher": auth("read", staff=StaffFactory(role="teacher", schools=[school])),
        "other office": auth("read", staff=StaffFactory(role="office", schools=[other])),
        "other school's key": auth("read", school=other),
    }
    for path in ("answers", "answers.csv"):
        url = f"/api/v1/broadcasts/{broadcast['id']}/{path}"
        for who, headers in outsiders.items():
            response = client.get(url, headers=headers)
            assert response.status_code in (403, 404), (who, path, response.text)
            assert "+1" not in response.text, (who, path)
        own = client.get(url, headers=auth("read", school=school))
        assert own.status_code == 200, own.text


def test_bad_questions_are_refused_with_a_clear_message_and_nothing_saved(
    client, auth, session, twilio
):
    school = SchoolFactory(sms_sender=SENDER)
    office = StaffFactory(role="office", schools=[school])
    families(session, school, 1, ["en"])
    base = {"school_id": school.id, "audience": {"whole_school": True}, "body": "Hello."}
    past = (utcnow() - timedelta(days=1)).isoformat()
    for question, words in [
        ({"kind": "choice", "options": ["a\r\nb", "c"]}, "line"),
        ({"kind": "choice", "options": ["a", "b"], "places": [1]}, "places"),
        ({"kind": "choice", "options": ["a", "b"], "places": [0, 1]}, "places"),
        ({"kind": "choice", "options": [str(i) for i in range(20)]}, "9"),
        ({"kind": "choice", "options": ["x" * 61, "b"]}, "60 characters"),
        ({"kind": "yes_no", "deadline": past}, "deadline"),
        ({"kind": "yes_no", "remind_at": "2026-12-10T17:00:00"}, "timezone"),
        ({"kind": "yes_no", "surprise": 1}, "surprise"),
    ]:
        refused = client.post(
            "/api/v1/broadcasts",
            headers=auth("read,send", staff=office),
            json={**base, "question": question},
        )
        assert refused.status_code == 422 and words in refused.text, (question, refused.text)
    assert session.scalar(select(Question.id)) is None


def test_a_formula_answered_by_a_family_is_inert_in_the_csv_and_the_export_is_recorded(
    client, auth, session, twilio, argos_models
):
    school, office, broadcast = _setup(session, client, auth, twilio, {"kind": "text"})
    guardian = session.scalars(select(Guardian).order_by(Guardian.id)).first()
    _text(client, guardian.phone, '=HYPERLINK("http://evil.example","x")')
    exported = client.get(
        f"/api/v1/broadcasts/{broadcast['id']}/answers.csv", headers=auth("read", staff=office)
    )
    rows = {r["guardian_id"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    assert rows[str(guardian.id)]["answer"] == '\'=HYPERLINK("http://evil.example","x")'
    event = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "broadcast.export_answers")
    )
    assert event is not None and event.school_id == school.id


def test_an_answer_sent_before_the_deadline_counts_even_when_read_after_it(
    client, auth, session, twilio, argos_models
):
    school, office, broadcast = _setup(session, client, auth, twilio, {"kind": "yes_no"})
    guardian = session.scalars(select(Guardian).order_by(Guardian.id)).first()
    question = session.scalar(select(Question))
    # The family answers in time; the answer is read (the job ran late) after the deadline.
    message = Message(
        thread_id=session.scalar(select(Message.thread_id)),
        author_guardian_id=guardian.id,
        direction="inbound",
        kind="reply",
        body="yes",
        language="en",
    )
    session.add(message)
    message.created_at = utcnow() - timedelta(minutes=5)
    question.deadline = utcnow() - timedelta(seconds=1)
    session.flush()
    assert questions.read_reply(session, message.id) == "yes"
    # After the deadline, an answer is for staff only: not counted.
    other = session.scalars(select(Guardian).order_by(Guardian.id.desc())).first()
    _text(client, other.phone, "yes")
    assert session.scalar(select(Answer.id).where(Answer.guardian_id == other.id)) is None


def test_no_reminder_for_a_canceled_broadcast(client, auth, session, twilio, argos_models):
    school, office, broadcast = _setup(session, client, auth, twilio, {"kind": "yes_no"})
    headers = auth("read,send", staff=office)
    assert client.post(f"/api/v1/broadcasts/{broadcast['id']}/cancel", headers=headers)
    before = len(twilio.messages)
    run_job("broadcasts.remind", broadcast["id"])
    assert len(twilio.messages) == before


def _answer_of(session, guardian):
    return session.execute(
        select(Answer.question_id, Answer.value).where(Answer.guardian_id == guardian.id)
    ).all()


def test_a_reply_answers_the_question_the_family_got_last_not_one_it_never_got(
    client, auth, session, twilio, argos_models
):
    school, office, first = _setup(
        session, client, auth, twilio, {"kind": "choice", "options": ["Thursday", "Friday"]}
    )
    guardian = session.scalars(select(Guardian).order_by(Guardian.id)).first()
    second = _broadcast(client, auth, school, office, {"kind": "yes_no"})
    # The later question never reached this family (its text was canceled before it left).
    never = session.scalar(
        select(Delivery)
        .join(Question, Question.message_id == Delivery.message_id)
        .where(Question.broadcast_id == second["id"], Delivery.guardian_id == guardian.id)
    )
    never.status = "canceled"
    session.flush()
    _text(client, guardian.phone, "2")
    asked = session.scalar(select(Question.id).where(Question.broadcast_id == first["id"]))
    assert _answer_of(session, guardian) == [(asked, "2")]


def test_a_reply_to_a_reminder_answers_the_reminded_question(
    client, auth, session, twilio, argos_models
):
    school, office, first = _setup(session, client, auth, twilio, {"kind": "yes_no"})
    guardian = session.scalars(select(Guardian).order_by(Guardian.id)).first()
    _broadcast(client, auth, school, office, {"kind": "choice", "options": ["A", "B", "C"]})
    assert run_job("broadcasts.remind", first["id"]) == 2  # the first question, again, later
    _text(client, guardian.phone, "1")
    asked = session.scalar(select(Question.id).where(Question.broadcast_id == first["id"]))
    assert _answer_of(session, guardian) == [(asked, "yes")]
