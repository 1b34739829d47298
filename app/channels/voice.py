"""Voice calls: Twilio (a call that fetches its TwiML from Hearth), or the built-in dev phone.

A call carries no text of its own: Twilio asks `twiml_url` what to say once the phone is
answered. The dev backend keeps the words it would have said, so the dev phone can list them."""

from app.channels import configured
from app.channels.models import dev_store
from app.core.config import Settings, get_settings

# What Twilio reports about a call as it goes, all of it to the status callback.
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]
# Twilio's codes for a number that cannot be called (invalid, not allowed to dial there).
NO_CALL_CODES = frozenset({13223, 13224, 13225, 13226, 21215, 21216, 21217})


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
        from app.channels.twilio_http import client_for

        self.client = client_for(settings)

    name = "twilio"

    def call(
        self, sender: str, to: str, text: str, twiml_url: str, status_callback: str | None
    ) -> str:
        """Place the call; Twilio fetches `twiml_url` when it is answered. Returns its CA sid."""
        from app.channels.twilio_http import provider_errors  # the Twilio backend only

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
        with provider_errors(NO_CALL_CODES):
            call = self.client.calls.create(**kwargs)  # type: ignore[arg-type]
        return str(call.sid)


def voice_channel() -> DevVoice | TwilioVoice:
    """Calls go the way texts do: through Twilio when texts do, else to the dev phone."""
    settings = get_settings()
    if settings.sms_backend == "twilio":
        return configured("voice:twilio", lambda: TwilioVoice(settings))
    return configured("voice:dev", DevVoice)
