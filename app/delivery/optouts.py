"""Who asked not to be written to: numbers that texted STOP to a school's sender (or that the
carrier reports opted out), and the signed link that unsubscribes a family from email."""

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Exists, select
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.db import utcnow
from app.core.security import parse_token_id, sign
from app.delivery.models import OptOut


def opted_out_phones(session: Session, sender: str | None, phones: Iterable[str]) -> set[str]:
    """The phones among `phones` that told this sender STOP."""
    wanted = {p for p in phones if p}
    if not sender or not wanted:
        return set()
    return set(
        session.scalars(
            select(OptOut.phone).where(
                OptOut.sender == sender, OptOut.active.is_(True), OptOut.phone.in_(wanted)
            )
        )
    )


def said_stop(phone: ColumnElement[str | None], sender: ColumnElement[str | None]) -> Exists:
    """Whether `phone` told `sender` STOP, as a clause of a statement of the caller's (a text's
    number is checked by the statement that claims it for sending)."""
    return (
        select(OptOut.id)
        .where(OptOut.sender == sender, OptOut.active.is_(True), OptOut.phone == phone)
        .exists()
    )


def opt_outs_for(
    session: Session, phones: Iterable[str | None], senders: Iterable[str]
) -> dict[str, list[OptOut]]:
    """Phone → its active opt-outs from any of `senders` (a family directory's view)."""
    wanted, from_senders = {p for p in phones if p}, set(senders)
    out: dict[str, list[OptOut]] = {}
    if not wanted or not from_senders:
        return out
    for row in session.scalars(
        select(OptOut)
        .where(OptOut.phone.in_(wanted), OptOut.active.is_(True), OptOut.sender.in_(from_senders))
        .order_by(OptOut.id)
    ):
        out.setdefault(row.phone, []).append(row)
    return out


def record_opt_out(
    session: Session,
    phone: str,
    sender: str,
    school_id: int | None,
    source: str,
    keyword: str | None,
) -> OptOut:
    row = session.scalar(select(OptOut).where(OptOut.phone == phone, OptOut.sender == sender))
    if row is None:
        row = OptOut(phone=phone, sender=sender, school_id=school_id)
        session.add(row)
    row.active, row.source, row.keyword = True, source, keyword
    row.opted_out_at, row.resumed_at = utcnow(), None
    return row


def resume(session: Session, phone: str, sender: str) -> bool:
    """START from a number that had opted out: texts from this sender go to it again. False
    when it had not opted out (then "Yes" is only a reply)."""
    row = session.scalar(select(OptOut).where(OptOut.phone == phone, OptOut.sender == sender))
    if row is None or not row.active:
        return False
    row.active, row.resumed_at = False, utcnow()
    return True


def unsubscribe_token(guardian_id: int) -> str:
    key = get_settings().signing_key()
    return f"{guardian_id}.{sign(key, f'unsubscribe:{guardian_id}')[:20]}"


def unsubscribed_guardian(token: str) -> int | None:
    """The guardian a one-click unsubscribe link (in every note's email) names, or None for
    a token Hearth did not sign."""
    guardian_id = parse_token_id(token.partition(".")[0])
    if guardian_id is None or unsubscribe_token(guardian_id) != token:
        return None
    return guardian_id
