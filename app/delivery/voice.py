"""Voice calls in the family's language: the TwiML a call plays, the prompts that follow, the
voice or the audio it speaks with, and what Twilio's call callbacks mean for the delivery.

A call fetches its words from Hearth when it is answered, at a URL signed per delivery (HMAC
with the app's secret key) that expires two days after the delivery was made: a guessed,
altered or old URL answers 404, so no one reads a family's message by trying numbers. Where
Twilio has a voice for the family's language the text is spoken with <Say language="…">; where
it has none and espeak-ng is installed, Hearth speaks it into a WAV file itself and the call
<Play>s it; with neither, the call is not placed."""

import logging
import math
import shutil
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Gather, VoiceResponse

from app.core.config import get_settings
from app.core.db import utcnow
from app.core.security import constant_time_equal, sign
from app.delivery.models import Delivery
from app.notices import service as notices


def N_(message: str) -> str:
    """Marks a text for `pybabel extract`; it is translated when it is spoken."""
    return message


log = logging.getLogger("hearth.delivery")

# TRANSLATORS: spoken at the end of a school's phone call, after its message.
PROMPT = N_("Press 1 to hear it again. Press 2 to leave a reply.")
# TRANSLATORS: spoken on a phone call before the family records a reply.
RECORD_PROMPT = N_("Speak your reply after the tone. Hang up when you are done.")
# TRANSLATORS: spoken on a phone call once the family's reply is recorded.
THANKS = N_("Thank you. The school will get your message. Goodbye.")

# A Hearth language (its MT code's base) → the language tag Twilio's <Say> speaks.
SAY_LANGUAGES: dict[str, str] = {
    "en": "en-US",
    "es": "es-MX",
    "vi": "vi-VN",
    "ar": "arb",
    "zh": "cmn-CN",
    "zt": "cmn-TW",
    "fr": "fr-FR",
    "pt": "pt-BR",
    "ru": "ru-RU",
    "ko": "ko-KR",
    "de": "de-DE",
    "it": "it-IT",
    "ja": "ja-JP",
    "hi": "hi-IN",
    "pl": "pl-PL",
    "tr": "tr-TR",
    "nl": "nl-NL",
    "uk": "uk-UA",
    "tl": "fil-PH",
}
# Languages Twilio has no voice for, but espeak-ng does (its voice names).
ESPEAK_VOICES: dict[str, str] = {"ht": "ht", "sw": "sw", "ne": "ne", "my": "my", "bn": "bn"}
# What espeak-ng reads aloud on the family page where the phone's browser has no voice for the
# language: robotic, but in the family's language. None for Somali, Hmong or Karen.
READ_ALOUD_VOICES: dict[str, str] = {
    **ESPEAK_VOICES,
    "en": "en-us",
    "es": "es-419",
    "vi": "vi",
    "ar": "ar",
    "zh": "cmn",
    "fr": "fr-fr",
    "pt": "pt-br",
    "ru": "ru",
    "ko": "ko",
    "uk": "uk",
    "fa": "fa",
    "ur": "ur",
    "hi": "hi",
    "pa": "pa",
    "am": "am",
}
# The longest text read aloud at once (a long notice, whole).
READ_ALOUD_MAX_CHARS = 5000
NO_VOICE = "No voice for this language: the call was not placed."
# Spoken text runs at about 14 characters a second; the prompt and pauses take ~12 s more.
CHARS_PER_SECOND = 14
PROMPT_SECONDS = 12


def _base(language: str) -> str:
    return language.replace("_", "-").split("-")[0].lower()


def say_language(language: str) -> str | None:
    """The <Say> language tag for a Hearth language, or None when Twilio has no voice for it."""
    return SAY_LANGUAGES.get(language) or SAY_LANGUAGES.get(_base(language))


def espeak_voice(language: str) -> str | None:
    """The espeak-ng voice for a language Twilio cannot speak, if espeak-ng is installed."""
    voice = ESPEAK_VOICES.get(_base(language))
    return voice if voice and shutil.which(get_settings().espeak_command) else None


def read_aloud_voice(language: str) -> str | None:
    """The espeak-ng voice that reads this language aloud, if espeak-ng is installed."""
    voice = READ_ALOUD_VOICES.get(_base(language))
    return voice if voice and shutil.which(get_settings().espeak_command) else None


def speak(text: str, voice: str) -> bytes:
    """`text` spoken by espeak-ng's `voice`, as a WAV. LookupError when it cannot be spoken."""
    # The text on stdin: a text beginning with "-" is no option.
    try:
        done = subprocess.run(
            [get_settings().espeak_command, "-v", voice, "--stdout", "--stdin"],
            input=text.encode(),
            capture_output=True,
            timeout=60,
            check=True,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        log.warning("espeak-ng could not speak (%s): %s", voice, type(exc).__name__)
        raise LookupError(NO_VOICE) from None
    return done.stdout


def can_call(language: str) -> bool:
    return say_language(language) is not None or espeak_voice(language) is not None


def estimated_minutes(text: str) -> int:
    """Billed minutes of a call speaking `text` (Twilio bills each started minute)."""
    seconds = len(text) / CHARS_PER_SECOND + PROMPT_SECONDS
    return max(1, math.ceil(seconds / 60))


def estimated_cost(text: str, calls: int = 1) -> float:
    return round(calls * estimated_minutes(text) * get_settings().voice_cost_per_minute, 4)


# Signed URLs ------------------------------------------------------------------------------------


# Long enough for a call Twilio holds in its queue for hours (a broadcast by voice to thousands
# of families goes out at the account's calls per second) and for the retry after "busy".
URL_LIFETIME = timedelta(days=2)


def signature(delivery_id: int, expires: int) -> str:
    return sign(get_settings().signing_key(), f"voice-call:{delivery_id}:{expires}")[:40]


def check(delivery_id: int, given: str, expires: int) -> bool:
    """Whether a call URL's signature `s` and expiry `e` (Unix seconds) are Hearth's and current."""
    return (
        bool(given)
        and expires >= utcnow().timestamp()
        and constant_time_equal(given, signature(delivery_id, expires))
    )


def url(row: Delivery, what: str) -> str:
    """The signed URL of a call's `what`: twiml, gather, recorded, message.wav, prompt.wav,
    recording (the recording's callback). The same for a delivery until it expires."""
    base = get_settings().public_url.rstrip("/")
    prefix = "/webhooks/twilio/voice" if what == "recording" else "/voice"
    expires = int((row.created_at + URL_LIFETIME).timestamp())
    return f"{base}{prefix}/{row.id}/{what}?e={expires}&s={quote(signature(row.id, expires))}"


def status_callback_url() -> str:
    return get_settings().public_url.rstrip("/") + "/webhooks/twilio/voice/status"


# What a call says -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Spoken:
    """A text in one language: spoken by Twilio (`say` is its tag) or played from a WAV."""

    text: str
    say: str | None


def _prompt(text: str, language: str) -> Spoken:
    """A fixed prompt in the family's language from the catalogs; English where none is."""
    translated = notices.catalog_text(text, language)
    if translated is None:
        return Spoken(text, "en-US")
    return Spoken(translated, say_language(language))


def _speak(into: VoiceResponse | Gather, spoken: Spoken, audio_url: str) -> None:
    if spoken.say:
        into.say(spoken.text, language=spoken.say)
    else:
        into.play(audio_url)


def _message(row: Delivery) -> Spoken:
    return Spoken(row.body or "", say_language(row.language))


def twiml_call(row: Delivery, answered_by: str | None = None) -> str:
    """What the call says once answered: the message, then a choice (1: again, 2: reply). An
    answering machine gets the message once, with no choice to make."""
    response = VoiceResponse()
    if answered_by and answered_by.startswith("machine"):
        _speak(response, _message(row), url(row, "message.wav"))
        response.hangup()
        return str(response)
    gather = Gather(num_digits=1, action=url(row, "gather"), method="POST", timeout=8)
    _speak(gather, _message(row), url(row, "message.wav"))
    _speak(gather, _prompt(PROMPT, row.language), url(row, "prompt.wav"))
    response.append(gather)
    response.hangup()
    return str(response)


def twiml_digits(row: Delivery, digits: str) -> str:
    """A key pressed: 2 records a reply; anything else plays the message again."""
    if digits != "2":
        return twiml_call(row)
    response = VoiceResponse()
    _speak(response, _prompt(RECORD_PROMPT, row.language), url(row, "record.wav"))
    response.record(
        max_length=120,
        play_beep=True,
        action=url(row, "recorded"),
        method="POST",
        recording_status_callback=url(row, "recording"),
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
    )
    return str(response)


def twiml_recorded(row: Delivery) -> str:
    response = VoiceResponse()
    _speak(response, _prompt(THANKS, row.language), url(row, "thanks.wav"))
    response.hangup()
    return str(response)


AUDIO_PARTS = {"prompt": PROMPT, "record": RECORD_PROMPT, "thanks": THANKS}


def audio(row: Delivery, part: str) -> bytes:
    """The WAV espeak-ng speaks for a language Twilio has no voice for: the message, or one
    of the prompts (AUDIO_PARTS). Raises LookupError when there is nothing to speak it with."""
    voice = espeak_voice(row.language)
    if voice is None or say_language(row.language) is not None:
        raise LookupError(NO_VOICE)
    if part == "message":
        text = row.body or ""
    elif part in AUDIO_PARTS:
        text = notices.catalog_text(AUDIO_PARTS[part], row.language) or ""
        if not text:  # no catalog says it in this language: Twilio speaks the English
            raise LookupError(NO_VOICE)
    else:
        raise LookupError(part)
    return speak(text, voice)


# Call callbacks ------------------------------------------------------------------------------

# A call's status → the delivery's, and the reason when it did not reach the family.
CALL_FAILURES = {
    "busy": "The line was busy.",
    "no-answer": "No one answered the call.",
    "failed": "The call could not be placed.",
    "canceled": "The call was canceled.",
}
VOICEMAIL = "Left as a voicemail: an answering machine took the call."


def delivery_for_call(session: Session, call_sid: str) -> Delivery | None:
    return session.scalar(
        select(Delivery).where(Delivery.provider_id == call_sid, Delivery.channel == "voice")
    )
