"""Bad input gets a clear 4xx with a human message, and nothing is saved."""

import pytest

from tests.conftest import count_rows
from tests.factories import SchoolFactory, StudentFactory

TABLES = ("guardians", "student_guardians", "audit_events", "students", "schools")


@pytest.fixture
def student(session):
    return StudentFactory(school=SchoolFactory())


def snapshot(session):
    return {t: count_rows(session, t) for t in TABLES}


def guardian(student, **overrides):
    body = {
        "given_name": "María",
        "family_name": "García",
        "phone": "+1 512 555 0199",
        "email": "maria@example.org",
        "language": "es",
        "channels": ["sms"],
        "student_ids": [student.id],
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"phone": "12345"}, "phone", "not a valid phone number"),
        ({"email": "x@"}, "email", "not a valid email address"),
        ({"language": "xx-notreal"}, "language", "not a language"),
        ({"favourite_colour": "blue"}, "favourite_colour", "Unknown field"),
        ({"channels": []}, "channels", "at least one channel"),
        ({"given_name": "   "}, "given_name", "must not be empty"),
    ],
)
def test_bad_guardian_is_rejected_and_nothing_saved(
    client, auth, session, student, overrides, field, words
):
    headers = auth("admin")
    before = snapshot(session)
    response = client.post(
        "/api/v1/guardians", json=guardian(student, **overrides), headers=headers
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert words in error["message"]
    assert any(d["field"] == field for d in error["details"])
    assert snapshot(session) == before


def test_two_megabyte_body_is_rejected(client, auth, session, student):
    headers = auth("admin")
    before = snapshot(session)
    body = guardian(student, given_name="A" * 2_000_000)
    response = client.post("/api/v1/guardians", json=body, headers=headers)
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]["message"]
    assert snapshot(session) == before


def test_chunked_oversized_body_is_rejected(client, auth, session, student):
    headers = {**auth("admin"), "Content-Type": "application/json"}

    def chunks():
        yield b'{"given_name": "'
        for _ in range(40):
            yield b"A" * 50_000
        yield b'"}'

    before = snapshot(session)
    response = client.post("/api/v1/guardians", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert snapshot(session) == before


def test_not_json_is_a_clear_422(client, auth):
    response = client.post(
        "/api/v1/guardians",
        content=b"{nope",
        headers={**auth("admin"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert "JSON" in response.json()["error"]["message"]


def test_good_guardian_is_normalized(client, auth, student):
    response = client.post(
        "/api/v1/guardians",
        headers=auth("admin"),
        json=guardian(
            student,
            phone="(512) 555-0199",
            email="Maria@Example.org",
            language="pt_br",
            given_name="  María   José ",
        ),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["phone"] == "+15125550199"
    assert body["email"] == "Maria@example.org"
    assert body["language"] == "pt-BR"
    assert body["given_name"] == "María José"
    assert body["student_ids"] == [student.id]


def test_sms_channel_needs_a_phone(client, auth, session, student):
    before = snapshot(session)
    response = client.post(
        "/api/v1/guardians",
        headers=auth("admin"),
        json=guardian(student, phone=None, channels=["sms"]),
    )
    assert response.status_code == 422
    assert "phone" in response.json()["error"]["message"]
    assert snapshot(session) == before


def test_guardian_for_unknown_student_saves_nothing(client, auth, session, student):
    before = snapshot(session)
    response = client.post(
        "/api/v1/guardians",
        headers=auth("admin"),
        json=guardian(student, student_ids=[student.id, 999_999]),
    )
    assert response.status_code == 404
    assert snapshot(session) == before


def test_duplicate_student_id_in_school_is_409(client, auth, student):
    response = client.post(
        "/api/v1/students",
        headers=auth("admin"),
        json={
            "school_id": student.school_id,
            "external_id": student.external_id,
            "given_name": "Other",
            "family_name": "Kid",
        },
    )
    assert response.status_code == 409
    assert "already has the id" in response.json()["error"]["message"]


def test_bad_timezone_and_sender(client, auth):
    headers = auth("admin")
    response = client.post(
        "/api/v1/schools", headers=headers, json={"name": "X", "timezone": "Mars/Olympus"}
    )
    assert response.status_code == 422
    assert "IANA timezone" in response.json()["error"]["message"]
    response = client.post(
        "/api/v1/schools", headers=headers, json={"name": "X", "sms_sender": "555"}
    )
    assert response.status_code == 422
    assert "E.164" in response.json()["error"]["message"]


def test_several_mistakes_read_as_separate_sentences(client, auth, student):
    """Each field's problem is a sentence of its own, not run into the next one."""
    response = client.post(
        "/api/v1/guardians",
        json=guardian(student, phone="12345", language="xx-notreal"),
        headers=auth("admin"),
    )
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    phone, language = (d["message"] for d in response.json()["error"]["details"])
    assert message == f"{phone.rstrip('.')}. {language.rstrip('.')}."
    assert "number. 'language'" in message
