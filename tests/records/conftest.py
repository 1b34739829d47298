"""A small district for records requests: the shared classroom, where two families share
Mateo's thread and a third family has another child, and a second school with a family of its
own. Texts go to the dev phone, translations through the project's tiny Argos models."""

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from app.core.config import get_settings
from app.delivery.models import Delivery, InboundSms
from app.messaging import replies
from app.messaging.models import Message
from app.messaging.tokens import reply_address
from app.people.models import Guardian, Staff, Student
from app.schools.models import School
from tests.factories import SENDER, GuardianFactory, SchoolFactory, StudentFactory
from tests.scenes import Classroom

OTHER_SENDER = "+15125550199"


@dataclass
class District:
    school: School
    other_school: School
    teacher: Staff
    mateo: Student
    sofia: Student  # Ana's daughter
    marisol: Guardian  # Mateo's mother, Spanish: the family the tests export or delete
    lan: Guardian  # Mateo's other guardian, Vietnamese: shares the thread
    ana: Guardian  # another child's mother at the same school
    far: Guardian  # a family of the other school


@pytest.fixture
def district(session: Session, classroom: Classroom) -> District:
    """The shared classroom (tests/scenes.py), where Marisol gets email as well as texts and
    Ana texts only, and a second school with a family of its own."""
    classroom.marisol.channels = ["sms", "email"]
    classroom.ana.channels = ["sms"]
    other_school = SchoolFactory(sms_sender=OTHER_SENDER, name="Hillcrest Middle")
    far_student = StudentFactory(school=other_school, given_name="Kim", family_name="Park")
    far = GuardianFactory(
        students=[far_student],
        language="es",
        given_name="Rosa",
        family_name="Delgado",
        phone="+15125552004",
    )
    session.commit()
    c = classroom
    return District(
        c.school, other_school, c.teacher, c.mateo, c.sofia, c.marisol, c.lan, c.ana, far
    )


def post_note(
    client,
    auth,
    district: District,
    body: str,
    guardians: list[Guardian],
    *,
    subject: str = "Attendance",
    student: Student | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    headers = auth("read,write,send", staff=district.teacher)
    # Ana's notes are about her daughter; everyone else's about Mateo.
    student = student or (district.sofia if guardians == [district.ana] else district.mateo)
    thread = client.post(
        "/api/v1/threads",
        headers=headers,
        json={
            "student_id": student.id,
            "subject": subject,
            "guardian_ids": [g.id for g in guardians],
        },
    )
    assert thread.status_code == 201, thread.text
    message = client.post(
        f"/api/v1/threads/{thread.json()['id']}/messages", headers=headers, json={"body": body}
    )
    assert message.status_code == 201, message.text
    return thread.json(), message.json()


def text_from(client, session: Session, phone: str, body: str, sid: str) -> InboundSms:
    """A family's text through the real signed webhook."""
    params = {"MessageSid": sid, "From": phone, "To": SENDER, "Body": body}
    url = get_settings().public_url.rstrip("/") + "/webhooks/twilio/sms"
    signature = RequestValidator(get_settings().webhook_auth_token()).compute_signature(url, params)
    response = client.post(
        "/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 200, response.text
    return session.scalars(
        select(InboundSms)
        .where(InboundSms.message_sid == sid)
        .execution_options(populate_existing=True)
    ).one()


def email_reply(session: Session, guardian: Guardian, thread_id: int, body: str) -> Message:
    raw = (
        f"From: {guardian.given_name} {guardian.family_name} <{guardian.email}>\r\n"
        f"To: {reply_address(thread_id)}\r\nSubject: Re: Attendance\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()
    message = replies.receive_email(session, raw)
    session.commit()  # as the webhook's request does: the staff are told after it
    return message


def deliveries_to(session: Session, guardian: Guardian) -> list[Delivery]:
    return list(
        session.scalars(
            select(Delivery)
            .where(Delivery.guardian_id == guardian.id)
            .order_by(Delivery.id)
            .execution_options(populate_existing=True)
        )
    )


def tables_mentioning(session: Session, needle: str) -> dict[str, int]:
    """Every table holding `needle` (case-insensitive) in any column, with how many rows."""
    found: dict[str, int] = {}
    for table in inspect(session.connection()).get_table_names():
        rows = session.execute(text(f"SELECT * FROM {table}")).all()
        hits = sum(1 for row in rows if needle.lower() in " ".join(map(str, row)).lower())
        if hits:
            found[table] = hits
    return found
