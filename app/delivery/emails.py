"""A note to a family as an email."""

from collections.abc import Sequence

from app.channels.email import Attached, Email, text_as_html
from app.core.config import get_settings
from app.delivery.models import Delivery
from app.delivery.optouts import unsubscribe_token
from app.schools.models import School


def note_email(row: Delivery, school: School, files: Sequence[Attached] = ()) -> Email:
    """The delivery as an email, in the envelope it was planned with (its subject, and the
    Reply-To that brings a family's answer back to its conversation), with the message's
    attachments (name, type, what reads the stored file) as files of the email."""
    text = row.body or ""
    unsubscribe = (
        f"{get_settings().public_url.rstrip('/')}/unsubscribe/{unsubscribe_token(row.guardian_id)}"
    )
    return Email(
        to=row.address,
        subject=row.email_subject or school.name,
        text=text,
        html=text_as_html(text, row.language),
        sender=row.sender or get_settings().email_from,
        reply_to=row.reply_to,
        language=row.language,
        attachments=list(files),
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Hearth-Delivery": str(row.id),
        },
    )
