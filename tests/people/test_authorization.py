"""A key acting as one teacher sees only that teacher's sections' students, families, threads."""

import pytest

from tests.factories import GuardianFactory, SchoolFactory, StudentFactory, ThreadFactory


@pytest.fixture
def district(classroom):
    """The shared classroom: Ana Rivera (a) and David Chen (b) teach a section each, and each
    has a thread with one family of their section."""
    c = classroom
    thread_a = ThreadFactory(
        school=c.school, owner_staff_id=c.teacher.id, student_id=c.mateo.id, guardians=[c.marisol]
    )
    thread_b = ThreadFactory(
        school=c.school, owner_staff_id=c.colleague.id, student_id=c.hao.id, guardians=[c.wei]
    )
    return {
        "classroom": c,
        "school": c.school,
        "teacher_a": c.teacher,
        "teacher_b": c.colleague,
        "student_a": c.mateo,
        "student_b": c.hao,
        "guardian_a": c.marisol,
        "guardian_b": c.wei,
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

    # Ana Rivera's section: Mateo and Sofía, and their three families; nobody of Room 14.
    c = d["classroom"]
    assert ids("/api/v1/students") == ({c.mateo.id, c.sofia.id}, 2)
    assert ids("/api/v1/guardians") == ({c.marisol.id, c.lan.id, c.ana.id}, 3)
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
    headers = auth("read", staff=district["classroom"].office)
    body = client.get("/api/v1/guardians", headers=headers).json()
    assert {g["id"] for g in body["items"]} == {g.id for g in district["classroom"].guardians}
    assert body["total"] == 4
    assert client.get(f"/api/v1/guardians/{outsider.id}", headers=headers).status_code == 404


def test_admin_sees_everything(client, auth, district):
    other = GuardianFactory(students=[StudentFactory()])
    headers = auth("admin")
    assert client.get(f"/api/v1/guardians/{other.id}", headers=headers).status_code == 200
    assert client.get("/api/v1/guardians", headers=headers).json()["total"] == 4 + 1


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


def test_teacher_cannot_add_edit_or_link_families(client, auth, district):
    """Families are the office's records (README, "Who may do what"): a teacher who reads a
    family may not change where its texts go, add one, or link it to another child."""
    d = district
    marisol, mateo, sofia = d["guardian_a"], d["student_a"], d["classroom"].sofia
    admin = auth("admin")
    url = f"/api/v1/guardians/{marisol.id}"
    before = client.get(url, headers=admin).json()
    headers = auth("read,write,send", staff=d["teacher_a"])
    for body in (
        {"email": "teacher-changed@evil.example"},
        {"phone": "+15125550199"},
        {"language": "vi"},
    ):
        changed = client.patch(url, json=body, headers=headers)
        assert changed.status_code == 403, changed.text
        assert "Only office staff or admins" in changed.json()["error"]["message"]
    made = client.post(
        "/api/v1/guardians",
        headers=headers,
        json={
            "given_name": "Eve",
            "family_name": "Evil",
            "phone": "+15125550199",
            "student_ids": [mateo.id],
        },
    )
    assert made.status_code == 403
    linked = client.post(
        f"{url}/students", headers=headers, json={"student_id": sofia.id, "relationship": "mother"}
    )
    assert linked.status_code == 403
    assert client.delete(f"{url}/students/{mateo.id}", headers=headers).status_code == 403
    assert client.get(url, headers=admin).json() == before
    evil = client.get("/api/v1/guardians", params={"q": "Evil"}, headers=admin).json()
    assert evil["total"] == 0
    # The school's office staff may.
    office = auth("read,write", staff=d["classroom"].office)
    assert client.patch(url, json={"language": "vi"}, headers=office).status_code == 200
