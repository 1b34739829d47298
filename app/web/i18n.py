"""The web app's own words, in the staff member's language: gettext catalogs in the `web`
domain (locales/<lang>/LC_MESSAGES/web.po), separate from the notices families receive."""

import gettext
from functools import lru_cache
from pathlib import Path

from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.notices.catalogs import LOCALES_DIR

DOMAIN = "web"
TEMPLATES_DIR = Path(__file__).parent / "templates"
# The languages the staff pages come in; English is the source.
UI_LANGUAGES = {"en": "English", "es": "Español"}


def ui_language(tag: str | None) -> str:
    base = (tag or "en").replace("_", "-").split("-")[0].lower()
    return base if base in UI_LANGUAGES else "en"


@lru_cache
def translations(lang: str) -> gettext.NullTranslations:
    if lang == "en" or not (LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file():
        return gettext.NullTranslations()
    return Translations.load(str(LOCALES_DIR), [lang], domain=DOMAIN)


@lru_cache
def environment(lang: str) -> Environment:
    """One Jinja2 environment per UI language, its gettext installed once (thread-safe)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals["ui_languages"] = UI_LANGUAGES
    env.globals["lang"] = lang
    return env


def gettext_for(lang: str):
    """`_` for Python-side strings (flash messages, form errors)."""
    return translations(lang).gettext
