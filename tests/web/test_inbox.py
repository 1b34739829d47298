"""The inbox and the thread as each staff member sees them: their own "new" replies, what needs
an answer, "You:" only for their own messages, the filters, "Mark as answered", and the
thread's messages part the page polls."""

import re

import pytest
from sqlalchemy import select

from app.auth.service import load_staff, subject_for_staff
from app.delivery.models import Delivery
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

HTMX = {"hx-request": "true"}


@pytest.fixture
def school_day(session):
    school = SchoolFactory(sms_sender="+15125550100")
    teacher = StaffFactory(schools=[school], name="Ana Rivera")
    office = StaffFactory(schools=[school], role="office", name="Olga Ortiz")
    student = StudentFactory(school=school, given_name="Mateo", family_name="Ruiz")
    SectionFactory(school=school, teachers=[teacher], students=[student])
    guardian = GuardianFactory(students=[student], language="en", given_name="María")
    session.commit()
    who = subject_for_staff(load_staff(session, teacher.id), frozenset({"read", "write", "send"}))
    threads = {}
    for subject in ("Replied", "Quiet"):
        thread = messaging.create_thread(
            session,
            who,
            ThreadCreate(student_id=student.id, guardian_ids=[guardian.id], subject=subject),
        )
        messaging.post_message(session, who, thread.id, MessageCreate(body=f"{subject} note."))
        threads[subject] = thread
    session.commit()
    replied = session.get(Thread, threads["Replied"].id)
    replies.add_reply(session, replied, session.get(School, school.id), guardian, "Thank you!")
    session.commit()
    return {"teacher": teacher, "office": office, "guardian": guardian, **threads}


def _row(page, thread) -> str:
    assert page.status_code == 200, page.text[:500]
    return page.text.split(f'id="thread-{thread.id}"')[1].split("</tr>")[0]


def _listed(page) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="thread-(\d+)"', page.text)]


def test_new_is_each_persons_own_and_you_is_only_ones_own(signed_in, school_day):
    c = school_day
    teacher, office = signed_in(c["teacher"]), signed_in(c["office"])
    for web in (teacher, office):
        row = _row(web.get("/inbox"), c["Replied"])
        assert "New reply" in row and "Needs an answer" in row
    quiet_for_office = _row(office.get("/inbox"), c["Quiet"])
    assert "Ana Rivera:" in quiet_for_office and "You:" not in quiet_for_office
    assert "You:" in _row(teacher.get("/inbox"), c["Quiet"])

    # The teacher opens the thread: no longer new for her, still new for the office, and
    # still waiting for an answer.
    assert teacher.get(f"/threads/{c['Replied'].id}").status_code == 200
    mine = _row(teacher.get("/inbox"), c["Replied"])
    assert "New reply" not in mine and "Needs an answer" in mine
    assert "New reply" in _row(office.get("/inbox"), c["Replied"])


def test_inbox_filters(signed_in, session, school_day):
    c = school_day
    teacher, office = signed_in(c["teacher"]), signed_in(c["office"])
    assert _listed(teacher.get("/inbox?show=needs_answer")) == [c["Replied"].id]
    assert set(_listed(teacher.get("/inbox?show=mine"))) == {c["Replied"].id, c["Quiet"].id}
    assert set(_listed(office.get("/inbox?show=all"))) == {c["Replied"].id, c["Quiet"].id}
    assert _listed(office.get("/inbox?show=mine")) == []  # the office wrote none of them
    assert 'aria-current="page"' in teacher.get("/inbox?show=mine").text
    # Anything else is "all".
    assert set(_listed(teacher.get("/inbox?show=bogus"))) == {c["Replied"].id, c["Quiet"].id}


def test_mark_as_answered_from_the_thread(signed_in, school_day):
    c = school_day
    office = signed_in(c["office"])
    page = office.get(f"/threads/{c['Replied'].id}")
    assert "Mark as answered" in page.text
    done = office.post(f"/threads/{c['Replied'].id}/answered")
    assert done.status_code == 303 and done.headers["location"] == f"/threads/{c['Replied'].id}"
    assert "Mark as answered" not in office.get(f"/threads/{c['Replied'].id}").text
    assert _listed(signed_in(c["teacher"]).get("/inbox?show=needs_answer")) == []
    # Without the form's token nothing changes.
    again = office.post(f"/threads/{c['Quiet'].id}/answered", csrf=False)
    assert again.status_code == 403


def test_the_messages_part_shows_sent_to_and_new_replies_and_polls_while_on_its_way(
    signed_in, session, school_day
):
    c = school_day
    teacher = signed_in(c["teacher"])
    url = f"/threads/{c['Quiet'].id}/messages"
    part = teacher.client.get(url, headers=HTMX)
    assert part.status_code == 200
    assert 'id="messages"' in part.text and "<html" not in part.text
    assert "Sent to 1 family" in part.text
    # Everything delivered: it polls slowly, for replies only.
    assert 'hx-trigger="every 20s"' in part.text

    # A family's reply shows in the part, and a text on its way makes it poll often.
    thread = session.get(Thread, c["Quiet"].id)
    replies.add_reply(
        session, thread, session.get(School, thread.school_id), c["guardian"], "See you then."
    )
    delivery = session.scalar(select(Delivery).order_by(Delivery.id.desc()))
    delivery.status = "queued"
    session.commit()
    session.expire_all()  # the pages share this test's session: read afresh, as a request does
    part = teacher.client.get(url, headers=HTMX)
    assert "See you then." in part.text and 'hx-trigger="every 2s"' in part.text
    # Seen in the open thread, so not new in the inbox.
    assert "New reply" not in _row(teacher.get("/inbox"), c["Quiet"])
