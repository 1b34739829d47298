"""A key acting as one teacher sees only that teacher's sections' students, families, threads."""

import pytest

from tests.factories import (
    GuardianFactory,
    SchoolFactory,
    SectionFactory,
    StaffFactory,
    StudentFactory,
    ThreadFactory,
)


@pytest.fixture
def district(session):
    school = SchoolFactory()
    teacher_a = StaffFactory(schools=[school])
    teacher_b = StaffFactory(schools=[school])
    student_a = StudentFactory(school=school)
    student_b = StudentFactory(school=school)
    SectionFactory(school=school, teachers=[teacher_a], students=[student_a])
    SectionFactory(school=school, teachers=[teacher_b], students=[student_b])
    guardian_a = GuardianFactory(students=[student_a])
    guardian_b = GuardianFactory(students=[student_b])
    thread_a = ThreadFactory(
        school=school, owner_staff_id=teacher_a.id, student_id=student_a.id, guardians=[guardian_a]
    )
    thread_b = ThreadFactory(
        school=school, owner_staff_id=teacher_b.id, student_id=student_b.id, guardians=[guardian_b]
    )
    return {
        "school": school,
        "teacher_a": teacher_a,
        "teacher_b": teacher_b,
        "student_a": student_a,
        "student_b": student_b,
        "guardian_a": guardian_a,
        "guardian_b": guardian_b,
        "thread_a": thread_a,
        "thread_b": thread_b,
    }


def test_teacher_gets_404_for_other_teachers_objects(client, auth, district):
    headers = auth("read,write,send", staff=district["teacher_a"])
    d = district
    assert client.get(f"/api/v1/guardians/{d['guardian_b'].id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/students/{d['student_b'].id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/threads/{d['thread_b'].id}", headers=headers).status_code == 404
    assert (
        client.get(f"/api/v1/students/{d['student_b'].id}/family", headers=headers).status_code
        == 404
    )
    # ...and cannot write to them either
    assert (
        client.patch(
            f"/api/v1/guardians/{d['guardian_b'].id}", json={"language": "vi"}, headers=headers
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/threads/{d['thread_b'].id}/messages", json={"body": "Hi"}, headers=headers
        ).status_code
        == 404
    )
    # while their own are there
    assert client.get(f"/api/v1/guardians/{d['guardian_a'].id}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/threads/{d['thread_a'].id}", headers=headers).status_code == 200


def test_teacher_lists_leave_out_other_teachers_objects(client, auth, district):
    headers = auth("read", staff=district["teacher_a"])
    d = district

    def ids(path):
        body = client.get(path, headers=headers).json()
        return {item["id"] for item in body["items"]}, body["total"]

    assert ids("/api/v1/students") == ({d["student_a"].id}, 1)
    assert ids("/api/v1/guardians") == ({d["guardian_a"].id}, 1)
    assert ids("/api/v1/threads") == ({d["thread_a"].id}, 1)
    sections = client.get("/api/v1/sections", headers=headers).json()["items"]
    assert [s["teacher_ids"] for s in sections] == [[d["teacher_a"].id]]


def test_teacher_cannot_start_a_thread_with_another_teachers_family(client, auth, district):
    headers = auth("read,write", staff=district["teacher_a"])
    response = client.post(
        "/api/v1/threads", headers=headers, json={"guardian_ids": [district["guardian_b"].id]}
    )
    assert response.status_code == 404


def test_office_sees_the_whole_school_but_not_another(client, auth, district):
    other_school = SchoolFactory()
    outsider = GuardianFactory(students=[StudentFactory(school=other_school)])
    office = StaffFactory(role="office", schools=[district["school"]])
    headers = auth("read", staff=office)
    body = client.get("/api/v1/guardians", headers=headers).json()
    assert body["total"] == 2
    assert client.get(f"/api/v1/guardians/{outsider.id}", headers=headers).status_code == 404


def test_admin_sees_everything(client, auth, district):
    other = GuardianFactory(students=[StudentFactory()])
    headers = auth("admin")
    assert client.get(f"/api/v1/guardians/{other.id}", headers=headers).status_code == 200
    assert client.get("/api/v1/guardians", headers=headers).json()["total"] == 3


def test_teacher_cannot_create_students_or_schools(client, auth, district):
    headers = auth("read,write", staff=district["teacher_a"])
    response = client.post(
        "/api/v1/students",
        headers=headers,
        json={
            "school_id": district["school"].id,
            "external_id": "X1",
            "given_name": "A",
            "family_name": "B",
        },
    )
    assert response.status_code == 403
    assert client.post("/api/v1/schools", headers=headers, json={"name": "New"}).status_code == 403
