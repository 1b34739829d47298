from tests.conftest import count_rows
from tests.factories import SchoolFactory, StaffFactory, StudentFactory


def test_school_crud_and_audit(client, auth, session):
    headers = auth("admin")
    created = client.post(
        "/api/v1/schools",
        headers=headers,
        json={
            "name": "Lincoln Middle",
            "timezone": "America/Denver",
            "default_language": "es",
            "sms_sender": "+15125550111",
            "quiet_hours_start": "20:00",
            "quiet_hours_end": "07:00",
        },
    )
    assert created.status_code == 201, created.text
    school = created.json()
    assert school["timezone"] == "America/Denver"
    assert school["quiet_hours_start"] == "20:00:00"
    school_id = school["id"]
    patched = client.patch(
        f"/api/v1/schools/{school_id}",
        headers=headers,
        json={"email_sender": "office@lincoln.example.org"},
    )
    assert patched.json()["email_sender"] == "office@lincoln.example.org"
    listed = client.get("/api/v1/schools", params={"q": "Lincoln"}, headers=headers).json()
    assert [s["id"] for s in listed["items"]] == [school_id]
    assert client.delete(f"/api/v1/schools/{school_id}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/schools/{school_id}", headers=headers).status_code == 404
    assert count_rows(session, "audit_events") >= 3


def test_school_with_students_cannot_be_deleted(client, auth):
    student = StudentFactory()
    response = client.delete(f"/api/v1/schools/{student.school_id}", headers=auth("admin"))
    assert response.status_code == 422
    assert "students" in response.json()["error"]["message"]


def test_sections_enrollments_and_teachers(client, auth):
    school = SchoolFactory()
    teacher = StaffFactory(schools=[school])
    outsider = StaffFactory(schools=[SchoolFactory()])
    student = StudentFactory(school=school)
    headers = auth("admin")
    section = client.post(
        "/api/v1/sections",
        headers=headers,
        json={"school_id": school.id, "name": "Grade 2 – Room 4", "teacher_ids": [teacher.id]},
    ).json()
    assert section["teacher_ids"] == [teacher.id]
    path = f"/api/v1/sections/{section['id']}"
    enrolled = client.post(f"{path}/enrollments", headers=headers, json={"student_id": student.id})
    assert enrolled.json()["student_ids"] == [student.id]
    wrong = client.post(f"{path}/teachers", headers=headers, json={"staff_id": outsider.id})
    assert wrong.status_code == 422
    assert "does not work at school" in wrong.json()["error"]["message"]
    assert (
        client.delete(f"{path}/enrollments/{student.id}", headers=headers).json()["student_ids"]
        == []
    )
    assert (
        client.delete(f"{path}/teachers/{teacher.id}", headers=headers).json()["teacher_ids"] == []
    )
    by_school = client.get("/api/v1/sections", params={"school_id": school.id}, headers=headers)
    assert by_school.json()["total"] == 1


def test_pagination_gives_total_and_next(client, auth):
    school = SchoolFactory()
    for _ in range(5):
        StudentFactory(school=school)
    headers = auth("admin")
    first = client.get(
        "/api/v1/students", params={"school_id": school.id, "limit": 2}, headers=headers
    ).json()
    assert first["total"] == 5 and len(first["items"]) == 2 and first["next_offset"] == 2
    last = client.get(
        "/api/v1/students",
        params={"school_id": school.id, "limit": 2, "offset": 4},
        headers=headers,
    ).json()
    assert len(last["items"]) == 1 and last["next_offset"] is None
    assert client.get("/api/v1/students", params={"limit": 0}, headers=headers).status_code == 422
