"""The two ways a message leaves Hearth: SMS (Twilio, or the dev phone) and email (SMTP, or the
dev outbox). A channel sends one message and says how it went; it never touches the outbox."""

import os
import smtplib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

from app.core.config import Settings, get_settings
from app.core.db import get_sessionmaker


class SendError(Exception):
    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text


class TransientError(SendError):
    """Worth retrying: the provider is busy or down, the network hiccupped."""


class PermanentError(SendError):
    """Retrying will not help."""


class OptedOutError(PermanentError):
    """The carrier says this number has opted out of this sender (Twilio 21610)."""


class BadNumberError(PermanentError):
    """The number cannot receive SMS: invalid, landline, unreachable."""


OPTED_OUT_CODE = 21610
BAD_NUMBER_CODES = {21211, 21614, 30003, 30006}
RETRY_CODES = {20429, 63018}


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


def _dev_store(
    channel: str,
    sender: str,
    to: str,
    body: str,
    subject: str | None = None,
    html: str | None = None,
    headers: str | None = None,
) -> str:
    from app.devtools.models import DevOutbox

    provider_id = ("DEVSM" if channel == "sms" else "DEVEM") + uuid.uuid4().hex
    with get_sessionmaker()() as session:
        session.add(
            DevOutbox(
                channel=channel,
                provider_id=provider_id,
                sender=sender,
                to=to,
                body=body,
                subject=subject,
                html=html,
                headers=headers,
            )
        )
        session.commit()
    return provider_id


class DevSms:
    """The built-in dev phone: the text lands in the dev outbox, shown at /dev/phone."""

    name = "dev"

    def send(self, sender: str, to: str, body: str, status_callback: str | None) -> str:
        return _dev_store("sms", sender, to, body)

    def find_sent(self, sender: str, to: str, body: str, since: datetime) -> str | None:
        from sqlalchemy import select

        from app.devtools.models import DevOutbox

        with get_sessionmaker()() as session:
            return session.scalar(
                select(DevOutbox.provider_id)
                .where(
                    DevOutbox.channel == "sms",
                    DevOutbox.to == to,
                    DevOutbox.body == body,
                    DevOutbox.created_at >= since,
                )
                .limit(1)
            )


class TwilioSms:
    def __init__(self, settings: Settings) -> None:
        from app.delivery.twilio_http import make_client

        self.client = make_client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_api_url or None,
            settings.sms_send_timeout,
        )

    name = "twilio"

    def send(self, sender: str, to: str, body: str, status_callback: str | None) -> str:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        kwargs: dict[str, str] = {"to": to, "body": body}
        if sender.startswith("MG"):
            kwargs["messaging_service_sid"] = sender
        else:
            kwargs["from_"] = sender
        if status_callback:
            kwargs["status_callback"] = status_callback
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            code = int(exc.code) if exc.code else None
            text = (exc.msg or str(exc))[:400]
            if code == OPTED_OUT_CODE:
                raise OptedOutError(str(code), text) from None
            if code in BAD_NUMBER_CODES:
                raise BadNumberError(str(code), text) from None
            if code in RETRY_CODES or exc.status == 429 or exc.status >= 500:
                raise TransientError(str(code or exc.status), text) from None
            raise PermanentError(str(code or exc.status), text) from None
        except (TwilioException, OSError, ConnectionError) as exc:
            raise TransientError("network", str(exc)[:400]) from None
        except Exception as exc:  # requests' timeouts and connection errors
            if type(exc).__module__.startswith(("requests", "urllib3")):
                raise TransientError("network", str(exc)[:400]) from None
            raise
        return message.sid

    def find_sent(self, sender: str, to: str, body: str, since: datetime) -> str | None:
        """The sid of a message Twilio already has with this body, or None if it has none."""
        from twilio.base.exceptions import TwilioException

        kwargs: dict[str, object] = {"to": to, "date_sent_after": since, "limit": 200}
        if not sender.startswith("MG"):
            kwargs["from_"] = sender
        try:
            for message in self.client.messages.list(**kwargs):
                if message.body == body:
                    return message.sid
        except (TwilioException, OSError) as exc:
            raise TransientError("lookup", str(exc)[:400]) from None
        return None


class DevEmail:
    name = "dev"

    def send(self, email: Email) -> str:
        headers = "\n".join(f"{k}: {v}" for k, v in email.headers.items())
        if email.reply_to:
            headers = f"Reply-To: {email.reply_to}\n{headers}"
        return _dev_store(
            "email", email.sender, email.to, email.text, email.subject, email.html, headers
        )


def one_line(value: str) -> str:
    """A header value on one line: line breaks and other control characters become spaces."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())


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


_channels: dict[str, object] = {}


def sms_channel() -> DevSms | TwilioSms:
    settings = get_settings()
    key = f"sms:{settings.sms_backend}"
    if key not in _channels:
        _channels[key] = TwilioSms(settings) if settings.sms_backend == "twilio" else DevSms()
    return _channels[key]  # type: ignore[return-value]


def email_channel() -> DevEmail | SmtpEmail:
    settings = get_settings()
    key = f"email:{settings.email_backend}"
    if key not in _channels:
        _channels[key] = SmtpEmail(settings) if settings.email_backend == "smtp" else DevEmail()
    return _channels[key]  # type: ignore[return-value]


def reset_channels() -> None:
    _channels.clear()


# A forked worker process makes its own HTTP connections rather than share the parent's.
os.register_at_fork(after_in_child=reset_channels)
