"""Hearth's own answers to a family's text (STOP, START, HELP), in the family's language."""

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from app.channels import SendError, sms
from app.core.languages import ENGLISH, mt_code
from app.delivery import system_texts
from app.schools.models import School
from app.translation import service as translation
from app.translation.protect import Protection

log = logging.getLogger("hearth.inbound")


def confirm(
    session: Session,
    school: School,
    phone: str,
    key: str,
    language: str,
    sender: str | None = None,
    **fields: str,
) -> Callable[[], None]:
    """A system reply (`key` of `system_texts`), written now, returned as the call that sends
    it (for once the transaction is over): as people translated it, else the English
    machine-translated when a model is installed (the school's name and contact kept as
    written), else the English. It goes straight through the SMS channel, not the outbox:
    carriers expect the STOP confirmation even though the number is now opted out. `sender`:
    the school's number the family wrote to (default: the school's own)."""
    code = mt_code(language)
    values = {"school": school.name, **fields}
    text = system_texts.system_text(key, language, **values)
    if text is None:
        english = system_texts.english_text(key, **values)
        kept = Protection(names=list(values.values()))
        result = translation.translate(
            session, [english], ENGLISH, code, protection=kept, school_id=school.id
        )[0]
        text = result.text if result.status == "translated" and result.text else english
    sender = sender or school.sms_sender or ""

    def send() -> None:
        try:
            sms.sms_channel().send(sender, phone, text, None)
        except SendError as exc:
            log.warning("could not send the %s confirmation: %s", code, exc.code)

    return send
