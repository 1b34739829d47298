"""Voice calls: Twilio (a call that fetches its TwiML from Hearth), or the built-in dev phone.

A call carries no text of its own: Twilio asks `twiml_url` what to say once the phone is
answered. The dev backend keeps the words it would have said, so the dev phone can list them."""

from app.channels import (
    BAD_NUMBER_CODES,
    RETRY_CODES,
    BadNumberError,
    PermanentError,
    TransientError,
    configured,
)
from app.channels.models import dev_store
from app.core.config import Settings, get_settings

# What Twilio reports about a call as it goes, all of it to the status callback.
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]
# Twilio's codes for a number that cannot be called (invalid, not allowed to dial there).
NO_CALL_CODES = {13223, 13224, 13225, 13226, 21215, 21216, 21217}


class DevVoice:
    """The dev phone: the call "happens" at once; its words land in the dev outbox."""

    name = "dev"

    def call(
        self, sender: str, to: str, text: str, twiml_url: str, status_callback: str | None
    ) -> str:
        return dev_store("voice", sender, to, text)


class TwilioVoice:
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

    def call(
        self, sender: str, to: str, text: str, twiml_url: str, status_callback: str | None
    ) -> str:
        """Place the call; Twilio fetches `twiml_url` when it is answered. Returns its CA sid."""
        from twilio.base.exceptions import TwilioException, TwilioRestException

        kwargs: dict[str, object] = {
            "to": to,
            "from_": sender,
            "url": twiml_url,
            "method": "POST",
            # Answering machines get the message once, as a voicemail (see delivery.voice).
            "machine_detection": "Enable",
        }
        if status_callback:
            kwargs["status_callback"] = status_callback
            kwargs["status_callback_event"] = STATUS_EVENTS
            kwargs["status_callback_method"] = "POST"
        try:
            call = self.client.calls.create(**kwargs)  # type: ignore[arg-type]
        except TwilioRestException as exc:
            code = int(exc.code) if exc.code else None
            text_ = (exc.msg or str(exc))[:400]
            if code in BAD_NUMBER_CODES or code in NO_CALL_CODES:
                raise BadNumberError(str(code), text_) from None
            if code in RETRY_CODES or exc.status == 429 or exc.status >= 500:
                raise TransientError(str(code or exc.status), text_) from None
            raise PermanentError(str(code or exc.status), text_) from None
        except (TwilioException, OSError, ConnectionError) as exc:
            raise TransientError("network", str(exc)[:400]) from None
        except Exception as exc:  # requests' timeouts and connection errors
            if type(exc).__module__.startswith(("requests", "urllib3")):
                raise TransientError("network", str(exc)[:400]) from None
            raise
        return str(call.sid)


def voice_channel() -> DevVoice | TwilioVoice:
    """Calls go the way texts do: through Twilio when texts do, else to the dev phone."""
    settings = get_settings()
    if settings.sms_backend == "twilio":
        return configured("voice:twilio", lambda: TwilioVoice(settings))
    return configured("voice:dev", DevVoice)
