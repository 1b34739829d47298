"""From the language tags Hearth stores (BCP 47) to the codes translation models use: facts
about language tags every domain files things under (people, messaging, translation, the
pages), so they live below all of them."""

from app.core.contact import language_names

ENGLISH = "en"

# Argos names Traditional Chinese `zt`; every other model uses the base language code.
_TRADITIONAL_CHINESE = {"zh-Hant", "zh-TW", "zh-HK", "zh-MO"}


def mt_code(tag: str) -> str:
    """`es-MX`→`es`, `zh-Hans`/`zh-CN`→`zh`, `zh-Hant`→`zt`, `pt-BR`→`pt`."""
    parts = tag.replace("_", "-").split("-")
    base = parts[0].lower()
    if base == "zh":
        canonical = "-".join([base, *(p.title() if len(p) == 4 else p.upper() for p in parts[1:])])
        if any(canonical.startswith(t) or t in canonical for t in _TRADITIONAL_CHINESE):
            return "zt"
    return base


def display_names(code: str) -> tuple[str, str]:
    """(English name, native name) for an MT code or a stored tag."""
    tag = "zh-Hant" if code == "zt" else code
    try:
        return language_names(tag)
    except Exception:  # a code CLDR does not know still gets listed, by its code
        return code, code
