"""Permission slips end to end through the real Twilio SDK, the Twilio double and the real SMS
webhook: yes or no with the guardian's typed full name as a signature, in any language; the
signature, time and channel are recorded, audited, shown and exported; a yes without a name is
asked for one; a reminder goes only to those who have not answered."""

import csv
import html
import io
from collections import Counter

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.core.queue import run_job
from app.people.models import Guardian, Student
from app.questions.models import Answer
from tests.broadcasts.test_broadcasts import families
from tests.factories import StudentFactory, StudentGuardianFactory
from tests.questions.test_rsvp import _answers, _broadcast, _text
from tests.questions.test_rsvp import office as office  # noqa: F401  (fixtures)
from tests.questions.test_rsvp import school as school  # noqa: F401
from tests.web.conftest import signed_in as signed_in  # noqa: F401


def _by_language(session, tag):
    return session.scalars(select(Guardian).where(Guardian.language == tag).order_by(Guardian.id))


def test_a_permission_slip_is_signed_by_reply_recorded_audited_and_exported(
    client, auth, session, school, office, twilio, argos_models, signed_in
):
    families(session, school, 8, ["en", "es", "vi", "fr"])
    broadcast = _broadcast(
        client, auth, school, office, {"kind": "permission"}, title="Zoo field trip"
    )
    english, english2 = _by_language(session, "en").all()
    spanish, spanish2 = _by_language(session, "es").all()
    vietnamese, _ = _by_language(session, "vi").all()
    french, _ = _by_language(session, "fr").all()
    sent = {m.to: m.body for m in twilio.messages}
    assert sent[english.phone].endswith(
        "To give permission, reply 1 and your full name (for example: 1 Maria Lopez). "
        "To refuse, reply 2."
    )
    assert sent[spanish.phone].endswith(
        "Para dar permiso, responda 1 y su nombre completo (por ejemplo: 1 María López). "
        "Para no darlo, responda 2."
    )

    before = len(twilio.messages)
    _text(client, english.phone, "1 Maria Lopez")
    _text(client, spanish.phone, "sí, María López")
    _text(client, french.phone, "2")
    confirmations = {m.to: m.body for m in twilio.messages[before:]}
    assert confirmations == {
        english.phone: "Thank you. Your answer is recorded, signed: Maria Lopez.",
        spanish.phone: "Gracias. Su respuesta quedó registrada, firmada: María López.",
    }

    # Yes without a name: asked for the name in its language; the next reply signs it.
    before = len(twilio.messages)
    _text(client, vietnamese.phone, "Có")
    assert [(m.to, m.body) for m in twilio.messages[before:]] == [
        (vietnamese.phone, "Cảm ơn. Để ký tên, vui lòng trả lời bằng họ tên đầy đủ của quý vị.")
    ]
    assert _answers(client, auth, office, broadcast["id"])["counts"] == {"yes": 2, "no": 1}
    _text(client, vietnamese.phone, "Nguyễn Văn An")
    # Something unreadable: asked once how to answer.
    before = len(twilio.messages)
    _text(client, english2.phone, "what trip?")
    assert [m.body for m in twilio.messages[before:]] == [
        "Sorry, we could not read your answer. Please reply 1 and your full name to give "
        "permission, or 2 to refuse."
    ]

    found = _answers(client, auth, office, broadcast["id"])
    assert found["kind"] == "permission"
    assert found["counts"] == {"yes": 3, "no": 1}
    signed = {
        a["guardian_id"]: (a["value"], a["signature"], a["channel"]) for a in found["answers"]
    }
    assert signed == {
        english.id: ("yes", "Maria Lopez", "sms"),
        spanish.id: ("yes", "María López", "sms"),
        vietnamese.id: ("yes", "Nguyễn Văn An", "sms"),
        french.id: ("no", None, "sms"),
    }
    assert all(a["answered_at"] for a in found["answers"])

    # Every signed answer is in the audit log: who, what, the name, when, how.
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "question.permission")
    ).all()
    audited = {e.actor: e.details for e in events}
    assert audited[f"guardian:{spanish.id}"]["signature"] == "María López"
    assert audited[f"guardian:{spanish.id}"]["channel"] == "sms"
    assert audited[f"guardian:{spanish.id}"]["answered_at"]
    assert audited[f"guardian:{vietnamese.id}"]["signature"] == "Nguyễn Văn An"
    assert len(events) == 4

    exported = client.get(
        f"/api/v1/broadcasts/{broadcast['id']}/answers.csv", headers=auth("read", staff=office)
    )
    rows = {r["guardian_id"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    assert rows[str(spanish.id)]["signature"] == "María López"
    assert rows[str(spanish.id)]["answer"] == "Yes" and rows[str(spanish.id)]["channel"] == "sms"
    assert rows[str(french.id)]["answer"] == "No" and rows[str(french.id)]["signature"] == ""

    # The broadcast's page shows the signatures.
    card = signed_in(office).get(f"/broadcasts/{broadcast['id']}/answers")
    assert card.status_code == 200 and "Signatures" in card.text
    assert "María López" in card.text and "Nguyễn Văn An" in card.text

    # The reminder: only the families who have not signed (the unreadable one included).
    before = len(twilio.messages)
    assert run_job("broadcasts.remind", broadcast["id"]) == 4
    reminded = Counter(m.to for m in twilio.messages[before:])
    assert set(reminded) == {english2.phone, spanish2.phone} | {
        g.phone
        for g in session.scalars(select(Guardian))
        if g.language in ("vi", "fr") and g.id not in (vietnamese.id, french.id)
    }
    assert session.scalar(select(Answer.signature).where(Answer.guardian_id == english.id)) == (
        "Maria Lopez"
    )


def test_answers_are_counted_per_grade_and_class(
    client, auth, session, school, office, twilio, argos_models, signed_in
):
    ids = families(session, school, 6, ["en", "es"])
    kinder = StudentFactory(school=school, grade="K")
    third = StudentFactory(school=school, grade="3")
    guardians = [session.get(Guardian, i) for i in ids]
    for g in guardians[:2]:
        StudentGuardianFactory(student=kinder, guardian=g)
    for g in guardians[2:5]:
        StudentGuardianFactory(student=third, guardian=g)
    broadcast = _broadcast(client, auth, school, office, {"kind": "yes_no"})
    _text(client, guardians[0].phone, "yes")
    _text(client, guardians[2].phone, "no")
    _text(client, guardians[3].phone, "sí")
    found = _answers(client, auth, office, broadcast["id"])
    grades = {row["name"]: row for row in found["per_grade"]}
    assert grades["K"]["asked"] == 2 and grades["K"]["counts"] == {"yes": 1, "no": 0}
    # Every family also has the grade-3 child `families` gives them.
    assert grades["3"]["asked"] == 6 and grades["3"]["counts"] == {"yes": 2, "no": 1}
    assert [row["name"] for row in found["per_grade"]].index("K") < [
        row["name"] for row in found["per_grade"]
    ].index("3")
    assert session.scalar(select(Student.grade).where(Student.id == third.id)) == "3"
    card = signed_in(office).get(f"/broadcasts/{broadcast['id']}/answers").text
    assert "Per grade and class" in card and "Grade K" in card


def test_the_office_composer_offers_a_permission_slip_and_previews_it(
    session, school, office, signed_in, argos_models
):
    families(session, school, 2, ["en", "es"])
    web = signed_in(office)
    composer = web.get("/broadcasts/new")
    assert composer.status_code == 200 and 'value="permission"' in composer.text
    form = {
        "school_id": str(school.id),
        "audience": "whole_school",
        "template": "",
        "body": "The zoo trip is on Friday.",
        "language": "en",
        "when": "now",
        "urgent": "1",
        "question_kind": "permission",
    }
    headers = {"accept": "text/html", "HX-Request": "true", "X-CSRF-Token": web.csrf_token}
    preview = web.client.post("/broadcasts/preview", data=form, headers=headers)
    assert preview.status_code == 200, preview.text
    text = html.unescape(preview.text)
    assert "To give permission, reply 1 and your full name" in text
    assert "Para dar permiso, responda 1 y su nombre completo" in text
    assert '"kind":"permission"' in text
