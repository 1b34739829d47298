"""What a family's phone shows around a staff member's note: who wrote it, whether a machine
translated it, and that the family may answer in its own language.

    Ms. Rivera, Riverside Elementary: Mateo va a faltar mañana. (traducción automática)
    Puede responder en cualquier idioma.

- **Who wrote** begins every one-to-one text: the staff member's display name (a setting on
  their account page; their name until they set one) and the school's name. It is made of
  names only, so it is the same in every language.
- **"(machine translated)"** follows a body that a machine translated (not one people wrote
  in the family's language), unless the school switched the mark off.
- **"Reply in any language."** ends the first text of a conversation, and the first one after
  a silence of `SILENCE`.

The two lines are written by people in the family-facing catalogs (locales/*/messages.po). A
language no catalog translates gets them machine-translated like the body, or in English when
no model is installed. The preview and the outbox both build the text here, so what the
preview shows (and counts in segments) is what the phone receives.
"""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.core.languages import ENGLISH, mt_code
from app.messaging.models import Message
from app.notices import service as notices
from app.people.models import Staff
from app.schools.models import School
from app.translation import service as translation


def N_(message: str) -> str:
    """Marks a text for `pybabel extract`; it is translated when it is sent."""
    return message


# TRANSLATORS: added under texts to families: they may answer in their own language.
REPLY_INVITATION = N_("Reply in any language.")
# TRANSLATORS: after a text a machine translated for the family; keep it short.
MACHINE_MARK = N_("(machine translated)")
SILENCE = timedelta(days=30)


def display_name(staff: Staff) -> str:
    return (staff.display_name or "").strip() or staff.name


def signature(author: Staff | None, school: School) -> str:
    """Who wrote, as the text begins: "Ms. Rivera, Riverside Elementary:"; the school's name
    alone for a message no staff member wrote (an integration key)."""
    if author is None:
        return f"{school.name}:"
    return f"{display_name(author)}, {school.name}:"


def family_line(session: Session, msgid: str, language: str) -> str:
    """One of the lines above in the family's language: as people translated it, else by
    machine, else in English."""
    text = notices.catalog_text(msgid, language)
    if text is not None:
        return text
    code = mt_code(language)
    result = translation.translate(session, [msgid], ENGLISH, code)[0]
    return result.text if result.status == "translated" and result.text else msgid


def invites_reply(session: Session, thread_id: int, message: Message | None = None) -> bool:
    """Whether a note ends with the invitation to reply: no text went to the family in this
    conversation in the `SILENCE` before it (`message`, or one written now)."""
    at: datetime = message.created_at if message is not None else utcnow()
    stmt = select(Message.id).where(
        Message.thread_id == thread_id,
        Message.direction == "outbound",
        Message.created_at >= at - SILENCE,
    )
    if message is not None:
        stmt = stmt.where(Message.id < message.id)
    return session.scalar(stmt.limit(1)) is None


def family_text(
    session: Session,
    *,
    school: School,
    author: Staff | None,
    language: str,
    body: str,
    machine: bool,
    invite: bool,
) -> str:
    """The exact text a family receives for a one-to-one note whose body in its language is
    `body` (`machine`: translated by a machine)."""
    text = f"{signature(author, school)} {body}"
    if machine and school.mark_machine_translation:
        text += " " + family_line(session, MACHINE_MARK, language)
    if invite:
        text += "\n" + family_line(session, REPLY_INVITATION, language)
    return text
