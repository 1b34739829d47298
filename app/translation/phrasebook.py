"""Short family replies ("Sí", "gracias 🙏", "OK", "Cảm ơn cô ạ"), answered from a phrasebook
people wrote rather than by the model, which is least reliable on a word or two.

The phrases are gettext messages of their own domain, `phrases` (`make catalogs` extracts them
into locales/phrases.pot and each locales/<lang>/LC_MESSAGES/phrases.po). A translation may
list other common ways to write the phrase after the first, separated by " | "; the first is
what staff reading that language see. English, the msgids' language, takes its other ways
from ENGLISH_VARIANTS.

A reply is looked up by a key that ignores case, punctuation, spaces, emoji and letters held
three times ("siii"); accents are ignored too where that is safe for a short reply (Spanish
"si" is "sí"; Arabic vowel marks). Not in Vietnamese, whose tones tell words apart ("có",
yes; "cô", teacher; "cỏ", grass): there a reply without tones matches only a phrase of two
syllables or more that no other phrase shares ("cam on" is "cảm ơn"). Nor in Russian, Korean
or Chinese, where it would fold letters together. A reply is looked for among the phrases of
its language, then among the English ones (families often answer "ok" or "thanks")."""

import re
import unicodedata
from functools import lru_cache

from babel.messages.mofile import read_mo

from app.core.languages import ENGLISH, mt_code
from app.notices.catalogs import LOCALES_DIR

DOMAIN = "phrases"
MAX_LETTERS = 40  # longer texts are messages, not short replies
VARIANT_SEPARATOR = " | "


def N_(message: str) -> str:
    """Marks a phrase for extraction into the catalogs."""
    return message


# In this order: where two phrases of one language are written alike ("Bonjour" is "Hello"
# and "Good morning"), a reply written that way means the first.
PHRASES: tuple[str, ...] = (
    # TRANSLATORS: Short replies a family texts back to the school,
    # and what staff reading this language see for them. Write the
    # reply as a parent would text it. Other common ways to write it
    # may follow, separated by " | " ("Gracias | Gracias maestra");
    # the first is the one shown to staff.
    N_("Yes"),
    N_("No"),
    N_("OK"),
    N_("Thank you"),
    N_("Thank you very much"),
    N_("Yes, thank you"),
    N_("OK, thank you"),
    N_("No, thank you"),
    N_("Hello"),
    N_("Good morning"),
    N_("Good afternoon"),
    N_("Good evening"),
    N_("Goodbye"),
    N_("See you tomorrow"),
    # TRANSLATORS: A parent's answer to an invitation to a meeting or an event.
    N_("I'll be there"),
    # TRANSLATORS: A parent's answer to an invitation to a meeting or an event.
    N_("I can't come"),
    N_("Call me"),
    N_("What time?"),
    N_("I understand"),
    N_("I don't understand"),
    # TRANSLATORS: "I have received your message."
    N_("Got it"),
    N_("Sorry"),
    N_("Of course"),
    N_("No problem"),
    # TRANSLATORS: A reply to a text from a number the parent does not know.
    N_("Who is this?"),
    # TRANSLATORS: A parent cancels the conference time it booked by text. Not the bare word
    # for "cancel" where it is an opt-out keyword (CANCEL, cancelar, الغاء, jooji).
    N_("Cancel the meeting"),
    # TRANSLATORS: A parent asks to move the conference time it booked by text.
    N_("Change the time"),
)

# Not single letters or bare abbreviations: English is also where replies in other languages
# are looked for, and there "k" or "ko" can be "không", no.
ENGLISH_VARIANTS: dict[str, tuple[str, ...]] = {
    "Yes": ("yeah", "yep", "yea", "yes ma'am", "yes sir"),
    "No": ("nope", "no ma'am", "no sir"),
    "OK": ("okay", "okey", "oki", "okie", "alright", "all right"),
    "Thank you": ("thanks", "thank u", "thx", "thanks teacher", "thank you teacher"),
    "Thank you very much": ("thank you so much", "thanks a lot", "thanks so much", "tysm"),
    "Yes, thank you": ("yes thanks",),
    "OK, thank you": ("ok thanks", "okay thanks", "okay thank you", "ok thx"),
    "No, thank you": ("no thanks",),
    "Hello": ("hi", "hey", "hello teacher", "hi teacher"),
    "Goodbye": ("bye", "bye bye"),
    "See you tomorrow": ("see you tmrw", "see u tomorrow", "see you tomorrow then"),
    "I'll be there": ("i will be there",),
    "I can't come": ("i cannot come", "i can not come", "i can't make it"),
    "Call me": ("please call me", "call me please", "can you call me"),
    "I don't understand": ("i do not understand",),
    "Got it": ("received", "noted"),
    "Sorry": ("i'm sorry", "im sorry", "sorry about that"),
    "Of course": ("sure",),
    "No problem": ("no worries",),
    "Who is this?": ("who is this", "who's this", "who are you"),
    "Cancel the meeting": (
        "cancel meeting",
        "cancel my meeting",
        "cancel the appointment",
        "cancel my appointment",
        "cancel appointment",
        "cancel my time",
    ),
    "Change the time": ("change", "change time", "change my time", "reschedule", "change it"),
}

# Languages where a short reply written without its accents still means the same thing.
_ACCENTS_IGNORED = {"en", "es", "pt", "fr", "ht", "so", "hmn", "ar"}
_ARABIC_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي", "ة": "ه", "ـ": None})
_HELD = re.compile(r"(\w)\1{2,}")


def _emoji(ch: str) -> bool:
    return unicodedata.category(ch) in ("So", "Sk", "Me") or ch in "\u200d\ufe0e\ufe0f"


def split_emoji(text: str) -> tuple[str, str]:
    """(the words, the emoji in the order written)."""
    return "".join(ch for ch in text if not _emoji(ch)), "".join(ch for ch in text if _emoji(ch))


def key(text: str, language: str, *, fold: bool = False) -> str:
    """What a reply is looked up by: no case, punctuation, spaces or emoji; with `fold`, no
    accents either."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(
        ch for ch in text if not (_emoji(ch) or unicodedata.category(ch).startswith(("P", "Z")))
    )
    text = "".join(text.split())
    if language == "ar":
        text = text.translate(_ARABIC_LETTERS)
    if fold:
        text = text.replace("đ", "d")
        decomposed = unicodedata.normalize("NFD", text)
        text = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not _mark(ch)))
    return _HELD.sub(r"\1", text)


def _mark(ch: str) -> bool:
    return unicodedata.category(ch) == "Mn"


@lru_cache
def phrases() -> dict[str, dict[str, tuple[str, ...]]]:
    """MT code → {English phrase: the ways to write it in that language, first shown}."""
    found: dict[str, dict[str, tuple[str, ...]]] = {
        ENGLISH: {p: (p, *ENGLISH_VARIANTS.get(p, ())) for p in PHRASES}
    }
    if not LOCALES_DIR.is_dir():
        return found
    for folder in sorted(LOCALES_DIR.iterdir()):
        mo = folder / "LC_MESSAGES" / f"{DOMAIN}.mo"
        if not mo.is_file():
            continue
        with mo.open("rb") as fp:
            catalog = read_mo(fp)
        entries: dict[str, tuple[str, ...]] = {}
        for phrase in PHRASES:
            message = catalog.get(phrase)
            if message is not None and isinstance(message.string, str) and message.string:
                ways = [w.strip() for w in message.string.split(VARIANT_SEPARATOR.strip())]
                entries[phrase] = tuple(w for w in ways if w)
        found[mt_code(folder.name)] = entries
    return found


@lru_cache
def _index(language: str) -> tuple[dict[str, str], dict[str, str]]:
    """(exact key → phrase, accent-free key → phrase) of one language."""
    exact: dict[str, str] = {}
    folded: dict[str, set[str]] = {}
    for phrase, ways in phrases().get(language, {}).items():
        for way in ways:
            exact.setdefault(key(way, language), phrase)  # the first phrase keeps a key
            if language in _ACCENTS_IGNORED or (language == "vi" and len(way.split()) >= 2):
                folded.setdefault(key(way, language, fold=True), set()).add(phrase)
    # An accent-free key that two phrases share means neither.
    return exact, {k: next(iter(v)) for k, v in folded.items() if len(v) == 1}


def find(text: str, language: str) -> str | None:
    """The English phrase a short reply in `language` (an MT code) says, or None."""
    # Emoji are no letters: counted on the text as written, a message is let go at once.
    letters = sum(ch.isalpha() for ch in text)
    if not letters or letters > MAX_LETTERS:
        return None
    words, _ = split_emoji(text)
    for code in dict.fromkeys([language, ENGLISH]):
        exact, folded = _index(code)
        phrase = exact.get(key(words, code)) or folded.get(key(words, code, fold=True))
        if phrase is not None:
            return phrase
    return None


def phrase_in(phrase: str, language: str) -> str | None:
    """How staff reading `language` (an MT code) see an English phrase; None untranslated."""
    ways = phrases().get(language, {}).get(phrase)
    return ways[0] if ways else None


def lookup(text: str, source: str, target: str) -> str | None:
    """A short reply written in `source`, as the phrasebook says it in `target` (language
    tags), its emoji kept; None when the phrasebook does not have it in both."""
    phrase = find(text, mt_code(source))
    if phrase is None:
        return None
    rendered = phrase_in(phrase, mt_code(target))
    if rendered is None:
        return None
    _, emoji = split_emoji(text)
    return f"{rendered} {emoji}" if emoji else rendered
