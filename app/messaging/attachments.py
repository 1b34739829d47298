"""Who may upload and read a message's photos and PDFs (the files themselves:
app/delivery/attachments.py).

- Staff upload a file first (it is on no message yet, and only its uploader may use or read
  it), then name it in the note or broadcast they post.
- Staff read a message's files where they may read its thread (a teacher: their threads).
- A family reads them on its family page, for the messages that page shows it (the staff's,
  and the photos it sent itself); any other attachment is "not found", as any other page is.
"""

from sqlalchemy.orm import Session

from app.auth.service import AuthSubject
from app.core.config import get_settings
from app.core.errors import NotFound
from app.delivery import attachments as files
from app.delivery.models import Attachment
from app.messaging.family import visible_messages
from app.messaging.models import Message
from app.messaging.service import get_thread, uploader


def upload(
    session: Session, subject: AuthSubject, filename: str, content_type: str | None, data: bytes
) -> Attachment:
    return files.store(session, uploader(subject), filename, content_type, data)


def read_limit() -> int:
    """How many bytes of an upload are read: one more than the largest allowed."""
    return get_settings().attachment_max_mb * 1024 * 1024 + 1


def for_staff(session: Session, subject: AuthSubject, attachment_id: int) -> Attachment:
    row = session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound("No such attachment.")
    if row.message_id is None:
        if row.uploaded_by != uploader(subject):
            raise NotFound("No such attachment.")
        return row
    message = session.get(Message, row.message_id)
    if message is None:
        raise NotFound("No such attachment.")
    try:
        get_thread(session, subject, message.thread_id)
    except NotFound:  # another's thread: the same answer as a file that does not exist
        raise NotFound("No such attachment.") from None
    return row


def for_family(session: Session, guardian_id: int, attachment_id: int) -> Attachment | None:
    row = session.get(Attachment, attachment_id)
    if row is None or row.message_id is None:
        return None
    visible = session.scalar(
        visible_messages(guardian_id)
        .where(Message.id == row.message_id)
        .with_only_columns(Message.id)
    )
    return row if visible is not None else None


def of_messages(session: Session, message_ids: list[int]) -> dict[int, list[Attachment]]:
    return files.for_messages(session, message_ids)
