"""The emails Hearth writes: a note to a family, and a family's reply to a staff member."""

from sqlalchemy.orm import Session

from app.channels.email import Email, text_as_html
from app.core.config import get_settings
from app.delivery.models import Delivery
from app.delivery.optouts import unsubscribe_token
from app.messaging.models import Message, Thread
from app.messaging.tokens import reply_address
from app.people.models import Staff
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


def reply_notification(
    staff: Staff,
    thread: Thread,
    family_name: str,
    original: str,
    original_language: str,
    translated: str | None,
    language: str,
) -> Email:
    settings = get_settings()
    link = f"{settings.public_url.rstrip('/')}/threads/{thread.id}"
    if translated and translated != original:
        text = (
            f"{family_name} replied ({original_language}):\n\n{translated}\n\n"
            f"Original:\n{original}\n\nOpen the conversation: {link}"
        )
    else:
        text = f"{family_name} replied:\n\n{original}\n\nOpen the conversation: {link}"
    return Email(
        to=staff.email,
        subject=f"Reply from {family_name}: {thread.subject or ''}".strip(),
        text=text,
        html=text_as_html(text, language),
        sender=settings.email_from,
        language=language,
    )
