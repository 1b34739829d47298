"""The web app's defences: sessions end when they should, what people typed is shown as text
and never as markup, nothing tells who has an account, secret links stay out of the logs,
pages cannot be framed, errors show no internals, and previews save nothing."""

import logging
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.auth import mail, passwords, sessions
from app.auth.dependencies import SESSION_COOKIE
from app.auth.models import PasswordReset, WebSession
from app.channels.models import DevOutbox
from app.core.db import utcnow
from app.core.security import hash_password
from app.main import create_app
from app.messaging.models import Thread
from app.web.teacher import inbox
from app.web.teacher.compose import note_templates
from tests.conftest import count_rows
from tests.factories import (
    GuardianFactory,
    SchoolFactory,
    SectionFactory,
    StaffFactory,
    StudentFactory,
    ThreadFactory,
)

PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long password"
HTMX = {"accept": "text/html", "HX-Request": "true"}
# Markup that would run if a page put it out unescaped, in text and in an attribute.
XSS = '"><img src=x onerror=alert(1)>'
WRITTEN_TABLES = (
    "threads",
    "thread_guardians",
    "messages",
    "message_translations",
    "deliveries",
    "translation_cache",
    "audit_events",
)


def _staff(session, **kw):
    school = SchoolFactory()
    staff = StaffFactory(schools=[school], password_hash=hash_password(PASSWORD), **kw)
    session.commit()
    return staff


def _form_token(client, path="/sign-in") -> str:
    page = client.get(path, headers={"accept": "text/html"})
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _sessions(session, staff) -> int:
    return len(session.scalars(select(WebSession).where(WebSession.staff_id == staff.id)).all())


def _signed_out(web) -> bool:
    response = web.get("/settings", follow_redirects=False)
    return response.status_code == 303 and response.headers["location"].startswith("/sign-in")


# Sessions ----------------------------------------------------------------------------------


def test_a_new_password_in_settings_signs_out_every_other_browser(signed_in, session):
    staff = _staff(session)
    here, elsewhere = signed_in(staff), signed_in(staff)
    passwords.request_reset(session, staff.email)
    session.commit()
    changed = here.post(
        "/settings",
        {"ui_language": "en", "current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 303
    assert here.get("/settings").status_code == 200
    assert _signed_out(elsewhere)
    assert _sessions(session, staff) == 1
    # A reset link sent before the change no longer works.
    assert all(r.used_at is not None for r in session.scalars(select(PasswordReset)))


def test_saving_settings_without_a_new_password_signs_nobody_out(signed_in, session):
    staff = _staff(session)
    here, elsewhere = signed_in(staff), signed_in(staff)
    assert here.post("/settings", {"ui_language": "es"}).status_code == 303
    assert not _signed_out(elsewhere)


def test_a_deactivated_account_stays_signed_out_when_reactivated(signed_in, session, auth):
    staff = _staff(session)
    admin = signed_in(StaffFactory(role="admin"))
    browser = signed_in(staff)
    assert admin.post(f"/admin/staff/{staff.id}/active", {"active": "0"}).status_code == 303
    assert _sessions(session, staff) == 0
    assert admin.post(f"/admin/staff/{staff.id}/active", {"active": "1"}).status_code == 303
    assert _signed_out(browser)


def test_deactivating_or_setting_a_password_through_the_api_ends_web_sessions(
    client, signed_in, session, auth
):
    staff = _staff(session)
    headers = auth("admin")
    signed_in(staff)
    reply = client.patch(
        f"/api/v1/staff/{staff.id}", json={"password": NEW_PASSWORD}, headers=headers
    )
    assert reply.status_code == 200
    assert _sessions(session, staff) == 0
    browser = signed_in(staff)
    reply = client.patch(f"/api/v1/staff/{staff.id}", json={"active": False}, headers=headers)
    assert reply.status_code == 200
    assert _sessions(session, staff) == 0
    client.patch(f"/api/v1/staff/{staff.id}", json={"active": True}, headers=headers)
    assert _signed_out(browser)
    # Other changes leave the sessions alone.
    browser = signed_in(staff)
    client.patch(f"/api/v1/staff/{staff.id}", json={"name": "New Name"}, headers=headers)
    assert not _signed_out(browser)


def test_a_session_of_a_deactivated_account_is_deleted_when_it_is_next_used(signed_in, session):
    staff = _staff(session)
    browser = signed_in(staff)
    staff.active = False  # as a roster import does, without the staff service
    session.commit()
    assert _signed_out(browser)
    assert _sessions(session, staff) == 0


def test_signing_in_again_ends_the_browsers_previous_session(client, session):
    staff = _staff(session)
    other = _staff(session)
    old = sessions.start_session(session, other)
    session.commit()
    client.cookies.set(SESSION_COOKIE, old)
    token = _form_token(client)
    response = client.post(
        "/sign-in",
        data={"email": staff.email, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    new = response.cookies.get(SESSION_COOKIE) or client.cookies.get(SESSION_COOKIE)
    assert new and new != old
    assert sessions.current(session, old) is None
    assert _sessions(session, other) == 0 and _sessions(session, staff) == 1


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "/\\evil.example", "https://evil.example/", "/\t/evil.example"],
)
def test_sign_in_never_sends_anyone_to_another_site(client, session, target):
    staff = _staff(session)
    page = client.get("/sign-in", params={"next": target}, headers={"accept": "text/html"})
    assert "evil.example" not in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/sign-in",
        data={"email": staff.email, "password": PASSWORD, "csrf_token": token, "next": target},
        follow_redirects=False,
    )
    location = response.headers["location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert "\t" not in location


def test_sign_in_comes_back_to_the_page_asked_for_with_its_query(client, session):
    staff = _staff(session)
    first = client.get(
        "/compose?student_id=5", headers={"accept": "text/html"}, follow_redirects=False
    )
    assert first.status_code == 303
    assert first.headers["location"] == "/sign-in?next=%2Fcompose%3Fstudent_id%3D5"
    page = client.get(first.headers["location"], headers={"accept": "text/html"})
    assert 'name="next" value="/compose?student_id=5"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = client.post(
        "/sign-in",
        data={
            "email": staff.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/compose?student_id=5",
        },  # fmt: skip
        follow_redirects=False,
    )
    assert done.headers["location"] == "/compose?student_id=5"


# Nothing tells who has an account ----------------------------------------------------------


def test_an_unknown_email_costs_a_password_check_like_a_known_one(client, session, monkeypatch):
    staff = _staff(session)
    checked: list[str | None] = []
    real = sessions.verify_password

    def counting(password, password_hash):
        checked.append(password_hash)
        return real(password, password_hash)

    monkeypatch.setattr(sessions, "verify_password", counting)
    token = _form_token(client)
    for email in ("nobody@school.example.org", staff.email):
        answer = client.post(
            "/sign-in", data={"email": email, "password": "wrong guess", "csrf_token": token}
        )
        assert answer.status_code == 401 and "do not match" in answer.text
    assert len(checked) == 2 and all(checked)
    assert checked[0] != staff.password_hash


def test_reset_links_are_limited_per_account_and_the_answer_never_changes(client, session):
    staff = _staff(session)
    token = _form_token(client, "/password-reset")
    answers = set()
    for email in [staff.email] * (passwords.MAX_RESETS + 2) + ["nobody@school.example.org"]:
        sent = client.post("/password-reset", data={"email": email, "csrf_token": token})
        assert sent.status_code == 200
        answers.add(re.sub(r'value="[^"]*"', "", sent.text))
    assert len(answers) == 1
    mails = session.scalars(select(DevOutbox).where(DevOutbox.to == staff.email)).all()
    assert len(mails) == passwords.MAX_RESETS
    # The limit is per window: an old request does not count.
    for row in session.scalars(select(PasswordReset)):
        row.created_at = utcnow() - passwords.RATE_WINDOW - timedelta(minutes=1)
    session.commit()
    client.post("/password-reset", data={"email": staff.email, "csrf_token": token})
    assert len(session.scalars(select(DevOutbox).where(DevOutbox.to == staff.email)).all()) == (
        passwords.MAX_RESETS + 1
    )


def test_the_reset_link_is_not_written_to_the_access_log(client, session, caplog):
    staff = _staff(session)
    token = _form_token(client, "/password-reset")
    client.post("/password-reset", data={"email": staff.email, "csrf_token": token})
    mail = session.scalars(select(DevOutbox).where(DevOutbox.to == staff.email)).one()
    link = re.search(r"/password-reset/([\w-]+)", mail.body)
    secret = link.group(1)
    with caplog.at_level(logging.INFO, logger="hearth.access"):
        assert client.get(link.group(0), headers={"accept": "text/html"}).status_code == 200
    access = [r for r in caplog.records if r.name == "hearth.access"]
    assert access and access[-1].path == "/password-reset/[token]"
    assert all(secret not in r.getMessage() and secret not in str(vars(r)) for r in caplog.records)


def test_staff_emails_escape_what_they_quote():
    html = mail.mail_html("Hi <b>&\n\nbye")
    assert html == "<p>Hi &lt;b&gt;&amp;</p><p>bye</p>"


# Pages -------------------------------------------------------------------------------------


def test_pages_cannot_be_framed_or_cached(client, signed_in, session):
    staff = _staff(session)
    for response in (
        client.get("/sign-in", headers={"accept": "text/html"}),
        signed_in(staff).get("/settings"),
        signed_in(staff).get("/threads/999999"),
    ):
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"


def test_error_pages_name_the_viewer_after_the_request_has_ended(session):
    """The session dependency as it runs in production (not the tests' override): a refused
    request rolls back and closes its session before the error page is drawn, and the page
    still says who is signed in, in their language."""
    staff = _staff(session, name="Ana Rivera", role="office", ui_language="es")
    token = sessions.start_session(session, staff)
    session.commit()
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        client.cookies.set(SESSION_COOKIE, token)
        for url, status in [("/threads/999999", 404), ("/admin/staff", 403)]:
            page = client.get(url, headers={"accept": "text/html"})
            assert page.status_code == status, (url, page.text[:300])
            assert "Ana Rivera" in page.text and 'lang="es"' in page.text, url


def test_an_unexpected_error_shows_no_internals(signed_in, session, monkeypatch):
    staff = _staff(session)

    def broken(viewer):
        raise RuntimeError("secret internal detail at /srv/hearth/app.py")

    monkeypatch.setattr(inbox, "inbox_statement", broken)
    response = signed_in(staff).get("/inbox")
    assert response.status_code == 500
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text and "app.py" not in response.text


def test_what_people_typed_is_shown_as_text_on_every_page(signed_in, session, auth):
    school = SchoolFactory(name=f"School {XSS}")
    teacher_ = StaffFactory(schools=[school], name=f"Teacher {XSS}")
    office = StaffFactory(role="office", schools=[school], name=f"Office {XSS}")
    admin = StaffFactory(role="admin", name=f"Admin {XSS}")
    student = StudentFactory(
        school=school, given_name=f"Kid{XSS}", family_name="Doe", grade="<b>3</b>"
    )
    SectionFactory(school=school, teachers=[teacher_], students=[student], name=f"Room {XSS}")
    guardian = GuardianFactory(
        students=[student], language="en", given_name=f"Mom{XSS}", family_name="Doe"
    )
    thread = ThreadFactory(
        school=school,
        student_id=student.id,
        owner_staff_id=teacher_.id,
        subject=f"Subject {XSS}",
        guardians=[guardian],
    )
    session.commit()
    as_teacher, as_office, as_admin = signed_in(teacher_), signed_in(office), signed_in(admin)
    assert (
        as_teacher.post(f"/threads/{thread.id}/reply", {"body": f"Note {XSS}"}).status_code == 303
    )
    assert (
        as_admin.post(
            f"/admin/schools/{school.id}/glossary", {"term": f"Fest {XSS}", "keep": "1"}
        ).status_code
        == 303
    )
    created = as_admin.post("/admin/api-keys", {"name": f"Key {XSS}", "scopes": ["read"]})
    assert created.status_code == 303
    created = as_admin.get(created.headers["location"])
    assert created.status_code == 200
    pages = [
        (as_teacher, "/inbox"),
        (as_teacher, f"/threads/{thread.id}"),
        (as_teacher, f"/compose?student_id={student.id}"),
        (as_teacher, f"/compose/students?q={student.given_name[:3]}"),
        (as_teacher, f"/compose?q={XSS}"),
        (as_office, "/families"),
        (as_office, f"/families/{guardian.id}"),
        (as_office, "/broadcasts/new"),
        (as_admin, "/admin/staff"),
        (as_admin, f"/admin/staff/{teacher_.id}"),
        (as_admin, "/admin/schools"),
        (as_admin, f"/admin/schools/{school.id}"),
        (as_admin, "/admin/api-keys"),
        (as_admin, "/dashboard"),
    ]
    for web, url in pages:
        page = web.get(url)
        assert page.status_code == 200, url
        assert "<img src=x" not in page.text, url
        assert "&lt;img src=x onerror=alert(1)&gt;" in page.text, url
    assert "<img src=x" not in created.text
    assert "&lt;b&gt;3&lt;/b&gt;" in as_office.get("/broadcasts/new").text  # a grade


# Previews ----------------------------------------------------------------------------------


def test_every_teacher_preview_saves_nothing_and_sends_nothing(signed_in, session, argos_models):
    school = SchoolFactory(sms_sender="+15125550100")
    teacher_ = StaffFactory(schools=[school])
    student = StudentFactory(school=school, given_name="Mateo", family_name="Ruiz")
    SectionFactory(school=school, teachers=[teacher_], students=[student])
    maria = GuardianFactory(students=[student], language="es", given_name="María")
    thread = ThreadFactory(
        school=school, student_id=student.id, owner_staff_id=teacher_.id, guardians=[maria]
    )
    session.commit()
    web = signed_in(teacher_)
    before = {table: count_rows(session, table) for table in WRITTEN_TABLES}
    note = {
        "csrf_token": web.csrf_token,
        "student_id": str(student.id),
        "guardian_ids": [str(maria.id)],
        "body": "The field trip is on Friday.",
        "template": note_templates()[0].name,
    }
    for url, headers in [
        (f"/threads/{thread.id}/preview", HTMX),
        ("/compose/preview", HTMX),
        ("/compose/preview", {"accept": "text/html"}),
        ("/compose/template-fields", HTMX),
        ("/compose/template", HTMX),
    ]:
        response = web.client.post(url, data=note, headers=headers)
        assert response.status_code in (200, 422), (url, response.status_code)
    reply_preview = web.client.post(f"/threads/{thread.id}/preview", data=note, headers=HTMX)
    assert "La excursión es el viernes." in reply_preview.text
    assert {table: count_rows(session, table) for table in WRITTEN_TABLES} == before
    assert session.scalars(select(Thread)).all() == [thread]
