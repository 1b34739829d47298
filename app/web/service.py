"""Signing staff in and out: password check with rate limiting, server-side sessions with a
CSRF token each, and password reset by a one-time emailed link."""

import hashlib
import html
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.audit.service import record
from app.auth.passwords import check_password
from app.auth.service import IMPLIED, AuthSubject, load_staff, subject_for_staff
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import HearthError, Invalid
from app.core.security import constant_time_equal, hash_password, sign, verify_password
from app.delivery import channels
from app.people.models import Staff
from app.web.models import PasswordReset, SignInAttempt, WebSession

log = logging.getLogger("hearth.web")

RATE_WINDOW = timedelta(minutes=15)
# Reset links one account may be sent per RATE_WINDOW: the form must not flood a mailbox.
MAX_RESETS = 3
# Every role works in the browser with the same rules as its API keys; the role and the
# schools (checked by each service) decide what a staff member may do.
WEB_SCOPES = {
    "teacher": frozenset({"read", "write", "send"}),
    "office": frozenset({"read", "write", "send"}),
    "admin": frozenset(IMPLIED["admin"]),
}


def N_(message: str) -> str:
    """Marks a message for the web catalog; pages translate it when they show it."""
    return message


class TooManyAttempts(HearthError):
    status_code = 429
    code = "too_many_attempts"


class SignInFailed(HearthError):
    status_code = 401
    code = "sign_in_failed"


@dataclass(frozen=True)
class SignedIn:
    """What a page knows about who is looking at it."""

    staff: Staff
    subject: AuthSubject
    csrf_token: str
    session_id: int


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@lru_cache
def _decoy_hash() -> str:
    """Checked when no account matches, so that an unknown email takes as long to refuse as
    a wrong password and sign-in cannot be used to find out who works here."""
    return hash_password(secrets.token_urlsafe(16))


def mail_html(text: str) -> str:
    """A plain-text staff email as HTML paragraphs, every character of it escaped."""
    paragraphs = html.escape(text).split("\n\n")
    return "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs)


def send_staff_mail(mail: channels.Email) -> None:
    try:
        channels.email_channel().send(mail)
    except channels.SendError as exc:
        log.warning("could not send a staff email: %s", exc.code)


def _failures(session: Session, *conditions: Any) -> int:
    return session.scalar(
        select(func.count())
        .select_from(SignInAttempt)
        .where(*conditions, SignInAttempt.at > utcnow() - RATE_WINDOW)
        .where(SignInAttempt.succeeded.is_(False))
    )


# Known devices. Counting failures per account alone lets anyone lock a teacher out with five
# wrong passwords. Instead failures count per account *and client*: a stranger's guesses slow
# down only the stranger. A browser that signed in to an account before carries a signed
# device cookie for it, and its attempts count on their own, so a known device keeps working
# while others hammer the account, even from the school's shared address. An account attacked
# from many addresses at once refuses unknown devices for a while, never its known ones.
DEVICE_COOKIE = "hearth_device"
DEVICE_DAYS = 180
DEVICE_PREFIX = "device:"


def device_token(staff_id: int) -> str:
    """The device cookie's value for a browser that has just proved it knows the password
    (or owns the mailbox): `<staff id>.<nonce>.<signature>`."""
    nonce = secrets.token_urlsafe(12)
    signature = sign(get_settings().signing_key(), f"device:{staff_id}.{nonce}")[:32]
    return f"{staff_id}.{nonce}.{signature}"


def _device_key(token: str | None, staff_id: int | None) -> str | None:
    """The key a known device's attempts count under, if `token` is this account's."""
    if not token or staff_id is None or len(token) > 200:
        return None
    owner, _, rest = token.partition(".")
    nonce, _, signature = rest.partition(".")
    if owner != str(staff_id) or not nonce:
        return None
    expected = sign(get_settings().signing_key(), f"device:{staff_id}.{nonce}")[:32]
    return DEVICE_PREFIX + nonce[:32] if constant_time_equal(signature, expected) else None


def sign_in(
    session: Session, email: str, password: str, client: str, device: str | None = None
) -> tuple[str, Staff]:
    """(session token for the cookie, staff). Commits the attempt either way, so failures
    count even though the caller shows an error. `client` is the caller's address, `device`
    the device cookie it sent (see DEVICE_COOKIE)."""
    email = email.strip().lower()[:254]
    limit = get_settings().sign_in_max_failures
    staff = session.scalar(select(Staff).where(func.lower(Staff.email) == email))
    known = _device_key(device, staff.id if staff is not None else None)
    attempt_from = known or client[:64]
    this_account = SignInAttempt.email == email
    if known:
        refused = _failures(session, this_account, SignInAttempt.client == known) >= limit
    else:
        refused = (
            _failures(session, this_account, SignInAttempt.client == attempt_from) >= limit
            or _failures(session, SignInAttempt.client == attempt_from) >= limit * 4
            or _failures(session, this_account, SignInAttempt.client.not_like(f"{DEVICE_PREFIX}%"))
            >= limit * 10
        )
    if refused:
        raise TooManyAttempts(
            N_("Too many failed sign-ins. Wait 15 minutes, or reset your password.")
        )
    stored = staff.password_hash if staff is not None and staff.password_hash else None
    matches = verify_password(password, stored or _decoy_hash())
    ok = staff is not None and staff.active and stored is not None and matches
    session.add(SignInAttempt(email=email, client=attempt_from, succeeded=ok))
    if not ok or staff is None:
        session.commit()
        raise SignInFailed(N_("That email and password do not match an active account."))
    token = start_session(session, staff)
    session.commit()
    return token, staff


def start_session(session: Session, staff: Staff) -> str:
    settings = get_settings()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            token_hash=_hash(token),
            staff_id=staff.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(days=settings.web_session_max_days),
        )
    )
    record(session, f"staff:{staff.id}", "staff.sign_in", "staff", staff.id)
    return token


def current(session: Session, token: str | None) -> SignedIn | None:
    """The signed-in staff member for a session cookie, or None (expired, idle, revoked,
    deactivated)."""
    if not token:
        return None
    row = session.scalar(select(WebSession).where(WebSession.token_hash == _hash(token)))
    if row is None:
        return None
    now = utcnow()
    idle = timedelta(minutes=get_settings().web_session_idle_minutes)
    if row.expires_at <= now or row.last_seen_at + idle <= now:
        session.delete(row)
        session.commit()
        return None
    staff = load_staff(session, row.staff_id)
    if staff is None or not staff.active:
        # Ended for good: reactivating the account must not bring this browser back in.
        session.delete(row)
        session.commit()
        return None
    # Touch at most once a minute: reading pages must not turn into a write each time.
    if (now - row.last_seen_at).total_seconds() > 60:
        row.last_seen_at = now
        session.commit()
    subject = subject_for_staff(staff, WEB_SCOPES[staff.role])
    return SignedIn(staff=staff, subject=subject, csrf_token=row.csrf_token, session_id=row.id)


def sign_out(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))
        session.commit()


def end_sessions(session: Session, staff_id: int, keep: int | None = None) -> None:
    """Signs a staff member out of every browser but the session `keep`, and voids their
    outstanding reset links: after a new password, or when the account is deactivated.
    The caller commits."""
    ended = delete(WebSession).where(WebSession.staff_id == staff_id)
    if keep is not None:
        ended = ended.where(WebSession.id != keep)
    session.execute(ended)
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.staff_id == staff_id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
    )


def password_link(session: Session, staff: Staff, valid_for: timedelta) -> str:
    """A one-time link to the page where `staff` chooses a password: a forgotten password,
    or a new colleague's first one. Only the token's hash is stored."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        PasswordReset(
            token_hash=_hash(token),
            staff_id=staff.id,
            created_at=now,
            expires_at=now + valid_for,
        )
    )
    return f"{get_settings().public_url.rstrip('/')}/password-reset/{token}"


def request_reset(session: Session, email: str) -> channels.Email | None:
    """The email with a one-time link if the address belongs to an active account (None
    otherwise, or when it was sent too many links lately). The caller commits, then sends
    it after answering: the answer is the same, and as quick, either way, so the form
    cannot be used to find out who works here."""
    settings = get_settings()
    staff = session.scalar(
        select(Staff).where(func.lower(Staff.email) == email.strip().lower()[:254])
    )
    if staff is None or not staff.active:
        return None
    now = utcnow()
    recent = session.scalar(
        select(func.count())
        .select_from(PasswordReset)
        .where(PasswordReset.staff_id == staff.id, PasswordReset.created_at > now - RATE_WINDOW)
    )
    if recent >= MAX_RESETS:
        return None
    link = password_link(session, staff, timedelta(minutes=settings.password_reset_minutes))
    record(session, f"staff:{staff.id}", "staff.password_reset_requested", "staff", staff.id)
    text = (
        f"Someone asked to reset the Hearth password for {staff.email}.\n\n"
        f"Choose a new password here (the link works once, for "
        f"{settings.password_reset_minutes} minutes):\n{link}\n\n"
        "If it was not you, ignore this email: your password stays as it is."
    )
    return channels.Email(
        to=staff.email,
        subject="Reset your Hearth password",
        text=text,
        html=mail_html(text),
        sender=settings.email_from,
    )


def reset_password(session: Session, token: str, password: str) -> Staff:
    row = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _hash(token)))
    now = utcnow()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise Invalid(N_("This reset link has expired or was already used. Ask for a new one."))
    check_password(password)
    staff = session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        raise Invalid(N_("This account is no longer active."))
    staff.password_hash = hash_password(password)
    row.used_at = now
    # A new password ends every other session and every other outstanding link.
    end_sessions(session, staff.id)
    record(session, f"staff:{staff.id}", "staff.password_reset", "staff", staff.id)
    return staff


def reset_valid(session: Session, token: str) -> bool:
    row = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _hash(token)))
    return row is not None and row.used_at is None and row.expires_at > utcnow()


def set_ui_language(session: Session, staff: Staff, lang: str) -> None:
    staff.ui_language = lang
    session.commit()
