"""Who is calling: an API key or a signed-in staff member becomes one AuthSubject; API keys
are made, listed and revoked here."""

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from app.auth.models import SCOPES, ApiKey
from app.core import deferred
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Forbidden, Invalid, NotFound
from app.core.security import api_key_lookup, constant_time_equal, hash_api_key, new_api_key
from app.people.models import Staff
from app.schools.models import School

# What each scope also grants.
IMPLIED = {
    "read": {"read"},
    "write": {"read", "write"},
    "send": {"read", "send"},
    "admin": set(SCOPES),
}
# An interpreter ranks below a teacher: no section, no family, no thread of their own; they
# reach only the texts of their interpretation tasks (messaging.interpreting.readable_tasks).
RANK = {"interpreter": -1, "teacher": 0, "office": 1, "admin": 2}


@dataclass(frozen=True)
class AuthSubject:
    role: str  # admin | office | teacher | interpreter
    scopes: frozenset[str]
    school_ids: frozenset[int] | None  # None: every school
    staff_id: int | None = None
    api_key_id: int | None = None
    ui_language: str = "en"

    @property
    def actor(self) -> str:
        if self.api_key_id is not None:
            return f"apikey:{self.api_key_id}"
        if self.staff_id is not None:
            return f"staff:{self.staff_id}"
        return "system"

    @property
    def is_teacher(self) -> bool:
        """Sees only their own: a teacher their sections' families and threads. An interpreter
        is held to the same filters with no sections at all, so every readable statement
        gives them nothing beyond their tasks."""
        return self.role in ("teacher", "interpreter")

    @property
    def is_interpreter(self) -> bool:
        return self.role == "interpreter"

    @property
    def sees_all_schools(self) -> bool:
        return self.school_ids is None

    def can_see_school(self, school_id: int) -> bool:
        return self.school_ids is None or school_id in self.school_ids

    def require_role(self, role: str, what: str = "do this") -> None:
        if RANK[self.role] < RANK[role]:
            raise Forbidden(
                f"Only {role} staff{' or admins' if role != 'admin' else ''} can {what}."
            )

    def require_school(self, school_id: int) -> None:
        """For writes into a school: not visible is the same as not there."""
        if not self.can_see_school(school_id):
            raise NotFound("No such school.")

    def require_district_admin(self, what: str) -> None:
        """Schools and admin accounts span the district: only a district-wide admin (not one
        restricted to a school, like a school's API key) may create or change them."""
        if self.role != "admin" or not self.sees_all_schools:
            raise Forbidden(f"Only a district-wide admin can {what}.")

    def require_staff_write(self, role: str, school_ids: Iterable[int]) -> None:
        """The one rule for every staff account write (API, pages, roster): the caller is an
        admin (as in the web app, office staff do not manage accounts), every school of the
        account, before and after the change, is one of the caller's schools, and admin
        accounts (district-wide by nature) are left to district-wide admins. Checked for the
        account as it is and as it would be."""
        self.require_role("admin", "manage staff accounts")
        if role == "admin":
            self.require_district_admin("create or change admin accounts")
        outside = sorted(s for s in set(school_ids) if not self.can_see_school(s))
        if outside:
            raise Forbidden(
                "This staff account belongs to a school outside yours; only an admin of "
                "every one of its schools can change it."
            )


def _expand(scopes: list[str]) -> frozenset[str]:
    granted: set[str] = set()
    for scope in scopes:
        granted |= IMPLIED.get(scope, set())
    return frozenset(granted)


def subject_for_staff(
    staff: Staff,
    scopes: frozenset[str],
    school_id: int | None = None,
    api_key_id: int | None = None,
) -> AuthSubject:
    schools: frozenset[int] | None = frozenset(staff.school_ids)
    if staff.role == "admin":
        schools = None
    if school_id is not None:
        schools = frozenset({school_id}) if schools is None else schools & {school_id}
    return AuthSubject(
        role=staff.role,
        scopes=scopes,
        school_ids=schools,
        staff_id=staff.id,
        api_key_id=api_key_id,
        ui_language=staff.ui_language,
    )


def load_staff(session: Session, staff_id: int) -> Staff | None:
    """A staff member with their schools, ready for `subject_for_staff`."""
    return session.scalar(
        select(Staff)
        .where(Staff.id == staff_id)
        .options(selectinload(Staff.school_links), selectinload(Staff.language_links))
    )


def authenticate_api_key(
    session: Session, key: str, *, touch_later: bool = False
) -> AuthSubject | None:
    """The caller behind an API key, or None. With `touch_later` (a session that only reads),
    the key's last use is written afterwards in a transaction of its own."""
    lookup = api_key_lookup(key)
    if lookup is None:
        return None
    api_key = session.scalar(select(ApiKey).where(ApiKey.lookup == lookup))
    if api_key is None or api_key.revoked_at is not None:
        return None
    if not constant_time_equal(api_key.key_hash, hash_api_key(key)):
        return None
    scopes = _expand(api_key.scopes)
    if api_key.staff_id is not None:
        staff = load_staff(session, api_key.staff_id)
        if staff is None or not staff.active:
            return None
        subject = subject_for_staff(staff, scopes, api_key.school_id, api_key.id)
    else:
        # A key for a system (SIS, integration): admin scope without a school is district-wide.
        role = "admin" if "admin" in api_key.scopes else "office"
        schools = None if api_key.school_id is None else frozenset({api_key.school_id})
        subject = AuthSubject(role=role, scopes=scopes, school_ids=schools, api_key_id=api_key.id)
    now = utcnow()
    # Touch at most once a minute: a busy key must not turn every read into a write.
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        if touch_later:
            key_id = api_key.id
            deferred.write(
                lambda write: write.execute(
                    update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now)
                )
            )
        else:
            api_key.last_used_at = now
    return subject


# Keys this process checked lately, by a hash of the key (never the key itself), trusted for
# api_cache_seconds: a busy integration's calls then skip the database. A key revoked in this
# process is forgotten at once; in another, it stops working within api_cache_seconds.
_recent_keys: dict[str, tuple[float, AuthSubject]] = {}


def recent_subject(key: str) -> AuthSubject | None:
    found = _recent_keys.get(_key_digest(key))
    if found is None or found[0] < time.monotonic():
        return None
    return found[1]


def remember_subject(key: str, subject: AuthSubject) -> None:
    seconds = get_settings().api_cache_seconds
    if seconds <= 0:
        return
    if len(_recent_keys) > 10_000:
        _recent_keys.clear()
    _recent_keys[_key_digest(key)] = (time.monotonic() + seconds, subject)


def forget_subjects() -> None:
    _recent_keys.clear()


def _key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    session: Session,
    *,
    name: str,
    scopes: list[str],
    school_id: int | None = None,
    staff_email: str | None = None,
) -> tuple[ApiKey, str]:
    """Returns the row and the key; the key itself is never stored and is shown once."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if not scopes or unknown:
        raise Invalid(
            f"Scopes must be some of {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}."
        )
    staff_id = None
    if staff_email:
        staff = session.scalar(select(Staff).where(Staff.email == staff_email.strip().lower()))
        if staff is None:
            raise NotFound(f"No staff member with email {staff_email}.")
        staff_id = staff.id
    if school_id is not None and session.get(School, school_id) is None:
        raise NotFound(f"No school with id {school_id}.")
    key, lookup, key_hash = new_api_key()
    api_key = ApiKey(
        name=name.strip() or "key",
        lookup=lookup,
        key_hash=key_hash,
        scopes=sorted(set(scopes)),
        school_id=school_id,
        staff_id=staff_id,
    )
    session.add(api_key)
    session.flush()
    return api_key, key


def list_api_keys(
    session: Session, limit: int = 1000
) -> list[tuple[ApiKey, str | None, str | None]]:
    """Every API key (the live ones first, the newest first) with the email of its staff
    member and the name of its school, if it has them."""
    rows = session.execute(
        select(ApiKey, Staff.email, School.name)
        .outerjoin(Staff, Staff.id == ApiKey.staff_id)
        .outerjoin(School, School.id == ApiKey.school_id)
        .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id.desc())
        .limit(limit)
    )
    return [(key, email, school) for key, email, school in rows]


def get_api_key(session: Session, key_id: int) -> ApiKey:
    api_key = session.get(ApiKey, key_id)
    if api_key is None:
        raise NotFound("No such API key.")
    return api_key


def revoke_api_key(session: Session, key_id: int) -> ApiKey:
    api_key = session.get(ApiKey, key_id)
    if api_key is None:
        raise NotFound(f"No API key with id {key_id}.")
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
    forget_subjects()
    return api_key
