"""A question on a teacher's one-to-one note, end to end through the real Twilio SDK, the Twilio
double and the real SMS webhook: the family's text ends with how to answer in its language, its
reply is recorded as the answer (and still reaches the teacher as a reply), an unreadable one is
asked again once, and the answers are read through the thread's API."""

import uuid
from datetime import timedelta

from sqlalchemy import select

from app.core.db import utcnow
from app.messaging.models import Message
from app.questions.models import Answer, Question
from tests.delivery.test_two_way import post_note, signed_post
from tests.factories import SENDER


def text(client, phone, body):
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


def answers(client, auth, classroom, thread_id, message_id):
    response = client.get(
        f"/api/v1/threads/{thread_id}/messages/{message_id}/answers",
        headers=auth("read", staff=classroom.teacher),
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_yes_no_question_on_a_note_is_answered_by_text_in_any_language(
    client, auth, session, classroom, twilio
):
    thread, message = post_note(
        client,
        auth,
        classroom,
        "Can Mateo stay for the reading club on Friday?",
        question={"kind": "yes_no"},
    )
    bodies = {m.to: m.body for m in twilio.messages}
    # After the note: how to answer, in each family's language (then its family page's link).
    assert "\n\nResponda 1 para Sí, 2 para No." in bodies[classroom.marisol.phone]
    assert bodies[classroom.marisol.phone].startswith("Ana Rivera, Riverside Elementary: ")
    assert "\n\nTrả lời 1 nếu Có, 2 nếu Không." in bodies[classroom.lan.phone]
    question = session.scalar(select(Question).where(Question.message_id == message["id"]))
    assert question is not None and question.kind == "yes_no" and question.broadcast_id is None

    text(client, classroom.marisol.phone, "sí")
    before = len(twilio.messages)
    text(client, classroom.lan.phone, "hmm?")
    # Unreadable: asked once more, in Vietnamese, how to answer; the second time, a message.
    again = twilio.messages[before:]
    assert [m.to for m in again] == [classroom.lan.phone]
    assert "1" in again[0].body and "2" in again[0].body
    text(client, classroom.lan.phone, "not sure yet")
    assert len(twilio.messages) == before + 1

    found = answers(client, auth, classroom, thread["id"], message["id"])
    assert found["kind"] == "yes_no" and found["asked"] == 2 and found["answered"] == 1
    assert found["counts"] == {"yes": 1, "no": 0}
    assert [(a["guardian_id"], a["value"], a["text"], a["channel"]) for a in found["answers"]] == [
        (classroom.marisol.id, "yes", "sí", "sms")
    ]
    assert [w["guardian_id"] for w in found["not_answered"]] == [classroom.lan.id]
    # The answer is still a reply in the thread, as the teacher reads it.
    replies = session.scalars(
        select(Message.body).where(
            Message.thread_id == thread["id"], Message.direction == "inbound"
        )
    ).all()
    assert "sí" in replies and "hmm?" in replies

    # A later answer replaces the earlier one.
    text(client, classroom.marisol.phone, "2")
    found = answers(client, auth, classroom, thread["id"], message["id"])
    assert found["counts"] == {"yes": 0, "no": 1}
    assert session.scalar(
        select(Answer.id).where(Answer.guardian_id == classroom.marisol.id, Answer.value == "yes")
    )


def test_a_choice_on_a_note_with_a_deadline(client, auth, session, classroom, twilio):
    deadline = (utcnow() + timedelta(days=3)).isoformat()
    thread, message = post_note(
        client,
        auth,
        classroom,
        "Which day suits you for a short call?",
        guardians=("marisol",),
        question={"kind": "choice", "options": ["Monday", "Tuesday"], "deadline": deadline},
    )
    body = twilio.messages[-1].body
    assert "1. " in body and "2. " in body
    text(client, classroom.marisol.phone, "2")
    found = answers(client, auth, classroom, thread["id"], message["id"])
    assert found["counts"] == {"1": 0, "2": 1}
    assert [o["label"] for o in found["per_option"]] == ["Monday", "Tuesday"]


def test_bad_questions_on_a_note_are_refused_and_nothing_is_sent(
    client, auth, session, classroom, twilio
):
    headers = auth("read,write,send", staff=classroom.teacher)
    thread = client.post(
        "/api/v1/threads",
        headers=headers,
        json={"student_id": classroom.mateo.id, "guardian_ids": [classroom.marisol.id]},
    ).json()
    for question, words in (
        ({"kind": "choice", "options": ["Only one"]}, "at least 2 options"),
        ({"kind": "maybe"}, "kind"),
        ({"kind": "yes_no", "deadline": "2020-01-01T00:00:00Z"}, "deadline has passed"),
        (
            {"kind": "yes_no", "remind_at": (utcnow() + timedelta(days=1)).isoformat()},
            "no reminder",
        ),
    ):
        response = client.post(
            f"/api/v1/threads/{thread['id']}/messages",
            headers=headers,
            json={"body": "Will you come?", "question": question},
        )
        assert response.status_code == 422, response.text
        assert words in response.text
    assert twilio.messages == []
    assert session.scalar(select(Question.id)) is None
    assert session.scalar(select(Message.id).where(Message.thread_id == thread["id"])) is None


def test_answers_of_a_note_only_for_who_sees_the_thread(client, auth, session, classroom, twilio):
    thread, message = post_note(
        client, auth, classroom, "Will you come?", question={"kind": "yes_no"}
    )
    other = client.get(
        f"/api/v1/threads/{thread['id']}/messages/{message['id']}/answers",
        headers=auth("read", staff=classroom.colleague),
    )
    assert other.status_code == 404
    _, plain = post_note(client, auth, classroom, "Thank you!")
    none = client.get(
        f"/api/v1/threads/{thread['id']}/messages/{plain['id']}/answers",
        headers=auth("read", staff=classroom.teacher),
    )
    assert none.status_code == 404
