"""One password rule (10 to 256 characters) for every way of setting a password: the staff
API, the reset page, personal settings and the admin's staff form."""

import re

import pytest

from app.auth.passwords import MAX_PASSWORD, MIN_PASSWORD, check_password, request_reset
from app.core.errors import Invalid
from app.core.security import hash_password, verify_password
from tests.factories import SchoolFactory, StaffFactory

PASSWORD = "correct horse battery"
SHORT, SHORTEST, LONGEST, LONG = (
    "x" * (MIN_PASSWORD - 1),
    "x" * MIN_PASSWORD,
    "x" * MAX_PASSWORD,
    "x" * (MAX_PASSWORD + 1),
)


def test_the_rule_is_10_to_256_characters_with_a_message_for_a_person():
    assert (MIN_PASSWORD, MAX_PASSWORD) == (10, 256)
    assert check_password(SHORTEST) == SHORTEST and check_password(LONGEST) == LONGEST
    with pytest.raises(Invalid, match="at least 10 characters"):
        check_password(SHORT)
    with pytest.raises(Invalid, match="256 characters at most"):
        check_password(LONG)


@pytest.mark.parametrize("password, status", [(SHORT, 422), (LONGEST, 201), (LONG, 422)])
def test_the_staff_api_follows_the_rule(client, auth, password, status):
    school = SchoolFactory()
    created = client.post(
        "/api/v1/staff",
        headers=auth("admin"),
        json={
            "name": "Jo Park",
            "email": "jo@school.example.org",
            "password": password,
            "school_ids": [school.id],
        },  # fmt: skip
    )
    assert created.status_code == status, created.text


@pytest.mark.parametrize("password, status", [(SHORT, 422), (LONGEST, 303)])
def test_settings_follow_the_rule(signed_in, session, password, status):
    staff = StaffFactory(schools=[SchoolFactory()], password_hash=hash_password(PASSWORD))
    session.commit()
    answer = signed_in(staff).post(
        "/settings", {"ui_language": "en", "current_password": PASSWORD, "new_password": password}
    )
    assert answer.status_code == status
    session.refresh(staff)
    assert verify_password(password, staff.password_hash) == (status == 303)


@pytest.mark.parametrize("password, status", [(SHORT, 400), (LONGEST, 303)])
def test_a_reset_link_follows_the_rule(client, session, password, status):
    staff = StaffFactory(schools=[SchoolFactory()], password_hash=hash_password(PASSWORD))
    mail = request_reset(session, staff.email)
    session.commit()
    path = re.search(r"/password-reset/[\w-]+", mail.text).group(0)
    page = client.get(path, headers={"accept": "text/html"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post(
        path,
        data={"password": password, "confirm": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == status
    session.refresh(staff)
    assert verify_password(password, staff.password_hash) == (status == 303)
