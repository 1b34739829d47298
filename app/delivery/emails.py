"""A note to a family as an email."""

from sqlalchemy.orm import Session

from app.channels.email import Email, text_as_html
from app.core.config import get_settings
from app.delivery.models import Delivery
from app.delivery.optouts import unsubscribe_token
from app.messaging.models import Message, Thread
from app.messaging.tokens import reply_address
from app.schools.models import School


def note_email(session: Session, row: Delivery, school: School) -> Email:
    message = session.get(Message, row.message_id)
    thread = session.get(Thread, message.thread_id) if message else None
    subject = thread.subject if thread and thread.subject else school.name
    text = row.body or ""
    reply_to = reply_address(thread.id) if thread else None
    unsubscribe = (
        f"{get_settings().public_url.rstrip('/')}/unsubscribe/{unsubscribe_token(row.guardian_id)}"
    )
    return Email(
        to=row.address,
        subject=subject,
        text=text,
        html=text_as_html(text, row.language),
        sender=row.sender or get_settings().email_from,
        reply_to=reply_to,
        language=row.language,
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Hearth-Delivery": str(row.id),
        },
    )
