"""Email to staff (a password link): plain text with an escaped HTML twin, sent through the
email channel, from the address Hearth sends its own mail from."""

import html
import logging

from app.channels import SendError
from app.channels.email import Email, email_channel
from app.core.config import get_settings

log = logging.getLogger("hearth.web")


def mail_html(text: str) -> str:
    """A plain-text staff email as HTML paragraphs, every character of it escaped."""
    paragraphs = html.escape(text).split("\n\n")
    return "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs)


def staff_mail(to: str, subject: str, text: str) -> Email:
    return Email(
        to=to, subject=subject, text=text, html=mail_html(text), sender=get_settings().email_from
    )


def send_staff_mail(mail: Email) -> None:
    """Sends it, after the request that wrote the link has committed and answered; a failure
    is logged (the staff member can ask again), never shown to whoever asked."""
    try:
        email_channel().send(mail)
    except SendError as exc:
        log.warning("could not send a staff email: %s", exc.code)
