# ruff: noqa: F401, F811  (fixtures shared with the two-way and web tests)
"""A family's reply reaches the right person, through the real webhook and the Twilio double:
after a broadcast, a per-family "Re:" thread for its author that the family's teacher sees
too; with a number pool, each staff member's number routes to their conversation; and texts
say who wrote, in the family's language."""

import html
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.audit.models import AuditEvent
from app.broadcasts.models import Broadcast
from app.channels.segments import count_segments
from app.channels.twilio_http import make_client
from app.core.config import get_settings
from app.messaging.models import Message, Thread
from app.schools.models import Enrollment
from tests.delivery.test_two_way import SENDER, post_note, signed_post
from tests.factories import GuardianFactory, StaffFactory, StudentFactory
from tests.web.conftest import signed_in

TEACHER_NUMBER = "+15125550199"
HTMX = {"hx-request": "true"}


class _Room(dict):
    """The shared classroom (tests/scenes.py), its people named as these tests read them."""

    def __getattr__(self, name):
        return self[name]


@pytest.fixture
def classroom(classroom):
    room = _Room(
        school=classroom.school,
        teacher=classroom.teacher,
        student=classroom.mateo,
        mateo=classroom.mateo,
        es=classroom.marisol,
        vi=classroom.lan,
        marisol=classroom.marisol,
        lan=classroom.lan,
        office=classroom.office,
    )
    # These stories are about Mateo's two families only.
    for other in (classroom.ana, classroom.wei):
        other.active = False
    return room


@pytest.fixture
def office(classroom):
    return classroom["office"]


@pytest.fixture
def neighbour(classroom):
    """Another family of the school, who gets the broadcast too."""
    student = StudentFactory(school=classroom["school"], given_name="Lucía", family_name="Soto")
    return GuardianFactory(
        students=[student], language="es", phone="+15125552003", given_name="Rosa"
    )


def send_broadcast(client, auth, school, office) -> int:
    response = client.post(
        "/api/v1/broadcasts",
        headers=auth("read,send", staff=office),
        json={
            "school_id": school.id,
            "audience": {"whole_school": True},
            "title": "Early dismissal",
            "body": "School closes at noon on Friday.",
            "urgent": True,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def text_in(client, sid: str, from_: str, to: str, body: str) -> None:
    params = {"MessageSid": sid, "From": from_, "To": to, "Body": body, "NumMedia": "0"}
    assert signed_post(client, "/webhooks/twilio/sms", params).status_code == 200


def reply_thread(session, body: str) -> Thread:
    message = session.scalar(select(Message).where(Message.body == body))
    assert message is not None, body
    return session.scalar(
        select(Thread)
        .where(Thread.id == message.thread_id)
        .options(selectinload(Thread.guardian_links))
        .execution_options(populate_existing=True)
    )


def listed(client, headers) -> set[int]:
    return {
        t["id"] for t in client.get("/api/v1/threads?limit=100", headers=headers).json()["items"]
    }


def test_reply_to_a_broadcast_opens_a_family_thread_for_the_office_that_the_teacher_sees(
    client,
    auth,
    session,
    classroom,
    office,
    neighbour,
    twilio,
    smtp,
    signed_in,
):
    c = classroom
    teacher_thread, _ = post_note(
        client, auth, c, "Mateo will be absent tomorrow.", guardians=("es",)
    )
    broadcast_id = send_broadcast(client, auth, c["school"], office)
    notice_id = session.get(Broadcast, broadcast_id, populate_existing=True).thread_id
    assert notice_id is not None
    smtp.messages.clear()

    text_in(client, "SM" + "1" * 32, c["es"].phone, SENDER, "Gracias, allí estaré.")
    text_in(client, "SM" + "2" * 32, neighbour.phone, SENDER, "Muchas gracias.")

    maria = reply_thread(session, "Gracias, allí estaré.")
    assert maria.subject == "Re: Early dismissal"
    assert maria.owner_staff_id is None  # the office inbox: an office member sent it
    assert maria.notice_thread_id == notice_id
    assert maria.guardian_ids == [c["es"].id]  # shared with no other family
    rosa = reply_thread(session, "Muchas gracias.")
    assert rosa.id != maria.id and rosa.guardian_ids == [neighbour.id]
    assert rosa.notice_thread_id == notice_id
    inbound_in_notice = session.scalars(
        select(Message).where(Message.thread_id == notice_id, Message.direction == "inbound")
    ).all()
    assert inbound_in_notice == []
    assert teacher_thread["id"] not in {maria.id, rosa.id}
    report = client.get(f"/api/v1/broadcasts/{broadcast_id}", headers=auth("read", staff=office))
    assert report.json()["report"]["replies"] == 2

    # The office sees both families' threads; the teacher sees María's (her child's teacher
    # wrote to her this week) and not Rosa's.
    office_sees = listed(client, auth("read", staff=office))
    teacher_sees = listed(client, auth("read", staff=c["teacher"]))
    assert {maria.id, rosa.id} <= office_sees
    assert maria.id in teacher_sees and rosa.id not in teacher_sees
    told = {
        m["To"]
        for m in smtp.messages
        if "Gracias, allí estaré." in m.get_body(("plain",)).get_content()
    }
    assert told == {c["teacher"].email, office.email}

    # No reply-all: the broadcast's thread takes no note, and its page has no reply box.
    refused = client.post(
        f"/api/v1/threads/{notice_id}/messages",
        headers=auth("read,write,send", staff=office),
        json={"body": "Thanks, everyone"},
    )
    assert refused.status_code == 409
    page = signed_in(office).get(f"/threads/{notice_id}")
    assert page.status_code == 200
    assert f'action="/threads/{notice_id}/reply"' not in page.text
    assert f"/broadcasts/{broadcast_id}" in page.text  # the follow-up is a broadcast action
    own = signed_in(office).get(f"/threads/{maria.id}")
    assert f'action="/threads/{maria.id}/reply"' in own.text
    assert "reply to the school" in signed_in(c["teacher"]).get(f"/threads/{maria.id}").text
    inbox = html.unescape(signed_in(c["teacher"]).get("/inbox").text)
    assert f'href="/threads/{maria.id}"' in inbox
    assert "A family's reply to the school's notice" in inbox
    follow_up = signed_in(office).get(f"/broadcasts/new?follow_up={broadcast_id}")
    assert follow_up.status_code == 200 and "Follow-up: Early dismissal" in follow_up.text

    # The teacher takes it over: the family's next reply reaches them.
    taken = client.post(
        f"/api/v1/threads/{maria.id}/take-over", headers=auth("read,write", staff=c["teacher"])
    )
    assert taken.status_code == 200 and taken.json()["owner_staff_id"] == c["teacher"].id


def test_a_reply_can_be_moved_to_the_right_thread_and_it_is_audited(
    client, auth, session, classroom, office, twilio, signed_in
):
    c = classroom
    teacher_thread, _ = post_note(client, auth, c, "Mateo will be absent tomorrow.", ("es",))
    send_broadcast(client, auth, c["school"], office)
    text_in(client, "SM" + "3" * 32, c["es"].phone, SENDER, "¿Está enfermo otra vez?")
    misplaced = session.scalar(select(Message).where(Message.body == "¿Está enfermo otra vez?"))
    headers = auth("read,write", staff=c["teacher"])
    moved = client.post(
        f"/api/v1/messages/{misplaced.id}/move",
        headers=headers,
        json={"thread_id": teacher_thread["id"]},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["thread_id"] == teacher_thread["id"]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "message.move"))
    assert event is not None and event.details["to_thread_id"] == teacher_thread["id"]
    notice_id = session.scalar(select(Broadcast.thread_id))
    into_broadcast = client.post(
        f"/api/v1/messages/{misplaced.id}/move", headers=headers, json={"thread_id": notice_id}
    )
    assert into_broadcast.status_code in (404, 409)  # never into a broadcast's thread
    # The same from the thread page's "Move this reply to": back to the family's "Re:" thread.
    web = signed_in(office)
    back = session.scalar(select(Thread.id).where(Thread.notice_thread_id == notice_id))
    page = web.get(f"/threads/{teacher_thread['id']}")
    assert f'<option value="{back}">Re: Early dismissal</option>' in page.text
    moved_back = web.post(
        f"/threads/{teacher_thread['id']}/move",
        {"message_id": str(misplaced.id), "to_thread_id": str(back)},
    )
    assert moved_back.status_code == 303
    session.refresh(misplaced)
    assert misplaced.thread_id == back
    outbound = session.scalar(select(Message).where(Message.thread_id == teacher_thread["id"]))
    not_a_reply = client.post(
        f"/api/v1/messages/{outbound.id}/move",
        headers=auth("read,write", staff=office),
        json={"thread_id": misplaced.thread_id},
    )
    assert not_a_reply.status_code == 422


def test_with_a_two_number_pool_each_number_reaches_only_its_conversation(
    client,
    auth,
    session,
    classroom,
    office,
    twilio,
):
    c = classroom
    c["school"].sms_pool = [TEACHER_NUMBER]
    session.flush()
    teacher_thread, note = post_note(
        client, auth, c, "Mateo will be absent tomorrow.", guardians=("es",)
    )
    assert [d["sender"] for d in note["deliveries"]] == [TEACHER_NUMBER]
    assert twilio.messages[-1].from_ == TEACHER_NUMBER
    send_broadcast(client, auth, c["school"], office)
    to_maria = [m for m in twilio.messages if m.to == c["es"].phone]
    assert len(to_maria) == 2 and to_maria[-1].from_ == SENDER

    text_in(client, "SM" + "4" * 32, c["es"].phone, TEACHER_NUMBER, "Sí, tiene fiebre.")
    text_in(client, "SM" + "5" * 32, c["es"].phone, SENDER, "¿A qué hora exactamente?")

    to_teacher = reply_thread(session, "Sí, tiene fiebre.")
    to_office = reply_thread(session, "¿A qué hora exactamente?")
    assert to_teacher.id == teacher_thread["id"]
    assert to_office.subject == "Re: Early dismissal" and to_office.owner_staff_id is None
    teacher_replies = session.scalars(
        select(Message.body).where(
            Message.thread_id == to_teacher.id, Message.direction == "inbound"
        )
    ).all()
    office_replies = session.scalars(
        select(Message.body).where(
            Message.thread_id == to_office.id, Message.direction == "inbound"
        )
    ).all()
    assert teacher_replies == ["Sí, tiene fiebre."]
    assert office_replies == ["¿A qué hora exactamente?"]

    # The number stays the teacher's for this family: the next note goes from it too.
    again = client.post(
        f"/api/v1/threads/{teacher_thread['id']}/messages",
        headers=auth("read,write,send", staff=c["teacher"]),
        json={"body": "Get well soon."},
    )
    assert again.json()["deliveries"][0]["sender"] == TEACHER_NUMBER


@pytest.mark.parametrize(
    ("language", "invitation"),
    [
        ("es", "Puede responder en cualquier idioma."),
        ("vi", "Quý vị có thể trả lời bằng bất kỳ ngôn ngữ nào."),
    ],
)
def test_a_teachers_note_says_who_wrote_and_invites_a_reply_on_the_first_text_only(
    client,
    auth,
    session,
    classroom,
    twilio,
    signed_in,
    language,
    invitation,
):
    c = classroom
    guardian = c[language]
    web = signed_in(c["teacher"])
    # The teacher names themself on the account page: every text begins with it.
    saved = web.post("/settings", {"ui_language": "en", "display_name": " Ms.  Rivera "})
    assert saved.status_code == 303
    session.refresh(c["teacher"])
    assert c["teacher"].display_name == "Ms. Rivera"
    preview = web.client.post(
        "/compose/preview",
        data={
            "csrf_token": web.csrf_token,
            "student_id": c["student"].id,
            "guardian_ids": [guardian.id],
            "body": "Mateo will be absent tomorrow.",
        },
        headers=HTMX,
    )
    assert preview.status_code == 200, preview.text
    shown = re.search(
        r'class="as-sent" data-segments="(\d+)">.*?<p class="text sms"[^>]*>(.*?)</p>',
        preview.text,
        flags=re.S,
    )
    assert shown is not None, preview.text

    thread, _ = post_note(client, auth, c, "Mateo will be absent tomorrow.", (language,))
    first = twilio.messages[-1]
    assert first.to == guardian.phone
    assert first.body.startswith("Ms. Rivera, Riverside Elementary: ")
    assert first.body.endswith("\n" + invitation)
    assert "Mateo will be absent" not in first.body  # translated
    api = make_client(
        get_settings().twilio_account_sid,
        get_settings().twilio_auth_token,
        get_settings().twilio_api_url,
        10,
    )
    received = api.messages(first.sid).fetch()
    assert int(shown.group(1)) == int(received.num_segments)
    assert int(received.num_segments) == count_segments(first.body).segments
    assert html.unescape(shown.group(2)) == first.body

    client.post(
        f"/api/v1/threads/{thread['id']}/messages",
        headers=auth("read,write,send", staff=c["teacher"]),
        json={"body": "Thank you."},
    )
    second = twilio.messages[-1]
    assert second.to == guardian.phone and second.sid != first.sid
    assert second.body.startswith("Ms. Rivera, Riverside Elementary: ")
    assert invitation not in second.body


def test_a_school_can_switch_the_machine_translation_mark_off(
    client, auth, session, classroom, twilio
):
    c = classroom
    post_note(client, auth, c, "Mateo will be absent tomorrow.", ("es",))
    assert twilio.messages[-1].body.endswith(
        "(traducción automática)\nPuede responder en cualquier idioma."
    )
    switched = client.patch(
        f"/api/v1/schools/{c['school'].id}",
        headers=auth("admin"),
        json={"mark_machine_translation": False},
    )
    assert switched.status_code == 200 and switched.json()["mark_machine_translation"] is False
    post_note(client, auth, c, "Mateo will be absent tomorrow.", ("es",))
    assert twilio.messages[-1].body == (
        "Ana Rivera, Riverside Elementary: Mateo va a faltar mañana."
        "\nPuede responder en cualquier idioma."
    )


def test_stop_to_a_pool_number_stops_every_number_of_the_school(
    client, auth, session, classroom, office, twilio
):
    c = classroom
    c["school"].sms_pool = [TEACHER_NUMBER]
    session.flush()
    post_note(client, auth, c, "Mateo will be absent tomorrow.", guardians=("es",))
    text_in(client, "SM" + "6" * 32, c["es"].phone, TEACHER_NUMBER, "ALTO")
    confirmation = twilio.messages[-1]
    assert confirmation.to == c["es"].phone and confirmation.from_ == TEACHER_NUMBER
    assert confirmation.body.startswith("Ya no recibirá mensajes de Riverside Elementary.")
    broadcast_id = send_broadcast(client, auth, c["school"], office)
    report = client.get(f"/api/v1/broadcasts/{broadcast_id}", headers=auth("read", staff=office))
    assert report.json()["report"]["by_status"].get("suppressed") == 1
    after_stop = twilio.messages[twilio.messages.index(confirmation) + 1 :]
    assert after_stop and all(m.to != c["es"].phone for m in after_stop)


def test_a_reply_to_a_teachers_broadcast_is_the_teachers_and_the_preview_names_the_number(
    client, auth, session, classroom, twilio, signed_in
):
    c = classroom
    c["school"].sms_pool = [TEACHER_NUMBER]
    session.flush()
    section_id = session.scalar(
        select(Enrollment.section_id).where(Enrollment.student_id == c["student"].id)
    )
    sent = client.post(
        "/api/v1/broadcasts",
        headers=auth("read,send", staff=c["teacher"]),
        json={
            "school_id": c["school"].id,
            "audience": {"section_ids": [section_id]},
            "title": "Field trip",
            "body": "The field trip is on Friday.",
            "urgent": True,
        },
    )
    assert sent.status_code == 201, sent.text
    text_in(client, "SM" + "7" * 32, c["es"].phone, SENDER, "¿Qué debe llevar?")
    answer = reply_thread(session, "¿Qué debe llevar?")
    assert answer.subject == "Re: Field trip" and answer.owner_staff_id == c["teacher"].id

    web = signed_in(c["teacher"])
    preview = web.client.post(
        f"/threads/{answer.id}/preview",
        data={"csrf_token": web.csrf_token, "body": "A packed lunch."},
        headers=HTMX,
    )
    assert preview.status_code == 200
    assert f"from {TEACHER_NUMBER}" in preview.text  # the teacher's own number of the pool
    # The first text of this conversation: it invites a reply, in Spanish.
    assert "Puede responder en cualquier idioma." in preview.text
