"""Normalizing what people type: phone numbers, email addresses, language tags, names."""

import re

import phonenumbers
from babel import Locale, UnknownLocaleError
from email_validator import EmailNotValidError, validate_email

# Languages spoken by many US school families that CLDR (and so Babel) does not know.
EXTRA_LANGUAGES: dict[str, tuple[str, str]] = {
    "hmn": ("Hmong", "Hmoob"),
    "mh": ("Marshallese", "Kajin M̧ajeļ"),
    "chk": ("Chuukese", "Chuuk"),
    "kar": ("Karen", "ကညီ"),
    "prs": ("Dari", "دری"),
}

_TAG_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
MAX_NAME = 100


def normalize_phone(raw: str, region: str = "US") -> str:
    """E.164 for a valid number, else ValueError with a message a person understands."""
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        raise ValueError(f"'{raw}' is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"'{raw}' is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"'{raw}' is not a valid email address: {exc}") from None
    return result.normalized


def normalize_language(raw: str) -> str:
    """A BCP 47 tag in canonical case (`es`, `zh-Hans`, `pt-BR`); unknown languages rejected."""
    text = raw.strip()
    if not _TAG_RE.match(text):
        raise ValueError(f"'{raw}' is not a language tag (examples: es, vi, zh-Hans, pt-BR)")
    base = text.replace("_", "-").split("-")[0].lower()
    if base == "und":
        # Babel would read "undetermined" as its likeliest language, English (en-US).
        raise ValueError(
            f"'{raw}' means an undetermined language: say which language it is "
            "(examples: es, vi, zh-Hans, pt-BR)"
        )
    if base in EXTRA_LANGUAGES and "-" not in text.replace("_", "-"):
        return base
    try:
        locale = Locale.parse(text.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise ValueError(
            f"'{raw}' is not a language Hearth knows (examples: es, vi, zh-Hans, pt-BR)"
        ) from None
    parts = [locale.language]
    if locale.script:
        parts.append(locale.script)
    if locale.territory:
        parts.append(locale.territory)
    return "-".join(parts)


def language_names(tag: str) -> tuple[str, str]:
    """(English name, native name) of a normalized tag."""
    if tag in EXTRA_LANGUAGES:
        return EXTRA_LANGUAGES[tag]
    locale = Locale.parse(tag.replace("-", "_"))
    return locale.get_display_name("en") or tag, locale.get_display_name() or tag


def clean_name(raw: str, field: str = "name") -> str:
    text = " ".join(raw.split())
    if not text:
        raise ValueError(f"{field} must not be empty")
    if len(text) > MAX_NAME:
        raise ValueError(f"{field} is longer than {MAX_NAME} characters")
    return text
