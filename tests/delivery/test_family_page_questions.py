# ruff: noqa: F401, F811  (fixtures shared with the two-way tests)
"""The family page answers a question with buttons: a yes/no, a choice with its places left, a
number, a permission slip with its typed name. An answer is recorded exactly as a text answering
it (the same service), reaches staff as a reply and in the answers, and can be changed. Another
family's question cannot be answered from a link (a bare 404); a bad answer gets a message in
the family's language and nothing is saved."""

import re
from datetime import timedelta

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.core.config import get_settings
from app.core.db import utcnow
from app.messaging.models import Message
from app.questions.models import Answer, Question
from tests.delivery.test_family_page import form_secret, link_for
from tests.delivery.test_reply_routing import classroom, office
from tests.delivery.test_two_way import SENDER, post_note, signed_post


def answer(client, path, question_id, **fields):
    page = client.get(path)
    assert page.status_code == 200
    return client.post(
        f"{path}/answer",
        data={"form_secret": form_secret(page.text), "question_id": str(question_id), **fields},
        follow_redirects=False,
    )


def staff_answers(client, auth, classroom, thread, message):
    response = client.get(
        f"/api/v1/threads/{thread['id']}/messages/{message['id']}/answers",
        headers=auth("read", staff=classroom.teacher),
    )
    assert response.status_code == 200, response.text
    return response.json()


def question_of(session, message):
    return session.scalar(select(Question).where(Question.message_id == message["id"]))


def test_a_yes_no_question_is_answered_with_a_button_and_can_be_changed(
    client, auth, session, classroom, office, twilio
):
    c = classroom
    thread, message = post_note(
        client, auth, c, "Can Mateo stay for the reading club?", question={"kind": "yes_no"}
    )
    question = question_of(session, message)
    path = link_for(client, auth, c.marisol, office)
    page = client.get(path).text
    # Big buttons in the family's language, in plain forms (no script needed).
    assert f'action="{path}/answer"' in page
    assert re.search(
        r'<button type="submit" class="choice" name="value" value="yes">Sí</button>', page
    )
    assert 'value="no">No</button>' in page

    response = answer(client, path, question.id, value="yes")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{path}#m{message['id']}"
    page = client.get(path).text
    assert "Gracias. Su respuesta: Sí" in page and "Cambiar su respuesta" in page

    found = staff_answers(client, auth, c, thread, message)
    assert found["counts"] == {"yes": 1, "no": 0}
    assert [(a["guardian_id"], a["value"], a["channel"]) for a in found["answers"]] == [
        (c.marisol.id, "yes", "page")
    ]
    # The answer reaches the teacher as a reply in the thread, read once (not twice).
    reply = session.scalar(
        select(Message).where(Message.thread_id == thread["id"], Message.direction == "inbound")
    )
    assert reply is not None and reply.body == "Sí" and reply.author_guardian_id == c.marisol.id
    assert session.scalar(select(func.count(Answer.id))) == 1

    # Changed with the other button: the earlier answer is kept as history.
    assert answer(client, path, question.id, value="no").status_code == 303
    assert "Gracias. Su respuesta: No" in client.get(path).text
    found = staff_answers(client, auth, c, thread, message)
    assert found["counts"] == {"yes": 0, "no": 1}
    assert session.scalar(select(func.count(Answer.id))) == 2


def test_a_bad_answer_is_refused_in_the_familys_language_and_nothing_is_saved(
    client, auth, session, classroom, office, twilio
):
    c = classroom
    thread, message = post_note(
        client,
        auth,
        c,
        "Which day suits you?",
        guardians=("marisol",),
        question={"kind": "choice", "options": ["Monday", "Tuesday"]},
    )
    question = question_of(session, message)
    path = link_for(client, auth, c.marisol, office)
    for value in ("3", "0", "yes", "", "1; DROP TABLE"):
        response = answer(client, path, question.id, value=value)
        assert response.status_code == 422, value
        assert "Elija una de las respuestas que se muestran." in response.text
    assert session.scalar(select(func.count(Answer.id))) == 0
    inbound = select(func.count(Message.id)).where(Message.direction == "inbound")
    assert session.scalar(inbound) == 0
    # Without the form's secret: refused, nothing saved.
    forged = client.post(f"{path}/answer", data={"question_id": question.id, "value": "1"})
    assert forged.status_code == 403
    assert session.scalar(select(func.count(Answer.id))) == 0
    # A good one.
    assert answer(client, path, question.id, value="2").status_code == 303
    assert staff_answers(client, auth, c, thread, message)["counts"] == {"1": 0, "2": 1}


def test_another_familys_question_cannot_be_answered_from_a_link(
    client, auth, session, classroom, office, twilio
):
    c = classroom
    _, to_marisol = post_note(
        client, auth, c, "Will you come?", guardians=("marisol",), question={"kind": "yes_no"}
    )
    _, to_lan = post_note(
        client, auth, c, "Will you come?", guardians=("lan",), question={"kind": "yes_no"}
    )
    theirs = question_of(session, to_lan)
    path = link_for(client, auth, c.marisol, office)
    assert f'name="question_id" value="{theirs.id}"' not in client.get(path).text
    for question_id in (str(theirs.id), "999999", "abc", ""):
        response = answer(client, path, question_id, value="yes")
        assert response.status_code == 404 and response.text == "Not Found"
    assert session.scalar(select(func.count(Answer.id))) == 0


def test_a_sign_up_shows_places_left_and_a_full_choice_cannot_be_taken(
    client, auth, session, classroom, office, twilio
):
    c = classroom
    thread, message = post_note(
        client,
        auth,
        c,
        "Who can help at the book fair?",
        question={"kind": "choice", "options": ["Morning", "Afternoon"], "places": [1, 5]},
    )
    question = question_of(session, message)
    marisol = link_for(client, auth, c.marisol, office)
    lan = link_for(client, auth, c.lan, office)
    assert answer(client, marisol, question.id, value="1").status_code == 303
    page = client.get(lan).text
    assert re.search(r'value="1" disabled>', page)  # full: no button to press
    refused = answer(client, lan, question.id, value="1")
    assert refused.status_code == 422
    assert session.scalar(select(func.count(Answer.id))) == 1
    assert answer(client, lan, question.id, value="2").status_code == 303
    assert staff_answers(client, auth, c, thread, message)["counts"] == {"1": 1, "2": 1}


def test_a_number_and_a_permission_slip_from_the_page(
    client, auth, session, classroom, office, twilio
):
    c = classroom
    thread, count = post_note(
        client, auth, c, "How many will come?", guardians=("marisol",), question={"kind": "number"}
    )
    _, slip = post_note(
        client,
        auth,
        c,
        "May Mateo go to the museum?",
        guardians=("marisol",),
        question={"kind": "permission"},
    )
    path = link_for(client, auth, c.marisol, office)
    page = client.get(path).text
    assert 'type="number"' in page and "Escriba su nombre completo para firmar" in page

    number = question_of(session, count)
    bad = answer(client, path, number.id, value="muchos")
    assert bad.status_code == 422 and "Escriba un número." in bad.text
    assert answer(client, path, number.id, value="3").status_code == 303
    assert staff_answers(client, auth, c, thread, count)["answers"][0]["value"] == "3"

    permission = question_of(session, slip)
    unsigned = answer(client, path, permission.id, value="yes", signature="  ")
    assert unsigned.status_code == 422
    assert "Para dar permiso, escriba su nombre completo." in unsigned.text
    assert (
        session.scalar(select(func.count(Answer.id)).where(Answer.question_id == permission.id))
        == 0
    )
    signed = answer(client, path, permission.id, value="yes", signature="Marisol Quintanilla")
    assert signed.status_code == 303
    recorded = session.scalar(select(Answer).where(Answer.question_id == permission.id))
    assert recorded.value == "yes" and recorded.signature == "Marisol Quintanilla"
    assert recorded.current and recorded.channel == "page"
    assert "Gracias. Su respuesta: Sí (Marisol Quintanilla)" in client.get(path).text
    audited = session.scalar(select(AuditEvent).where(AuditEvent.action == "question.permission"))
    assert audited is not None and audited.details["signature"] == "Marisol Quintanilla"


def test_answers_from_the_page_count_against_the_links_replies_and_close_at_the_deadline(
    client, auth, session, classroom, office, twilio
):
    c = classroom
    _, message = post_note(
        client, auth, c, "Will you come?", guardians=("marisol",), question={"kind": "yes_no"}
    )
    question = question_of(session, message)
    path = link_for(client, auth, c.marisol, office)
    limit = get_settings().family_page_replies_per_hour
    for n in range(limit):
        value = "yes" if n % 2 == 0 else "no"
        assert answer(client, path, question.id, value=value).status_code == 303
    answers_before = session.scalar(select(func.count(Answer.id)))
    refused = answer(client, path, question.id, value="yes" if limit % 2 else "no")
    assert refused.status_code == 429
    assert session.scalar(select(func.count(Answer.id))) == answers_before

    question.deadline = utcnow() - timedelta(minutes=1)
    session.commit()
    page = client.get(path).text
    assert "Esta pregunta está cerrada." in page
    assert f'name="question_id" value="{question.id}"' not in page
    late = answer(client, path, question.id, value="yes")
    assert late.status_code == 422
    assert session.scalar(select(func.count(Answer.id))) == answers_before
