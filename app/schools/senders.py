"""The one rule for a school's SMS senders, wherever they are set (API, pages, `hearth schools
set-sender`): a Twilio phone number, stored in E.164, or a Messaging Service SID; a pool of
more numbers; and which number a family sees for which staff member (below)."""

import re

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.core.contact import normalize_phone
from app.schools.models import School, SenderAssignment

_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
# What a person may type for a phone number: digits, spaces, ( ) . - and a leading +.
_PHONE_LIKE = re.compile(r"\+?[\d\s().-]{7,25}")


def normalize_sms_sender(raw: str, region: str) -> str:
    """`raw` as Hearth stores it: a number in E.164 (a national one read in `region`), or a
    Messaging Service SID (MG + 32 hex, lowercased); ValueError with a message a person
    understands otherwise."""
    text = raw.strip()
    if _SERVICE_SID.fullmatch(text):
        return "MG" + text[2:].lower()
    if text[:2].upper() == "MG":
        raise ValueError(
            f"'{raw}' is not a Messaging Service SID: those are MG followed by 32 hex characters"
        )
    if not _PHONE_LIKE.fullmatch(text):
        raise ValueError(
            f"'{raw}' is neither a phone number (E.164, e.g. +15125550100) nor a Messaging "
            "Service SID (MG followed by 32 hex characters)"
        )
    try:
        return normalize_phone(text, region)
    except ValueError:
        raise ValueError(
            f"'{raw}' is not a valid phone number (E.164, e.g. +15125550100)"
        ) from None


# The number pool ---------------------------------------------------------------------------
#
# A school may own several numbers: its own (`sms_sender`, the office's) and a pool of more
# (`sms_pool`). Each (family, staff member) pair that texts gets its own number of the pool,
# kept in `sender_assignments` and never shared with another staff member for that family, so
# a family's text *to* that number belongs to that staff member's conversation: no guessing.
# The office always writes from the school's own number. With no pool, or more staff writing
# to one family than the pool has numbers, the school's number is shared and the reply rule
# of messaging.replies decides.


def normalize_sms_pool(raw: list[str] | str, region: str) -> list[str]:
    """The extra numbers of a school's pool as Hearth stores them: E.164, each once. `raw` is
    a list, or one text with the numbers separated by commas, spaces or lines. A Messaging
    Service SID is refused here: its numbers are listed one by one."""
    items = raw if isinstance(raw, list) else re.split(r"[,;\n]+", raw)
    numbers: list[str] = []
    for item in items:
        if not item.strip():
            continue
        value = normalize_sms_sender(item, region)
        if value.startswith("MG"):
            raise ValueError(
                f"'{item.strip()}' is a Messaging Service: list the phone numbers of the pool"
            )
        if value not in numbers:
            numbers.append(value)
    return numbers


def school_numbers(school: School) -> list[str]:
    """Every number of the school: its own first, then the pool."""
    if not school.sms_sender:
        return []
    return [school.sms_sender] + [n for n in school.sms_pool or [] if n != school.sms_sender]


def school_for_number(session: Session, to: str, service_sid: str | None) -> School | None:
    """The school a text to `to` (or through the Messaging Service `service_sid`) is for. A
    number is one school's (schools.service refuses to give it to a second); where older data
    has it twice, a school's own number wins over a pool's, then the lowest school id, so the
    answer is the same every time."""
    for sender in (to, service_sid):
        if sender:
            school = session.scalar(
                select(School).where(School.sms_sender == sender).order_by(School.id).limit(1)
            )
            if school is not None:
                return school
    if to:
        pools = select(School).where(School.sms_pool.is_not(None)).order_by(School.id)
        for school in session.scalars(pools):
            if to in (school.sms_pool or []):
                return school
    return None


def senders_for(
    session: Session, school: School, guardian_ids: list[int], owner_staff_id: int | None
) -> dict[int, str]:
    """guardian id → the number that family sees for this owner (None: the office): its
    assigned number of the pool, assigned now if it has none yet (the least used free one),
    else the school's own number. Empty when the school has no SMS sender."""
    if not school.sms_sender:
        return {}
    numbers = school_numbers(school)
    own = {g: school.sms_sender for g in guardian_ids}
    if owner_staff_id is None or len(numbers) == 1 or not guardian_ids:
        return own
    rows = list(
        session.scalars(
            select(SenderAssignment).where(
                SenderAssignment.school_id == school.id,
                SenderAssignment.guardian_id.in_(guardian_ids),
            )
        )
    )
    usage = dict(
        session.execute(
            select(SenderAssignment.sender, func.count())
            .where(SenderAssignment.school_id == school.id)
            .group_by(SenderAssignment.sender)
        ).all()
    )
    result = dict(own)
    for guardian_id in guardian_ids:
        theirs = [r for r in rows if r.guardian_id == guardian_id]
        mine = next((r for r in theirs if r.owner_key == owner_staff_id), None)
        if mine is not None and mine.sender in numbers:
            result[guardian_id] = mine.sender
            continue
        taken = {r.sender for r in theirs if r is not mine}
        free = [n for n in numbers[1:] if n not in taken]
        if not free:
            continue  # more staff than numbers for this family: the shared number
        choice = min(free, key=lambda n: (usage.get(n, 0), numbers.index(n)))
        usage[choice] = usage.get(choice, 0) + 1
        if mine is None:
            session.add(
                SenderAssignment(
                    school_id=school.id,
                    guardian_id=guardian_id,
                    owner_staff_id=owner_staff_id,
                    owner_key=owner_staff_id,
                    sender=choice,
                )
            )
        else:
            mine.sender = choice
        result[guardian_id] = choice
    session.flush()
    return result


def owner_of_number(
    session: Session, school: School, guardian_ids: list[int], to: str
) -> SenderAssignment | None:
    """Whose conversation a family's text to `to` belongs to, when `to` is a pool number
    assigned to one staff member for this family; None for the school's own number (shared:
    the reply rule decides) or a number not assigned to this family."""
    if not guardian_ids or to == school.sms_sender or to not in school_numbers(school):
        return None
    return session.scalar(
        select(SenderAssignment)
        .where(
            SenderAssignment.school_id == school.id,
            SenderAssignment.guardian_id.in_(guardian_ids),
            SenderAssignment.sender == to,
        )
        .order_by(SenderAssignment.id.desc())
        .limit(1)
    )


def owners_with_numbers(school_id: int, guardian_id: int) -> Select[int | None]:
    """The staff members who have a pool number of their own for this family."""
    return select(SenderAssignment.owner_staff_id).where(
        SenderAssignment.school_id == school_id,
        SenderAssignment.guardian_id == guardian_id,
        SenderAssignment.owner_staff_id.is_not(None),
    )
