"""Email: SMTP, or the dev outbox."""

import html
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid

from app.channels import PermanentError, TransientError, configured
from app.channels.models import dev_store
from app.core.config import Settings, get_settings

# A file sent along: (file name, content type, what reads its bytes when the email is built;
# an `OSError` from it is a passing failure, tried again later).
Attached = tuple[str, str, Callable[[], bytes]]

RIGHT_TO_LEFT = {"ar", "fa", "ur", "he", "ps", "prs"}


@dataclass
class Email:
    to: str
    subject: str
    text: str
    html: str
    sender: str
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    language: str = "en"
    attachments: list[Attached] = field(default_factory=list)


def text_as_html(text: str, language: str) -> str:
    """A plain-text email as a whole HTML page in `language` (right to left where it is
    written so), every character of the text escaped."""
    direction = "rtl" if language in RIGHT_TO_LEFT else "ltr"
    paragraphs = "".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n")
    )
    return (
        f'<!doctype html><html lang="{language}" dir="{direction}"><body style="font-family:'
        f'sans-serif;font-size:16px;line-height:1.5">{paragraphs}</body></html>'
    )


def one_line(value: str) -> str:
    """A header value on one line: line breaks and other control characters become spaces."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())


class DevEmail:
    name = "dev"

    def send(self, email: Email) -> str:
        headers = "\n".join(f"{k}: {v}" for k, v in email.headers.items())
        if email.attachments:  # the outbox keeps the names, not the files
            names = ", ".join(one_line(name) for name, _, _ in email.attachments)
            headers = f"{headers}\nX-Hearth-Attachments: {names}"
        if email.reply_to:
            headers = f"Reply-To: {email.reply_to}\n{headers}"
        return dev_store(
            "email", email.sender, email.to, email.text, email.subject, email.html, headers
        )


class SmtpEmail:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, email: Email) -> str:
        s = self.settings
        message = EmailMessage()
        message["From"] = one_line(email.sender)
        message["To"] = one_line(email.to)
        # A line break in a header is refused by the email library (and would be header
        # injection if it were not); one that got past the API must not stop the send.
        message["Subject"] = one_line(email.subject)
        message_id = make_msgid(domain=s.email_reply_domain)
        message["Message-ID"] = message_id
        message["Content-Language"] = email.language
        if email.reply_to:
            message["Reply-To"] = one_line(email.reply_to)
        for name, value in email.headers.items():
            message[name] = one_line(value)
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        try:
            for filename, content_type, read in email.attachments:
                maintype, subtype = content_type.split("/", 1)
                message.add_attachment(
                    read(), maintype=maintype, subtype=subtype, filename=filename
                )
        except OSError as exc:
            raise TransientError("attachment", str(exc)[:400]) from None
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.sms_send_timeout) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            error = TransientError if 400 <= code < 500 else PermanentError
            raise error(str(code), text.decode(errors="replace")[:400]) from None
        except smtplib.SMTPResponseException as exc:
            error = TransientError if 400 <= exc.smtp_code < 500 else PermanentError
            raise error(str(exc.smtp_code), str(exc.smtp_error)[:400]) from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise TransientError("smtp", str(exc)[:400]) from None
        return message_id.strip("<>")


def email_channel() -> DevEmail | SmtpEmail:
    settings = get_settings()
    if settings.email_backend == "smtp":
        return configured("email:smtp", lambda: SmtpEmail(settings))
    return configured("email:dev", DevEmail)
