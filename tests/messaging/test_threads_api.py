from tests.conftest import count_rows
from tests.factories import (
    GuardianFactory,
    SchoolFactory,
    SectionFactory,
    StaffFactory,
    StudentFactory,
)


def _teacher_with_family():
    school = SchoolFactory()
    teacher = StaffFactory(schools=[school], ui_language="en")
    student = StudentFactory(school=school)
    SectionFactory(school=school, teachers=[teacher], students=[student])
    guardian = GuardianFactory(students=[student], language="es")
    return school, teacher, student, guardian


def test_teacher_starts_a_thread_and_posts_a_note(client, auth, session):
    school, teacher, student, guardian = _teacher_with_family()
    headers = auth("read,write,send", staff=teacher)
    thread = client.post(
        "/api/v1/threads",
        headers=headers,
        json={"student_id": student.id, "guardian_ids": [guardian.id], "subject": "Reading"},
    )
    assert thread.status_code == 201, thread.text
    body = thread.json()
    assert body["owner_staff_id"] == teacher.id and body["school_id"] == school.id
    assert body["guardian_ids"] == [guardian.id]
    posted = client.post(
        f"/api/v1/threads/{body['id']}/messages",
        headers=headers,
        json={"body": "Sofía read a whole chapter today!"},
    )
    assert posted.status_code == 201, posted.text
    message = posted.json()
    assert message["body"] == "Sofía read a whole chapter today!"
    assert message["direction"] == "outbound" and message["kind"] == "note"
    assert message["language"] == "en" and message["author_staff_id"] == teacher.id
    detail = client.get(f"/api/v1/threads/{body['id']}", headers=headers).json()
    assert [m["id"] for m in detail["messages"]] == [message["id"]]


def test_guardian_outside_the_students_family_is_refused(client, auth, session):
    school, teacher, student, _ = _teacher_with_family()
    stranger = GuardianFactory(students=[StudentFactory(school=school)])
    before = count_rows(session, "threads")
    response = client.post(
        "/api/v1/threads",
        headers=auth("admin"),
        json={"student_id": student.id, "guardian_ids": [stranger.id]},
    )
    assert response.status_code == 422
    assert "not in this student's family" in response.json()["error"]["message"]
    assert count_rows(session, "threads") == before


def test_message_body_limits(client, auth, session):
    _, teacher, student, guardian = _teacher_with_family()
    headers = auth("read,write,send", staff=teacher)
    thread_id = client.post(
        "/api/v1/threads",
        headers=headers,
        json={"student_id": student.id, "guardian_ids": [guardian.id]},
    ).json()["id"]
    before = count_rows(session, "messages")
    too_long = client.post(
        f"/api/v1/threads/{thread_id}/messages", headers=headers, json={"body": "x" * 1601}
    )
    assert too_long.status_code == 422
    assert "1600" in too_long.json()["error"]["message"]
    empty = client.post(f"/api/v1/threads/{thread_id}/messages", headers=headers, json={"body": ""})
    assert empty.status_code == 422
    assert count_rows(session, "messages") == before


def test_send_needs_the_send_scope(client, auth):
    _, teacher, student, guardian = _teacher_with_family()
    thread_id = client.post(
        "/api/v1/threads",
        headers=auth("read,write", staff=teacher),
        json={"student_id": student.id, "guardian_ids": [guardian.id]},
    ).json()["id"]
    response = client.post(
        f"/api/v1/threads/{thread_id}/messages",
        headers=auth("read,write", staff=teacher),
        json={"body": "Hi"},
    )
    assert response.status_code == 403


def test_archive_and_filter(client, auth):
    _, teacher, student, guardian = _teacher_with_family()
    headers = auth("read,write", staff=teacher)
    thread_id = client.post(
        "/api/v1/threads",
        headers=headers,
        json={"student_id": student.id, "guardian_ids": [guardian.id]},
    ).json()["id"]
    client.patch(f"/api/v1/threads/{thread_id}", headers=headers, json={"status": "archived"})
    archived = client.get("/api/v1/threads", params={"status": "archived"}, headers=headers).json()
    assert [t["id"] for t in archived["items"]] == [thread_id]
    assert (
        client.get("/api/v1/threads", params={"status": "open"}, headers=headers).json()["total"]
        == 0
    )
