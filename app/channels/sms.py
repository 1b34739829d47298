"""SMS: Twilio, or the built-in dev phone."""

from datetime import datetime

from sqlalchemy import select

from app.channels import (
    BAD_NUMBER_CODES,
    OPTED_OUT_CODE,
    RETRY_CODES,
    BadNumberError,
    OptedOutError,
    PermanentError,
    TransientError,
    configured,
)
from app.channels.models import DevOutbox, dev_store
from app.core.config import Settings, get_settings
from app.core.db import get_sessionmaker


class DevSms:
    """The built-in dev phone: the text lands in the dev outbox, shown at /dev/phone."""

    name = "dev"

    def send(self, sender: str, to: str, body: str, status_callback: str | None) -> str:
        return dev_store("sms", sender, to, body)

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
        from app.channels.twilio_http import make_client

        self.client = make_client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_api_url or None,
            settings.sms_send_timeout,
        )

    name = "twilio"

    def send(self, sender: str, to: str, body: str, status_callback: str | None) -> str:
        # The Twilio backend only, like the SDK itself.
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
