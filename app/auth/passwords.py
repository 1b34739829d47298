"""Staff passwords: the one rule every way of setting one follows (the API, the pages, the
command line), changing one, and one-time emailed links to choose one (a forgotten password,
or a new colleague's first)."""

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.auth.mail import Email, send_staff_mail, staff_mail
from app.auth.models import PasswordReset
from app.auth.sessions import RATE_WINDOW, end_sessions, token_hash
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Invalid
from app.core.i18n import N_
from app.core.queue import after_commit
from app.core.security import hash_password, verify_password
from app.people.models import Staff

MIN_PASSWORD = 10
MAX_PASSWORD = 256
# Reset links one account may be sent per RATE_WINDOW: the form must not flood a mailbox.
MAX_RESETS = 3
# A new colleague may not open their mail the same hour: the first link lasts three days.
WELCOME_LINK_HOURS = 72

# A password field of an API schema: the same rule, as pydantic checks it.
Password = Annotated[str, Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)]


def check_password(password: str) -> str:
    """The password if it follows the rule; Invalid with a message for a person otherwise."""
    if len(password) < MIN_PASSWORD:
        raise Invalid(N_("Use at least 10 characters for the password."))
    if len(password) > MAX_PASSWORD:
        raise Invalid(N_("That password is too long (256 characters at most)."))
    return password


def check_new_password(staff: Staff, current_password: str, new_password: str) -> str:
    """A staff member's own change of password: they know the current one, and the new one
    follows the rule. Returns the new password; writes nothing."""
    if not verify_password(current_password, staff.password_hash):
        raise Invalid(N_("The current password is not right."))
    return check_password(new_password)


def set_password(session: Session, staff: Staff, password: str, keep: int | None = None) -> None:
    """A new password (already checked) signs the account out of every browser but the
    session `keep`, and voids every outstanding password link."""
    staff.password_hash = hash_password(password)
    end_sessions(session, staff.id, keep=keep)


def password_link(session: Session, staff: Staff, valid_for: timedelta) -> str:
    """A one-time link to the page where `staff` chooses a password: a forgotten password,
    or a new colleague's first one. Only the token's hash is stored."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        PasswordReset(
            token_hash=token_hash(token),
            staff_id=staff.id,
            created_at=now,
            expires_at=now + valid_for,
        )
    )
    return f"{get_settings().public_url.rstrip('/')}/password-reset/{token}"


def request_reset(session: Session, email: str) -> Email | None:
    """The email with a one-time link if the address belongs to an active account (None
    otherwise, or when it was sent too many links lately). The caller sends it once the
    request has committed and answered: the answer is the same, and as quick, either way, so
    the form cannot be used to find out who works here."""
    settings = get_settings()
    staff = session.scalar(
        select(Staff).where(func.lower(Staff.email) == email.strip().lower()[:254])
    )
    if staff is None or not staff.active:
        return None
    now = utcnow()
    recent = (
        session.scalar(
            select(func.count())
            .select_from(PasswordReset)
            .where(PasswordReset.staff_id == staff.id, PasswordReset.created_at > now - RATE_WINDOW)
        )
        or 0
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
    return staff_mail(staff.email, "Reset your Hearth password", text)


def _usable_link(session: Session, token: str) -> PasswordReset | None:
    row = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == token_hash(token)))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


def reset_valid(session: Session, token: str) -> bool:
    return _usable_link(session, token) is not None


def reset_password(session: Session, token: str, password: str) -> Staff:
    """Sets the password a one-time link was sent for, and uses the link up."""
    row = _usable_link(session, token)
    if row is None:
        raise Invalid(N_("This reset link has expired or was already used. Ask for a new one."))
    check_password(password)
    staff = session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        raise Invalid(N_("This account is no longer active."))
    row.used_at = utcnow()
    # A new password ends every other session and every other outstanding link.
    set_password(session, staff, password)
    record(session, f"staff:{staff.id}", "staff.password_reset", "staff", staff.id)
    return staff


def send_welcome_link(
    session: Session, staff: Staff, actor: str, gettext: Callable[[str], str]
) -> None:
    """Email a new colleague a one-time link to choose their own password (the same reset
    page as a forgotten password), so no admin ever knows or sends a password. The mail goes
    once the request commits, in the colleague's page language: `gettext` is that
    language's catalog of the staff pages."""
    _ = gettext
    link = password_link(session, staff, timedelta(hours=WELCOME_LINK_HOURS))
    record(session, actor, "staff.password_link_sent", "staff", staff.id)
    base = get_settings().public_url.rstrip("/")
    text = _(
        "A Hearth account was made for you (%(email)s).\n\n"
        "Choose your password here; the link works once, for %(hours)s hours:\n%(link)s\n\n"
        "Then sign in at %(sign_in)s with this email address."
    ) % {
        "email": staff.email,
        "hours": WELCOME_LINK_HOURS,
        "link": link,
        "sign_in": f"{base}/sign-in",
    }
    after_commit(session, send_staff_mail, staff_mail(staff.email, _("Your Hearth account"), text))
