"""A question on a broadcast, end to end through the real Twilio SDK, the Twilio double and the
real SMS webhook: each family gets it in its language with "Reply 1 for Yes, 2 for No", and
answers in any language are tallied."""

import csv
import io
import uuid
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.core.queue import run_job
from app.delivery.models import Delivery
from app.messaging.models import Message
from app.people.models import Guardian
from app.questions.models import Answer
from tests.broadcasts.test_broadcasts import families
from tests.delivery.test_two_way import signed_post
from tests.factories import SchoolFactory, StaffFactory

SENDER = "+15125550100"
LANGUAGES = ["en", "es", "vi", "zh-Hans", "ar", "fr"]
EVENT = {"event": "family_night", "date": "2026-12-10", "time": "6:00 PM", "place": "Gym"}


@pytest.fixture
def school(session):
    return SchoolFactory(sms_sender=SENDER, name="Riverside Elementary")


@pytest.fixture
def office(school):
    return StaffFactory(role="office", schools=[school], ui_language="en")


def _broadcast(client, auth, school, office, question, **extra):
    response = client.post(
        "/api/v1/broadcasts",
        headers=auth("read,send", staff=office),
        json={
            "school_id": school.id,
            "audience": {"whole_school": True},
            "urgent": True,
            "template": "event_reminder",
            "params": EVENT,
            "question": question,
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def _text(client, phone, body):
    response = signed_post(
        client,
        "/webhooks/twilio/sms",
        {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "From": phone,
            "To": SENDER,
            "Body": body,
            "NumMedia": "0",
        },
    )
    assert response.status_code == 200, response.text


def _answers(client, auth, office, broadcast_id):
    response = client.get(
        f"/api/v1/broadcasts/{broadcast_id}/answers", headers=auth("read", staff=office)
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_an_rsvp_to_a_thousand_families_in_six_languages_is_tallied_from_replies_in_any(
    client,
    auth,
    session,
    school,
    office,
    twilio,
    argos_models,
):
    families(session, school, 1000, LANGUAGES)
    broadcast = _broadcast(client, auth, school, office, {"kind": "yes_no"})
    assert len(twilio.messages) == 1000
    by_phone = {m.to: m.body for m in twilio.messages}
    guardians = {
        tag: list(
            session.scalars(
                select(Guardian).where(Guardian.language == tag).order_by(Guardian.id).limit(3)
            )
        )
        for tag in LANGUAGES
    }
    # Each family's text ends with how to answer, in its language, from the catalogs.
    assert by_phone[guardians["en"][0].phone].endswith("Reply 1 for Yes, 2 for No.")
    assert by_phone[guardians["es"][0].phone].endswith("Responda 1 para Sí, 2 para No.")
    assert by_phone[guardians["vi"][0].phone].endswith("Trả lời 1 nếu Có, 2 nếu Không.")
    assert by_phone[guardians["ar"][0].phone].endswith("أرسل 1 للإجابة بنعم، و2 للإجابة بلا.")

    replies = [
        (guardians["en"][0], "1", "yes"),
        (guardians["es"][0], "2", "no"),
        (guardians["es"][1], "sí", "yes"),
        (guardians["vi"][0], "Có", "yes"),
        (guardians["fr"][0], "Oui!", "yes"),
        (guardians["ar"][0], "نعم", "yes"),
        (guardians["ar"][1], "١", "yes"),
        (guardians["en"][1], "yes please", "yes"),
    ]
    maybe = guardians["en"][2]
    for guardian, body, _ in replies:
        _text(client, guardian.phone, body)
    before = len(twilio.messages)
    _text(client, maybe.phone, "maybe?")

    # "maybe?" cannot be read: asked once more, politely, in its language.
    asked_again = twilio.messages[before:]
    assert [(m.to, m.body) for m in asked_again] == [
        (maybe.phone, "Sorry, we could not read your answer. Please reply 1 for Yes or 2 for No.")
    ]
    _text(client, maybe.phone, "not sure yet")  # a second time it is just a message for staff
    assert len(twilio.messages) == before + 1

    found = _answers(client, auth, office, broadcast["id"])
    assert found["asked"] == 1000 and found["answered"] == len(replies)
    assert found["counts"] == {"yes": 7, "no": 1}
    values = {a["guardian_id"]: a["value"] for a in found["answers"]}
    assert values == {g.id: value for g, _, value in replies}
    per_language = {row["language"]: row for row in found["per_language"]}
    assert per_language["ar"]["counts"] == {"yes": 2, "no": 0}
    assert per_language["es"]["answered"] == 2 and per_language["es"]["asked"] == 167
    waiting = {row["guardian_id"] for row in found["not_answered"]}
    assert len(waiting) == 992 and maybe.id in waiting
    assert all(row["phone"] for row in found["not_answered"])

    # The answers are replies too: each stays in the conversation for staff.
    shown = session.scalars(
        select(Message.body).join(Answer, Answer.reply_message_id == Message.id)
    ).all()
    assert {"Oui!", "نعم", "maybe?"} <= set(shown)


def test_a_later_answer_replaces_the_earlier_and_stop_keeps_priority(
    client,
    auth,
    session,
    school,
    office,
    twilio,
    argos_models,
):
    families(session, school, 6, LANGUAGES)
    broadcast = _broadcast(client, auth, school, office, {"kind": "yes_no"})
    english, spanish = (
        session.scalars(select(Guardian).where(Guardian.language == tag)).first()
        for tag in ("en", "es")
    )
    _text(client, spanish.phone, "No")
    _text(client, spanish.phone, "Sí, gracias")
    _text(client, english.phone, "STOP")
    found = _answers(client, auth, office, broadcast["id"])
    assert found["counts"] == {"yes": 1, "no": 0}
    history = session.scalars(
        select(Answer.value).where(Answer.guardian_id == spanish.id).order_by(Answer.id)
    ).all()
    assert history == ["no", "yes"]  # the earlier answer kept as history
    assert english.id in {row["guardian_id"] for row in found["not_answered"]}


def test_a_choice_is_read_by_number_or_by_its_words_and_exported(
    client,
    auth,
    session,
    school,
    office,
    twilio,
    argos_models,
):
    families(session, school, 3, ["en", "es", "ar"])
    broadcast = _broadcast(
        client,
        auth,
        school,
        office,
        {"kind": "choice", "options": ["Thursday", "Friday"]},
    )
    english, spanish, arabic = (
        session.scalars(select(Guardian).where(Guardian.language == tag)).one()
        for tag in ("en", "es", "ar")
    )
    text = {m.to: m.body for m in twilio.messages}[english.phone]
    assert text.endswith("Reply with the number of your choice:\n1. Thursday\n2. Friday")
    _text(client, english.phone, "friday")
    _text(client, arabic.phone, "٢")
    found = _answers(client, auth, office, broadcast["id"])
    assert found["counts"] == {"1": 0, "2": 2}
    assert [o["label"] for o in found["per_option"]] == ["Thursday", "Friday"]
    exported = client.get(
        f"/api/v1/broadcasts/{broadcast['id']}/answers.csv", headers=auth("read", staff=office)
    )
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["guardian"]: r["answer"] for r in rows if r["answer"]} == {
        f"{english.given_name} {english.family_name}": "Friday",
        f"{arabic.given_name} {arabic.family_name}": "Friday",
    }
    assert [r["phone"] for r in rows if not r["answer"]] == [spanish.phone]


def test_a_reminder_goes_only_to_families_who_have_not_answered_and_not_to_opted_out(
    client,
    auth,
    session,
    school,
    office,
    twilio,
    argos_models,
):
    families(session, school, 6, LANGUAGES)
    broadcast = _broadcast(client, auth, school, office, {"kind": "yes_no"})
    answered, stopped = (
        session.scalars(select(Guardian).where(Guardian.language == tag)).first()
        for tag in ("en", "es")
    )
    _text(client, answered.phone, "yes")
    _text(client, stopped.phone, "STOP")
    before = len(twilio.messages)
    # All but the one who answered are reminded; the one who said STOP is planned suppressed.
    assert run_job("broadcasts.remind", broadcast["id"]) == 4
    reminded = Counter(m.to for m in twilio.messages[before:])
    assert answered.phone not in reminded and stopped.phone not in reminded
    assert len(reminded) == 4 and max(reminded.values()) == 1
    spanish_row = session.scalar(
        select(Delivery)
        .where(Delivery.guardian_id == stopped.id)
        .order_by(Delivery.id.desc())
        .limit(1)
    )
    assert spanish_row.status == "suppressed" and spanish_row.body.startswith("Recordatorio:")
    assert run_job("broadcasts.remind", broadcast["id"]) == 0  # once
    # An answer to the reminder counts like one to the broadcast.
    late = session.scalars(select(Guardian).where(Guardian.language == "vi")).first()
    _text(client, late.phone, "Có")
    assert _answers(client, auth, office, broadcast["id"])["counts"]["yes"] == 2
    assert session.scalar(select(func.count()).select_from(Answer)) == 2


def test_a_broadcast_without_a_question_has_no_answers_and_bad_questions_are_refused(
    client, auth, session, school, office
):
    families(session, school, 2, ["en"])
    headers = auth("read,send", staff=office)
    base = {"school_id": school.id, "audience": {"whole_school": True}, "body": "Hello."}
    plain = client.post("/api/v1/broadcasts", headers=headers, json=base).json()
    missing = client.get(f"/api/v1/broadcasts/{plain['id']}/answers", headers=headers)
    assert missing.status_code == 404 and "asks no question" in missing.text
    for question, words in [
        ({"kind": "choice", "options": ["Only one"]}, "at least 2 options"),
        ({"kind": "yes_no", "options": ["a", "b"]}, "has no options"),
        ({"kind": "maybe"}, "kind"),
        ({"kind": "yes_no", "deadline": "2026-12-10T17:00:00"}, "timezone"),
    ]:
        refused = client.post(
            "/api/v1/broadcasts", headers=headers, json={**base, "question": question}
        )
        assert refused.status_code == 422 and words in refused.text, refused.text


def test_a_sign_up_never_gives_more_places_than_it_has(
    client,
    auth,
    session,
    school,
    office,
    twilio,
    argos_models,
):
    families(session, school, 3, ["en", "es", "vi"])
    broadcast = _broadcast(
        client,
        auth,
        school,
        office,
        {"kind": "choice", "options": ["Friday 3 pm", "Friday 4 pm"], "places": [1, 2]},
    )
    english, spanish, vietnamese = (
        session.scalars(select(Guardian).where(Guardian.language == tag)).one()
        for tag in ("en", "es", "vi")
    )
    text = {m.to: m.body for m in twilio.messages}[english.phone]
    assert text.endswith("1. Friday 3 pm (places left: 1)\n2. Friday 4 pm (places left: 2)")
    _text(client, english.phone, "1")
    before = len(twilio.messages)
    _text(client, spanish.phone, "1")  # taken: told what is still open, in Spanish
    told = twilio.messages[before:]
    assert [m.to for m in told] == [spanish.phone]
    assert told[0].body.startswith("Lo sentimos, esa opción está llena. Aún disponibles:")
    assert "2. " in told[0].body and "1. " not in told[0].body
    _text(client, spanish.phone, "2")
    _text(client, english.phone, "2")  # changes its mind: its place at 3 pm is free again
    _text(client, vietnamese.phone, "1")
    found = _answers(client, auth, office, broadcast["id"])
    assert found["counts"] == {"1": 1, "2": 2}
    assert [o["places"] for o in found["per_option"]] == [1, 2]
    assert {a["guardian_id"]: a["value"] for a in found["answers"]} == {
        english.id: "2",
        spanish.id: "2",
        vietnamese.id: "1",
    }
