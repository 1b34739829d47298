"""SMS: Twilio, or the built-in dev phone."""

from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.channels import TransientError, configured
from app.channels.models import DevOutbox, dev_store
from app.core.config import Settings, get_settings
from app.core.db import get_sessionmaker


class DevSms:
    """The built-in dev phone: the text lands in the dev outbox, shown at /dev/phone."""

    name = "dev"

    def send(
        self,
        sender: str,
        to: str,
        body: str,
        status_callback: str | None,
        media_url: str | None = None,
    ) -> str:
        return dev_store("sms", sender, to, body, media_url=media_url)

    def find_sent(self, sender: str, to: str, body: str, since: datetime) -> str | None:
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
        # Lazy: the Twilio SDK is heavy, and only this backend needs it.
        from app.channels.twilio_http import client_for

        self.client = client_for(settings)

    name = "twilio"

    def send(
        self,
        sender: str,
        to: str,
        body: str,
        status_callback: str | None,
        media_url: str | None = None,
    ) -> str:
        """Send a text; with `media_url`, as MMS: Twilio fetches the picture from that URL."""
        from app.channels.twilio_http import provider_errors  # the Twilio backend only

        kwargs: dict[str, Any] = {"to": to, "body": body}
        if media_url:
            kwargs["media_url"] = [media_url]
        if sender.startswith("MG"):
            kwargs["messaging_service_sid"] = sender
        else:
            kwargs["from_"] = sender
        if status_callback:
            kwargs["status_callback"] = status_callback
        with provider_errors():
            message = self.client.messages.create(**kwargs)
        return str(message.sid)

    def find_sent(self, sender: str, to: str, body: str, since: datetime) -> str | None:
        """The sid of a message Twilio already has with this body, or None if it has none."""
        from twilio.base.exceptions import TwilioException  # the Twilio backend only

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


def sms_channel() -> DevSms | TwilioSms:
    settings = get_settings()
    if settings.sms_backend == "twilio":
        return configured("sms:twilio", lambda: TwilioSms(settings))
    return configured("sms:dev", DevSms)
