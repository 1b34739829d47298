from tests.factories import GuardianFactory, SchoolFactory, SectionFactory, StudentFactory


def test_family_lists_guardians_with_relationship(client, auth):
    student = StudentFactory()
    mother = GuardianFactory(students=[student], language="vi")
    GuardianFactory(students=[StudentFactory(school_id=student.school_id)])
    headers = auth("admin")
    grandpa = client.post(
        "/api/v1/guardians",
        headers=headers,
        json={
            "given_name": "Bảo",
            "family_name": "Trần",
            "phone": "+15125550142",
            "language": "vi",
            "channels": ["sms"],
            "student_ids": [student.id],
            "relationship": "grandparent",
        },
    ).json()
    family = client.get(f"/api/v1/students/{student.id}/family", headers=headers).json()
    assert family["student"]["id"] == student.id
    relationships = {g["id"]: g["relationship"] for g in family["guardians"]}
    assert relationships == {mother.id: "mother", grandpa["id"]: "grandparent"}
    assert all(g["language"] == "vi" for g in family["guardians"])


def test_link_and_unlink(client, auth):
    student, sibling = StudentFactory(), StudentFactory()
    guardian = GuardianFactory(students=[student])
    headers = auth("admin")
    linked = client.post(
        f"/api/v1/guardians/{guardian.id}/students",
        headers=headers,
        json={"student_id": sibling.id, "relationship": "father"},
    )
    assert linked.json()["student_ids"] == sorted([student.id, sibling.id])
    unlinked = client.delete(
        f"/api/v1/guardians/{guardian.id}/students/{student.id}", headers=headers
    )
    assert unlinked.json()["student_ids"] == [sibling.id]


def test_guardian_filters(client, auth):
    school = SchoolFactory()
    student_1, student_2 = StudentFactory(school=school), StudentFactory(school=school)
    section = SectionFactory(school=school, students=[student_1])
    es = GuardianFactory(students=[student_1], language="es-MX", family_name="Ortega")
    GuardianFactory(students=[student_2], language="vi", family_name="Phan")
    headers = auth("admin")

    def ids(**params):
        return [
            g["id"]
            for g in client.get("/api/v1/guardians", params=params, headers=headers).json()["items"]
        ]

    assert ids(school_id=school.id, language="es") == [es.id]
    assert ids(section_id=section.id) == [es.id]
    assert ids(school_id=school.id, q="orteg") == [es.id]
    assert len(ids(school_id=school.id)) == 2


def test_update_guardian_language_marks_it_confirmed(client, auth, session):
    guardian = GuardianFactory(students=[StudentFactory()], language_confirmed=False)
    response = client.patch(
        f"/api/v1/guardians/{guardian.id}",
        headers=auth("admin"),
        json={"language": "so", "channels": ["sms", "email"]},
    )
    assert response.status_code == 200
    assert response.json()["language"] == "so"
    assert response.json()["language_confirmed"] is True
    assert response.json()["channels"] == ["sms", "email"]


def test_staff_crud(client, auth):
    school = SchoolFactory()
    headers = auth("admin")
    created = client.post(
        "/api/v1/staff",
        headers=headers,
        json={
            "name": "Jo Park",
            "email": "Jo.Park@School.example.org",
            "role": "teacher",
            "ui_language": "es",
            "password": "a long password",
            "school_ids": [school.id],
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "Jo.Park@school.example.org"
    assert "password" not in created.json() and "password_hash" not in created.json()
    duplicate = client.post(
        "/api/v1/staff",
        headers=headers,
        json={"name": "Jo", "email": "Jo.Park@school.example.org", "school_ids": [school.id]},
    )
    assert duplicate.status_code == 409
    staff_id = created.json()["id"]
    updated = client.patch(f"/api/v1/staff/{staff_id}", headers=headers, json={"active": False})
    assert updated.json()["active"] is False


def test_office_cannot_create_an_admin(client, auth):
    school = SchoolFactory()
    from tests.factories import StaffFactory

    office = StaffFactory(role="office", schools=[school])
    response = client.post(
        "/api/v1/staff",
        headers=auth("read,write", staff=office),
        json={"name": "Evil", "email": "evil@example.org", "role": "admin"},
    )
    assert response.status_code == 403


def test_a_student_with_message_history_is_kept(client, auth, session):
    from sqlalchemy import func, select

    from app.audit.models import AuditEvent
    from app.people.models import Student
    from tests.factories import ThreadFactory

    talked_about, quiet = StudentFactory(), StudentFactory()
    ThreadFactory(school_id=talked_about.school_id, student_id=talked_about.id)
    headers = auth("admin")

    refused = client.delete(f"/api/v1/students/{talked_about.id}", headers=headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        "This student has message history; set active to false instead."
    )
    assert session.get(Student, talked_about.id, populate_existing=True) is not None
    deleted = select(func.count()).where(AuditEvent.action == "student.delete")
    assert session.scalar(deleted) == 0  # nothing half-saved, not even the audit line

    assert client.delete(f"/api/v1/students/{quiet.id}", headers=headers).status_code == 204
    session.expire_all()
    assert session.get(Student, quiet.id) is None
    assert session.scalar(deleted) == 1


def test_an_interpreter_account_and_the_languages_staff_interpret(client, auth):
    school = SchoolFactory()
    headers = auth("admin")
    created = client.post(
        "/api/v1/staff",
        headers=headers,
        json={
            "name": "Mai Xiong",
            "email": "mai@school.example.org",
            "role": "interpreter",
            "school_ids": [school.id],
            "interprets": ["hmn", "zh-Hant", "vi-VN"],
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "interpreter"
    assert created.json()["interprets"] == ["hmn", "vi", "zt"]  # as tasks are filed
    staff_id = created.json()["id"]
    changed = client.patch(
        f"/api/v1/staff/{staff_id}", headers=headers, json={"interprets": ["so"]}
    )
    assert changed.json()["interprets"] == ["so"]
    bad = client.patch(
        f"/api/v1/staff/{staff_id}", headers=headers, json={"interprets": ["not a language"]}
    )
    assert bad.status_code == 422
    assert client.get(f"/api/v1/staff/{staff_id}", headers=headers).json()["interprets"] == ["so"]
