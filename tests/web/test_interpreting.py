"""The interpreting pages: an interpreter's tasks by language and the text that replaces the
machine's; what the interpreter role may not open; asking an interpreter from a thread; the
languages staff interpret (settings, staff form); a broadcast report's call list."""

import pytest
from sqlalchemy import select

from app.auth.service import load_staff, subject_for_staff
from app.delivery.models import Delivery
from app.messaging import service as messaging
from app.messaging.models import InterpretationTask, Message, MessageTranslation
from app.messaging.schemas import MessageCreate, ThreadCreate
from app.people.models import Staff, StaffLanguage
from tests.factories import (
    GuardianFactory,
    SchoolFactory,
    SectionFactory,
    StaffFactory,
    StudentFactory,
)

NOTE = "The library is closed on Friday."
HMONG = "Lub tsev qiv ntawv kaw hnub Friday."


@pytest.fixture
def world(session):
    school = SchoolFactory(name="Riverside", sms_sender="+15125550100")
    teacher = StaffFactory(schools=[school], name="Ms. Lee")
    office = StaffFactory(role="office", schools=[school])
    mai = StaffFactory(role="interpreter", schools=[school], name="Mai Xiong")
    session.add(StaffLanguage(staff_id=mai.id, language="hmn"))
    student = StudentFactory(school=school, given_name="Kou", family_name="Vang")
    SectionFactory(school=school, teachers=[teacher], students=[student])
    hmong = GuardianFactory(students=[student], language="hmn", given_name="Pa", family_name="Vang")
    somali_student = StudentFactory(school=school, given_name="Hamza", family_name="Abdi")
    SectionFactory(school=school, teachers=[teacher], students=[somali_student])
    somali = GuardianFactory(students=[somali_student], language="so", given_name="Amina")
    session.commit()
    subject = subject_for_staff(load_staff(session, teacher.id), frozenset({"read", "write"}))
    threads = {}
    for guardian, student_id in ((hmong, student.id), (somali, somali_student.id)):
        thread = messaging.create_thread(
            session, subject, ThreadCreate(student_id=student_id, guardian_ids=[guardian.id])
        )
        messaging.post_message(session, subject, thread.id, MessageCreate(body=NOTE))
        threads[guardian.language] = thread
    session.commit()
    tasks = {t.family_language: t for t in session.scalars(select(InterpretationTask))}
    return {"teacher": teacher, "office": office, "mai": mai, "hmong": hmong, "somali": somali,
            "threads": threads, "tasks": tasks, "school": school}  # fmt: skip


def test_the_interpreter_lists_their_tasks_and_their_text_is_what_is_sent(
    signed_in, session, world
):
    web = signed_in(world["mai"])
    home = web.client.get("/", follow_redirects=False)
    assert home.headers["location"] == "/interpreting"
    page = web.get("/interpreting")
    assert page.status_code == 200
    assert "Hmong" in page.text and NOTE in page.text
    assert "Somali" not in page.text  # not one of her languages
    task = world["tasks"]["hmn"]
    form = web.get(f"/interpreting/{task.id}")
    assert form.status_code == 200 and NOTE in form.text and 'name="text"' in form.text

    empty = web.post(f"/interpreting/{task.id}", {"text": "  "})
    assert empty.status_code == 422 and "Write the translation" in empty.text
    saved = web.post(f"/interpreting/{task.id}", {"text": HMONG})
    assert saved.status_code == 303 and saved.headers["location"] == "/interpreting?done=1"

    session.expire_all()
    body = session.scalars(
        select(Delivery.body).where(Delivery.message_id == task.message_id)
    ).one()
    assert HMONG in body  # under who wrote it
    done = session.get(InterpretationTask, task.id)
    assert (done.status, done.done_by_staff_id) == ("done", world["mai"].id)


def test_an_interpreter_opens_no_thread_family_or_task_outside_their_languages(
    signed_in, session, world, auth
):
    web = signed_in(world["mai"])
    thread = world["threads"]["hmn"]
    assert web.get(f"/threads/{thread.id}").status_code == 404  # even her task's thread
    assert web.get(f"/threads/{world['threads']['so'].id}").status_code == 404
    assert web.get(f"/interpreting/{world['tasks']['so'].id}").status_code == 404
    assert web.post(f"/interpreting/{world['tasks']['so'].id}", {"text": "x"}).status_code == 404
    assert web.get(f"/families/{world['hmong'].id}").status_code == 403
    assert "Vang" not in web.get("/inbox").text
    key = auth("read,write", staff=world["mai"])
    assert web.client.get(f"/api/v1/guardians/{world['hmong'].id}", headers=key).status_code == 404
    assert web.client.get(f"/api/v1/threads/{thread.id}", headers=key).status_code == 404
    listed = web.client.get("/api/v1/guardians", headers=key).json()
    assert listed["items"] == []


def test_a_teacher_asks_an_interpreter_about_a_reply_from_the_thread(signed_in, session, world):
    thread = world["threads"]["hmn"]
    reply = Message(
        thread_id=thread.id,
        direction="inbound",
        kind="reply",
        author_guardian_id=world["hmong"].id,
        body="Ua tsaug",
        language="hmn",
    )
    session.add(reply)
    session.flush()
    session.add(
        MessageTranslation(message_id=reply.id, language="en", status="translated", text="Yes")
    )
    session.commit()
    web = signed_in(world["teacher"])
    page = web.get(f"/threads/{thread.id}")
    assert "Ask an interpreter" in page.text and "Waiting for an interpreter" in page.text
    asked = web.post(f"/threads/{thread.id}/messages/{reply.id}/interpreter", {"language": "en"})
    assert asked.status_code == 303
    task = session.scalars(
        select(InterpretationTask).where(InterpretationTask.message_id == reply.id)
    ).one()
    assert (task.reason, task.language, task.family_language) == ("requested", "en", "hmn")
    assert task.requested_by_staff_id == world["teacher"].id
    # The thread says so where the button was, instead of offering to ask again.
    action = f'action="/threads/{thread.id}/messages/{reply.id}/interpreter"'
    assert action in page.text
    after = web.get(f"/threads/{thread.id}").text
    article = after[after.index(f'id="m{reply.id}"') :].split("</article>")[0]
    assert action not in after and "Waiting for an interpreter" in article
    # A teacher does not work on the interpreting pages.
    assert web.get("/interpreting").status_code == 403
    # The office sees every open task of its school.
    office = signed_in(world["office"]).get("/interpreting")
    assert office.status_code == 200 and "Hmong" in office.text and "Somali" in office.text


def test_staff_say_which_languages_they_interpret(signed_in, session, world):
    web = signed_in(world["mai"])
    saved = web.post("/settings", {"ui_language": "en", "interprets": "hmn, vi"})
    assert saved.status_code == 303
    session.expire_all()
    assert _languages(session, world["mai"]) == ["hmn", "vi"]
    bad = web.post("/settings", {"ui_language": "en", "interprets": "hmn, not a language!"})
    assert bad.status_code == 422

    admin = signed_in(StaffFactory(role="admin"))
    form = admin.get(f"/admin/staff/{world['teacher'].id}")
    assert 'name="interprets"' in form.text
    done = admin.post(
        f"/admin/staff/{world['teacher'].id}",
        {"name": "Ms. Lee", "email": world["teacher"].email, "role": "teacher",
         "ui_language": "en", "school_ids": str(world["school"].id), "interprets": "so"},
    )  # fmt: skip
    assert done.status_code == 303
    session.expire_all()
    assert _languages(session, world["teacher"]) == ["so"]


def _languages(session, staff: Staff) -> list[str]:
    return sorted(
        session.scalars(select(StaffLanguage.language).where(StaffLanguage.staff_id == staff.id))
    )


def test_a_teacher_asks_an_interpreter_before_a_reply_goes(signed_in, session, world, argos_models):
    spanish = GuardianFactory(students=[StudentFactory(school=world["school"])], language="es")
    session.commit()
    subject = subject_for_staff(load_staff(session, world["office"].id), frozenset({"read"}))
    thread = messaging.create_thread(
        session, subject, ThreadCreate(guardian_ids=[spanish.id], school_id=world["school"].id)
    )
    session.commit()
    web = signed_in(world["office"])
    sent = web.post(f"/threads/{thread.id}/reply", {"body": NOTE, "ask_interpreter": "1"})
    assert sent.status_code == 303
    task = session.scalars(
        select(InterpretationTask).where(InterpretationTask.family_language == "es")
    ).one()
    session.refresh(task)
    assert task.reason == "requested" and task.machine_text  # the machine's try, to correct
    delivery = session.scalars(select(Delivery).where(Delivery.message_id == task.message_id)).one()
    assert delivery.body is None and delivery.status == "queued"  # waits for the interpreter
    done = web.post(f"/interpreting/{task.id}", {"text": "La biblioteca cierra el viernes."})
    assert done.status_code == 303
    session.refresh(delivery)
    assert "La biblioteca cierra el viernes." in delivery.body
