"""A question's job: read each family reply as a possible answer."""

from sqlalchemy.orm import Session

from app.core.queue import job
from app.messaging import replies
from app.questions import service


@job("questions.read_answer", queue="translate", retries=3, retry_delay=10)
def read_answer(session: Session, message_id: int) -> str | None:
    """A family's reply, read as the answer to the question it received last, if it is one."""
    return service.read_reply(session, message_id)


replies.on_reply("questions.read_answer")
