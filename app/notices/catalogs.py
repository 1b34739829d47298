"""The gettext catalogs in `locales/`: which language tag reads which catalog, and what each
catalog has translated.

Every catalog is one domain, `messages`: the notice templates and Hearth's own SMS texts.
English is the source language (the msgids), so it needs no catalog."""

import gettext
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.support import Translations


def project_dir(name: str) -> Path:
    """A top-level folder of the project: in the source tree, else the copy an installed
    package carries in app/_bundled/ (see setup.py), else in the working directory."""
    package = Path(__file__).resolve().parents[1]
    for folder in (package.parent / name, package / "_bundled" / name):
        if folder.is_dir():
            return folder
    return Path.cwd() / name


LOCALES_DIR = project_dir("locales")
DOMAIN = "messages"
SOURCE_LOCALE = "en"

# Chinese is split by script, never folded onto one catalog: a Traditional Chinese reader
# gets machine translation rather than Simplified characters.
_TRADITIONAL_REGIONS = {"TW", "HK", "MO"}


def _mo_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"


@lru_cache
def shipped_locales() -> frozenset[str]:
    """The catalog locales with a compiled catalog, e.g. {"es", "zh_Hans", "pt"}."""
    if not LOCALES_DIR.is_dir():
        return frozenset()
    return frozenset(p.name for p in LOCALES_DIR.iterdir() if _mo_path(p.name).is_file())


def _candidates(tag: str) -> list[str]:
    parts = [p for p in tag.strip().replace("_", "-").split("-") if p]
    if not parts:
        return []
    base = parts[0].lower()
    script = next((p.title() for p in parts[1:] if len(p) == 4 and p.isalpha()), None)
    region = next((p.upper() for p in parts[1:] if len(p) in (2, 3) and p.isalnum()), None)
    if base == "zh":
        if script is None:
            script = "Hant" if region in _TRADITIONAL_REGIONS else "Hans"
        return [f"zh_{script}"]
    found = [f"{base}_{script}"] if script else []
    if region:
        found.append(f"{base}_{region}")
    return [*found, base]


def catalog_locale(tag: str) -> str | None:
    """The catalog for a Hearth language tag, with base-language fallback: `es-MX` → `es`,
    `pt-BR` → `pt`, `zh`/`zh-CN`/`zh-Hans` → `zh_Hans`, any English → `en` (the source).
    None when no catalog is shipped for the language (`hmn`, `sw`, `zh-Hant`, ...)."""
    candidates = _candidates(tag)
    if candidates and candidates[-1] == SOURCE_LOCALE:
        return SOURCE_LOCALE
    shipped = shipped_locales()
    return next((c for c in candidates if c in shipped), None)


@lru_cache
def translations(locale: str) -> gettext.NullTranslations:
    """gettext translations of a catalog locale; English (and an unknown locale) translate
    nothing, so the msgids come out as written."""
    if locale == SOURCE_LOCALE or locale not in shipped_locales():
        return gettext.NullTranslations()
    with _mo_path(locale).open("rb") as fp:
        return Translations(fp, domain=DOMAIN)


@lru_cache
def translated_ids(locale: str) -> frozenset[str]:
    """The msgids (the singular, for plural messages) that the catalog really translates:
    every form non-empty. Fuzzy entries never reach a compiled catalog."""
    if locale not in shipped_locales():
        return frozenset()
    with _mo_path(locale).open("rb") as fp:
        catalog = read_mo(fp)
    done = set()
    for message in catalog:
        if not message.id:
            continue  # the header
        forms = message.string if isinstance(message.string, tuple | list) else [message.string]
        if forms and all(forms):
            done.add(message.id[0] if isinstance(message.id, tuple | list) else message.id)
    return frozenset(done)


@lru_cache
def _domain_translations(domain: str, locale: str) -> gettext.NullTranslations:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / f"{domain}.mo").open("rb") as fp:
        return Translations(fp, domain=domain)


def domain_text(domain: str, message: str, tag: str) -> str | None:
    """`message` in the language `tag` from a small catalog of its own (`fallback`): English
    as written; None where that catalog has no text for the language."""
    for locale in _candidates(tag):
        if locale == SOURCE_LOCALE:
            return message
        if (LOCALES_DIR / locale / "LC_MESSAGES" / f"{domain}.mo").is_file():
            text = _domain_translations(domain, locale).gettext(message)
            return text if text != message else None
    return None
