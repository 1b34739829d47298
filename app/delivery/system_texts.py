"""The few texts Hearth itself sends by SMS, in the families' languages.

Short, plain, and written by people: their translations are in the gettext catalogs
(`locales/`, with the notice templates; `make catalogs`). `system_text` answers None for a
language no catalog translates; the caller (`inbound._confirm`) then machine-translates the
English text when a model is installed, else sends the English. Placeholders are `%(name)s`.
"""

from app.notices import service as notices


def N_(message: str) -> str:
    """Marks a text for `pybabel extract`; it is translated when it is sent."""
    return message


STOP_CONFIRMED = "stop_confirmed"
START_CONFIRMED = "start_confirmed"
HELP_REPLY = "help_reply"
TRANSLATOR_WILL_HELP = "translator_will_help"

TEXTS: dict[str, str] = {
    # TRANSLATORS: START and STOP are keywords the phone company reads: keep them in English.
    STOP_CONFIRMED: N_(
        "You will no longer receive texts from %(school)s. Reply START to receive them again."
    ),
    # TRANSLATORS: STOP is a keyword the phone company reads: keep it in English.
    START_CONFIRMED: N_("You will receive texts from %(school)s again. Reply STOP to stop."),
    # TRANSLATORS: %(contact)s is an email address or a phone number. Keep STOP in English.
    HELP_REPLY: N_(
        "%(school)s: messages from your child's school. Questions? %(contact)s. Reply STOP to stop."
    ),
    # TRANSLATORS: for families whose language Hearth cannot translate by machine.
    TRANSLATOR_WILL_HELP: N_(
        "You can reply in your own language. A translator will help the school read it."
    ),
}


def system_text(key: str, language: str, **fields: str) -> str | None:
    """The text `key` in `language` (a Hearth tag) with `fields` filled in, as people wrote
    it; None when no catalog translates it. English is the source and always answers."""
    text = notices.catalog_text(TEXTS[key], language)
    return None if text is None else text % fields


def english_text(key: str, **fields: str) -> str:
    return TEXTS[key] % fields
