"""Home languages as SIS exports spell them: `es`, `spa`, `Spanish`, `es_MX`, `Haitian Creole`."""

from functools import lru_cache

from babel import Locale
from babel.core import get_global

from app.core.contact import EXTRA_LANGUAGES, normalize_language

# Names SIS exports use that CLDR names differently (or not at all).
SIS_NAMES: dict[str, str] = {
    "mandarin": "zh",
    "chinese (mandarin)": "zh",
    "chinese mandarin": "zh",
    "cantonese": "yue",
    "chinese (cantonese)": "yue",
    "haitian": "ht",
    "creole": "ht",
    "haitian-creole": "ht",
    "farsi": "fa",
    "tagalog": "tl",
    "filipino": "fil",
    "burmese": "my",
    "pashto": "ps",
    "kirundi": "rn",
    "karen": "kar",
    "s'gaw karen": "kar",
}


@lru_cache
def _names() -> dict[str, str]:
    names = {name.lower(): code for code, name in Locale("en").languages.items()}
    names.update({english.lower(): code for code, (english, _) in EXTRA_LANGUAGES.items()})
    names.update(SIS_NAMES)
    return names


def resolve_language(raw: str) -> str | None:
    """A normalized language tag, or None when the value names no language Hearth knows."""
    text = " ".join(raw.split())
    if not text:
        return None
    lowered = text.lower()
    # ISO 639-2/3 codes (`spa`, `vie`): Babel would add a likely region (`spa` -> `es-ES`).
    alias = get_global("language_aliases").get(lowered)
    if len(lowered) == 3 and alias and "_" not in alias:
        text = alias
    elif lowered in _names():
        text = _names()[lowered]
    try:
        return normalize_language(text)
    except ValueError:
        return None
