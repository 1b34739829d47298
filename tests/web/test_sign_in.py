"""Sign-in, sessions, CSRF, rate limiting, password reset, and the UI language."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.auth import sessions
from app.auth.dependencies import FORM_COOKIE, SESSION_COOKIE
from app.auth.models import WebSession
from app.channels.models import DevOutbox
from app.core.security import hash_password
from tests import factories

PASSWORD = "correct horse battery"


def _staff(session, **kw):
    school = factories.SchoolFactory()
    staff = factories.StaffFactory(schools=[school], password_hash=hash_password(PASSWORD), **kw)
    session.commit()
    return staff


def _form_token(client, path="/sign-in") -> str:
    page = client.get(path, headers={"accept": "text/html"})
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_sign_in_sets_a_safe_session_cookie_and_sign_out_ends_it(client, session):
    staff = _staff(session)
    token = _form_token(client)
    response = client.post(
        "/sign-in",
        data={"email": staff.email.upper(), "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert session.scalar(select(WebSession).where(WebSession.staff_id == staff.id)) is not None

    inbox = client.get("/settings", headers={"accept": "text/html"})
    assert inbox.status_code == 200 and staff.name in inbox.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', inbox.text).group(1)
    out = client.post("/sign-out", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert session.scalar(select(WebSession).where(WebSession.staff_id == staff.id)) is None
    again = client.get("/settings", headers={"accept": "text/html"}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/sign-in")


def test_wrong_password_is_refused_and_repeated_failures_are_limited(client, session):
    staff = _staff(session)
    token = _form_token(client)
    for _ in range(5):
        bad = client.post(
            "/sign-in", data={"email": staff.email, "password": "nope", "csrf_token": token}
        )
        assert bad.status_code == 401
        assert "do not match" in bad.text
    blocked = client.post(
        "/sign-in", data={"email": staff.email, "password": PASSWORD, "csrf_token": token}
    )
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.text


def test_a_stranger_cannot_lock_a_teacher_out(session):
    """Five wrong passwords slow down whoever typed them, not the account's owner."""
    staff = _staff(session)
    for _ in range(5):
        with pytest.raises(sessions.SignInFailed):
            sessions.sign_in(session, staff.email, "guess", "203.0.113.9")
    with pytest.raises(sessions.TooManyAttempts):
        sessions.sign_in(session, staff.email, PASSWORD, "203.0.113.9")
    token, signed = sessions.sign_in(session, staff.email, PASSWORD, "198.51.100.4")
    assert token and signed.id == staff.id


def test_a_known_device_keeps_working_from_a_shared_address(app, client, session):
    """A student on the school's network (same address) hammers a teacher's account: the
    teacher's own browser, which signed in before, still gets in."""
    staff = _staff(session)
    token = _form_token(client)
    first = client.post(
        "/sign-in",
        data={"email": staff.email, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert first.status_code == 303
    assert sessions.DEVICE_COOKIE in client.cookies
    with TestClient(app, raise_server_exceptions=False) as stranger:
        stranger_token = _form_token(stranger)
        for _ in range(5):
            stranger.post(
                "/sign-in",
                data={"email": staff.email, "password": "guess", "csrf_token": stranger_token},
            )
        blocked = stranger.post(
            "/sign-in",
            data={"email": staff.email, "password": PASSWORD, "csrf_token": stranger_token},
        )
        assert blocked.status_code == 429
    again = client.post(
        "/sign-in",
        data={"email": staff.email, "password": PASSWORD, "csrf_token": _form_token(client)},
        follow_redirects=False,
    )
    assert again.status_code == 303


def test_an_account_attacked_from_many_addresses_still_opens_on_a_known_device(session):
    staff = _staff(session)
    device = sessions.device_token(staff.id)
    for n in range(50):
        with pytest.raises(sessions.SignInFailed):
            sessions.sign_in(session, staff.email, "guess", f"198.18.0.{n}")
    with pytest.raises(sessions.TooManyAttempts):
        sessions.sign_in(session, staff.email, PASSWORD, "192.0.2.77")
    _, signed = sessions.sign_in(session, staff.email, PASSWORD, "192.0.2.77", device)
    assert signed.id == staff.id
    # a device cookie made for someone else's account is no key to this one
    other = _staff(session)
    with pytest.raises(sessions.TooManyAttempts):
        sessions.sign_in(
            session, staff.email, PASSWORD, "192.0.2.77", sessions.device_token(other.id)
        )


def test_sign_in_without_the_form_token_is_forbidden(client, session):
    staff = _staff(session)
    client.cookies.set(FORM_COOKIE, "x" * 20)
    response = client.post("/sign-in", data={"email": staff.email, "password": PASSWORD})
    assert response.status_code == 403


def test_a_form_post_without_the_csrf_token_is_forbidden(signed_in, session):
    staff = _staff(session)
    web = signed_in(staff)
    missing = web.post("/settings", {"ui_language": "es"}, csrf=False)
    assert missing.status_code == 403
    wrong = web.post("/settings", {"ui_language": "es", "csrf_token": "forged"})
    assert wrong.status_code == 403
    session.refresh(staff)
    assert staff.ui_language == "en"
    ok = web.post("/settings", {"ui_language": "es"})
    assert ok.status_code == 303
    session.refresh(staff)
    assert staff.ui_language == "es"


def test_pages_render_in_spanish_for_a_spanish_speaking_staff_member(signed_in, session):
    staff = _staff(session, ui_language="es")
    page = signed_in(staff).get("/settings")
    assert page.status_code == 200
    assert '<html lang="es">' in page.text
    assert "Cerrar sesión" in page.text and "Sign out" not in page.text


def test_password_reset_by_emailed_link(client, session):
    staff = _staff(session)
    token = _form_token(client, "/password-reset")
    sent = client.post("/password-reset", data={"email": staff.email, "csrf_token": token})
    assert sent.status_code == 200
    mail = session.scalars(select(DevOutbox).where(DevOutbox.to == staff.email)).one()
    link = re.search(r"/password-reset/[\w-]+", mail.body).group(0)

    new = "a new long password"
    page_token = _form_token(client, link)
    short = client.post(
        link, data={"password": "short", "confirm": "short", "csrf_token": page_token}
    )
    assert short.status_code == 400 and "at least 10" in short.text
    done = client.post(
        link,
        data={"password": new, "confirm": new, "csrf_token": page_token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    reused = client.post(link, data={"password": new, "confirm": new, "csrf_token": page_token})
    assert reused.status_code == 400 and "expired or was already used" in reused.text

    client.cookies.clear()
    token = _form_token(client)
    ok = client.post(
        "/sign-in",
        data={"email": staff.email, "password": new, "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, session):
    token = _form_token(client, "/password-reset")
    sent = client.post("/password-reset", data={"email": "nobody@x.org", "csrf_token": token})
    assert sent.status_code == 200 and "on its way" in sent.text
    assert session.scalars(select(DevOutbox).where(DevOutbox.to == "nobody@x.org")).first() is None
