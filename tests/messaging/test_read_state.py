"""Read state through the API: "new" is each staff member's own, "needs an answer" clears only
when a staff member answers or marks it done, never for an integration key's message."""

import pytest

from app.auth.service import load_staff, subject_for_staff
from app.messaging import replies
from app.messaging import service as messaging
from app.messaging.models import Thread
from app.messaging.schemas import MessageCreate, ThreadCreate
from app.schools.models import School
from tests.factories import (
    GuardianFactory,
    SchoolFactory,
    SectionFactory,
    StaffFactory,
    StudentFactory,
)

SCOPES = "read,write,send"


@pytest.fixture
def conversation(session):
    school = SchoolFactory(sms_sender="+15125550100")
    teacher = StaffFactory(schools=[school], name="Ana Rivera")
    office = StaffFactory(schools=[school], role="office", name="Olga Office")
    student = StudentFactory(school=school)
    SectionFactory(school=school, teachers=[teacher], students=[student])
    guardian = GuardianFactory(students=[student], language="en")
    session.commit()
    who = subject_for_staff(load_staff(session, teacher.id), frozenset(SCOPES.split(",")))
    thread = messaging.create_thread(
        session, who, ThreadCreate(student_id=student.id, guardian_ids=[guardian.id])
    )
    messaging.post_message(session, who, thread.id, MessageCreate(body="Field trip Friday."))
    session.commit()
    return {
        "school": school,
        "teacher": teacher,
        "office": office,
        "guardian": guardian,
        "thread": thread,
    }


def _reply(session, c, body="Is lunch included?"):
    thread = session.get(Thread, c["thread"].id)
    replies.add_reply(session, thread, session.get(School, thread.school_id), c["guardian"], body)
    session.commit()


def _state(client, headers, thread_id) -> dict:
    response = client.get(f"/api/v1/threads/{thread_id}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return {"unread": body["unread"], "needs_answer": body["needs_answer"]}


def test_an_integration_keys_message_does_not_clear_needs_an_answer(
    client, auth, session, conversation
):
    c = conversation
    teacher = auth(SCOPES, staff=c["teacher"])
    integration = auth(SCOPES, school=c["school"])
    thread_id = c["thread"].id
    assert _state(client, teacher, thread_id) == {"unread": False, "needs_answer": False}

    _reply(session, c)
    assert _state(client, teacher, thread_id) == {"unread": True, "needs_answer": True}

    posted = client.post(
        f"/api/v1/threads/{thread_id}/messages",
        json={"body": "Automatic reminder: picture day is Monday."},
        headers=integration,
    )
    assert posted.status_code == 201, posted.text
    assert _state(client, teacher, thread_id)["needs_answer"] is True
    # A key that acts as no one cannot mark it answered either, and has nothing "new".
    refused = client.post(f"/api/v1/threads/{thread_id}/answered", headers=integration)
    assert refused.status_code == 403
    assert _state(client, integration, thread_id) == {"unread": False, "needs_answer": True}
    listed = client.get("/api/v1/threads", params={"needs_answer": True}, headers=teacher)
    assert [t["id"] for t in listed.json()["items"]] == [thread_id]

    # The teacher answers: nothing needs an answer, for anyone.
    answered = client.post(
        f"/api/v1/threads/{thread_id}/messages", json={"body": "Yes, it is."}, headers=teacher
    )
    assert answered.status_code == 201, answered.text
    assert _state(client, teacher, thread_id) == {"unread": False, "needs_answer": False}
    listed = client.get("/api/v1/threads", params={"needs_answer": True}, headers=teacher)
    assert listed.json()["items"] == []


def test_new_is_per_staff_member_and_done_is_a_staff_members_call(
    client, auth, session, conversation
):
    c = conversation
    teacher = auth(SCOPES, staff=c["teacher"])
    office = auth(SCOPES, staff=c["office"])
    thread_id = c["thread"].id
    _reply(session, c)
    assert _state(client, teacher, thread_id)["unread"] is True
    assert _state(client, office, thread_id)["unread"] is True

    # The office reads it: new no more for the office, still new for the teacher.
    read = client.post(f"/api/v1/threads/{thread_id}/read", headers=office)
    assert read.status_code == 200 and read.json()["unread"] is False
    assert _state(client, office, thread_id) == {"unread": False, "needs_answer": True}
    assert _state(client, teacher, thread_id) == {"unread": True, "needs_answer": True}
    unread = client.get("/api/v1/threads", params={"unread": True}, headers=teacher)
    assert [t["id"] for t in unread.json()["items"]] == [thread_id]
    assert (
        client.get("/api/v1/threads", params={"unread": True}, headers=office).json()["items"] == []
    )

    # The office marks it answered; a later reply is new to both and needs an answer again.
    done = client.post(f"/api/v1/threads/{thread_id}/answered", headers=office)
    assert done.status_code == 200 and done.json()["needs_answer"] is False
    assert _state(client, teacher, thread_id) == {"unread": True, "needs_answer": False}
    _reply(session, c, "One more question.")
    assert _state(client, office, thread_id) == {"unread": True, "needs_answer": True}
    assert _state(client, teacher, thread_id) == {"unread": True, "needs_answer": True}
