"""Signing staff in and out: the password check with rate limiting per account and client,
known-device cookies, and server-side browser sessions with a CSRF token each."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.audit.service import record
from app.auth.models import PasswordReset, SignInAttempt, WebSession
from app.auth.service import IMPLIED, AuthSubject, load_staff, subject_for_staff
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import HearthError
from app.core.i18n import N_
from app.core.security import constant_time_equal, hash_password, sign, verify_password
from app.people.models import Staff

RATE_WINDOW = timedelta(minutes=15)
# Every role works in the browser with the same rules as its API keys; the role and the
# schools (checked by each service) decide what a staff member may do.
WEB_SCOPES = {
    "interpreter": frozenset({"read", "write"}),
    "teacher": frozenset({"read", "write", "send"}),
    "office": frozenset({"read", "write", "send"}),
    "admin": frozenset(IMPLIED["admin"]),
}


class TooManyAttempts(HearthError):
    status_code = 429
    code = "too_many_attempts"


class SignInFailed(HearthError):
    status_code = 401
    code = "sign_in_failed"


@dataclass(frozen=True)
class StaffCard:
    """Who is signed in, as plain values: still readable once the request's session has ended
    (an error page is drawn after the session rolled back and closed)."""

    id: int
    name: str
    role: str
    ui_language: str


@dataclass(frozen=True)
class SignedIn:
    """What a page knows about who is looking at it."""

    staff: Staff
    subject: AuthSubject
    csrf_token: str
    session_id: int
    card: StaffCard


def token_hash(token: str) -> str:
    """What is stored of a secret token (a session cookie, a password link): its hash only."""
    return hashlib.sha256(token.encode()).hexdigest()


@lru_cache
def _decoy_hash() -> str:
    """Checked when no account matches, so that an unknown email takes as long to refuse as
    a wrong password and sign-in cannot be used to find out who works here."""
    return hash_password(secrets.token_urlsafe(16))


def _failures(session: Session, *conditions: Any) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(SignInAttempt)
            .where(*conditions, SignInAttempt.at > utcnow() - RATE_WINDOW)
            .where(SignInAttempt.succeeded.is_(False))
        )
        or 0
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
    """(session token for the cookie, staff). A failed attempt is committed before the
    refusal, so failures count even though the caller shows an error. `client` is the
    caller's address, `device` the device cookie it sent (see DEVICE_COOKIE)."""
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
        session.commit()  # commits on purpose: a failed sign-in counts although it is refused
        raise SignInFailed(N_("That email and password do not match an active account."))
    return start_session(session, staff), staff


def start_session(session: Session, staff: Staff) -> str:
    settings = get_settings()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            token_hash=token_hash(token),
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
    row = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if row is None:
        return None
    now = utcnow()
    idle = timedelta(minutes=get_settings().web_session_idle_minutes)
    if row.expires_at <= now or row.last_seen_at + idle <= now:
        session.delete(row)
        session.commit()  # commits on purpose: an ended session goes for good; the page is refused
        return None
    staff = load_staff(session, row.staff_id)
    if staff is None or not staff.active:
        # Ended for good: reactivating the account must not bring this browser back in.
        session.delete(row)
        session.commit()  # commits on purpose: an ended session goes for good; the page is refused
        return None
    # Touch at most once a minute: reading pages must not turn into a write each time.
    if (now - row.last_seen_at).total_seconds() > 60:
        row.last_seen_at = now
    subject = subject_for_staff(staff, WEB_SCOPES[staff.role])
    card = StaffCard(staff.id, staff.name, staff.role, staff.ui_language)
    return SignedIn(staff, subject, row.csrf_token, row.id, card)


def language_of(session: Session, token: str | None) -> str | None:
    """The interface language of the staff member a live session cookie signs in, or None;
    read only (an error page drawn where no route signed anyone in)."""
    if not token:
        return None
    now = utcnow()
    idle = timedelta(minutes=get_settings().web_session_idle_minutes)
    return session.scalar(
        select(Staff.ui_language)
        .join(WebSession, WebSession.staff_id == Staff.id)
        .where(
            WebSession.token_hash == token_hash(token),
            WebSession.expires_at > now,
            WebSession.last_seen_at > now - idle,
            Staff.active.is_(True),
        )
    )


def sign_out(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.token_hash == token_hash(token)))


def end_sessions(session: Session, staff_id: int, keep: int | None = None) -> None:
    """Signs a staff member out of every browser but the session `keep`, and voids their
    outstanding password links: after a new password, or when the account is deactivated."""
    ended = delete(WebSession).where(WebSession.staff_id == staff_id)
    if keep is not None:
        ended = ended.where(WebSession.id != keep)
    session.execute(ended)
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.staff_id == staff_id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
    )
