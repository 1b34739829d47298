# ruff: noqa: F401, F811  (the Twilio double's fixture)
"""The teacher's compose page asks the family a question ("Ask the families", as the broadcast
composer, without a reminder), and the thread page shows the answers under the note."""

import re

from sqlalchemy import select

from app.questions.models import Question
from tests.delivery.conftest import twilio
from tests.delivery.test_family_page import form_secret, link_for
from tests.questions.test_note_question import text


def test_a_teacher_asks_a_question_with_a_note_and_sees_the_answers_under_it(
    session, signed_in, classroom, auth, client, twilio
):
    c = classroom
    web = signed_in(c.teacher)
    page = web.get(f"/compose?student_id={c.mateo.id}")
    assert page.status_code == 200
    assert 'name="question_kind"' in page.text and 'name="question_remind_date"' not in page.text
    response = web.post(
        "/compose",
        {
            "student_id": c.mateo.id,
            "guardian_ids": [c.marisol.id, c.lan.id],
            "subject": "Reading club",
            "body": "Can Mateo stay for the reading club on Friday?",
            "question_kind": "yes_no",
        },
    )
    assert response.status_code == 303, response.text
    thread_id = int(re.fullmatch(r"/threads/(\d+)", response.headers["location"]).group(1))
    question = session.scalar(select(Question))
    assert question is not None and question.kind == "yes_no"
    bodies = {m.to: m.body for m in twilio.messages}
    assert "Responda 1 para Sí, 2 para No." in bodies[c.marisol.phone]

    text(client, c.marisol.phone, "sí")  # by text
    path = link_for(client, auth, c.lan, c.teacher)  # and on the family page
    family = client.get(path)
    posted = client.post(
        f"{path}/answer",
        data={"form_secret": form_secret(family.text), "question_id": question.id, "value": "no"},
        follow_redirects=False,
    )
    assert posted.status_code == 303

    thread = web.get(f"/threads/{thread_id}")
    assert thread.status_code == 200
    card = thread.text[thread.text.index(f'id="answers-{question.message_id}"') :]
    assert "Families who have answered: 2 of 2." in card
    assert re.search(r"Marisol Quintanilla: <span[^>]*>Yes\s*</span>", card)
    assert re.search(r"Lan Nguyễn: <span[^>]*>No\s*</span>", card)


def test_a_bad_question_on_the_compose_page_is_refused_with_the_note_kept(
    session, signed_in, classroom, twilio
):
    c = classroom
    web = signed_in(c.teacher)
    response = web.post(
        "/compose",
        {
            "student_id": c.mateo.id,
            "guardian_ids": [c.marisol.id],
            "body": "Which day suits you?",
            "question_kind": "choice",
            "question_options": "Only one",
        },
    )
    assert response.status_code == 422
    assert "at least 2 options" in response.text
    assert ">Which day suits you?</textarea>" in response.text
    assert 'value="choice" selected' in response.text
    assert session.scalar(select(Question.id)) is None and twilio.messages == []


def test_the_preview_shows_how_to_answer_as_each_family_gets_it(
    session, signed_in, classroom, twilio
):
    c = classroom
    web = signed_in(c.teacher)
    fields = {
        "csrf_token": web.csrf_token,
        "student_id": c.mateo.id,
        "guardian_ids": [c.marisol.id],
        "body": "Can Mateo stay for the reading club on Friday?",
        "question_kind": "yes_no",
    }
    preview = web.client.post("/compose/preview", data=fields, headers={"HX-Request": "true"})
    assert preview.status_code == 200, preview.text
    assert "Responda 1 para Sí, 2 para No." in preview.text
    sent = web.post("/compose", {k: v for k, v in fields.items() if k != "csrf_token"})
    assert sent.status_code == 303
    assert "Responda 1 para Sí, 2 para No." in twilio.messages[-1].body
