"""How pages say things, in the staff member's language: delivery statuses (label and tone),
channels, language names, dates and times, percentages, page numbers, and what was wrong with
a form."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency, format_percent
from fastapi import Query, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth.service import AuthSubject
from app.auth.sessions import SignedIn
from app.core.contact import EXTRA_LANGUAGES, normalize_language
from app.core.errors import HearthError
from app.core.i18n import N_
from app.core.languages import display_names
from app.core.pagination import Page
from app.core.schema import MAX_ID
from app.delivery.models import REACHED, STATUSES, DeliveryStatus
from app.people import families
from app.people.models import Guardian, Student
from app.roster.language import resolve_language
from app.translation import packages
from app.web.i18n import ui_language
from app.web.pages import request_language, translate

# Delivery statuses -------------------------------------------------------------------------

STATUS_LABELS = {
    "queued": N_("Waiting to send"),
    "sending": N_("Sending"),
    "sent": N_("Sent"),
    "delivered": N_("Delivered"),
    "failed": N_("Failed"),
    "undelivered": N_("Not delivered"),
    "suppressed": N_("Not sent"),
    "canceled": N_("Canceled"),
    "review": N_("Needs checking"),
}
STATUS_TONES = {
    "sent": "good",
    "delivered": "good",
    "failed": "bad",
    "undelivered": "bad",
    "suppressed": "bad",
    "review": "bad",
}
# How the office's counts group them.
SENT = REACHED
WAITING = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)
DELIVERY_STATUSES = STATUSES
CHANNEL_LABELS = {"sms": N_("Text message"), "email": N_("Email"), "voice": N_("Voice call")}


def status(request: Request, value: str, error_code: str | None) -> dict[str, str]:
    """A delivery status as a page shows it: its label and its tone (good, bad or none)."""
    if value == DeliveryStatus.SUPPRESSED and error_code == "opted_out":
        label = translate(request, "Opted out (replied STOP)")
    else:
        label = translate(request, STATUS_LABELS.get(value, value))
    return {"label": label, "tone": STATUS_TONES.get(value, "")}


# Words and names ---------------------------------------------------------------------------


def viewer_language(viewer: SignedIn) -> str:
    """The language the viewer reads the pages in."""
    return ui_language(viewer.staff.ui_language)


def full_name(person: Guardian | Student) -> str:
    return f"{person.given_name} {person.family_name}"


def excerpt(text: str, limit: int = 140) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def is_htmx(request: Request) -> bool:
    return "hx-request" in request.headers


# Languages ---------------------------------------------------------------------------------

# Home languages US districts commonly serve: offered for a family even before anyone at the
# school reads them (the families' own languages and installed models are added to these).
COMMON_LANGUAGES = (
    "en", "es", "vi", "zh-Hans", "zh-Hant", "yue", "ar", "pt", "pt-BR", "ht", "so", "hmn",
    "ko", "ru", "uk", "tl", "fr", "fa", "prs", "ps", "sw", "ne", "my", "kar", "am", "ti",
    "ja", "hi", "ur", "bn", "pa", "pl", "de", "it", "rw", "mh", "chk", "km", "lo", "th",
)  # fmt: skip


def language_name(tag: str, ui: str) -> str:
    """A language tag or MT code named in the viewer's language ("Spanish", "español")."""
    key = "zh_Hant" if tag == "zt" else tag.replace("-", "_")
    names = Locale.parse(ui).languages
    name = names.get(key) or names.get(key.split("_")[0]) or display_names(tag)[0]
    return name[:1].upper() + name[1:]


def language_list(raw: str) -> list[str]:
    """The languages someone interprets, as typed: tags or English names, "hmn, vi",
    "hmn vi", "Hmong, Haitian Creole" or "Somali". What names no language is kept as typed,
    for the form's message to name it."""
    if "," in raw:
        parts = [part.strip() for part in raw.split(",")]
    else:
        parts = [raw.strip()] if resolve_language(raw) else raw.split()
    return [resolve_language(part) or part for part in parts if part]


def language_label(tag: str, ui: str) -> str:
    """For example "Spanish (español)": the language's name in the page's language, then its own."""
    code = "zh-Hant" if tag == "zt" else tag
    base = code.split("-")[0]
    if base in EXTRA_LANGUAGES and "-" not in code:
        english, native = EXTRA_LANGUAGES[base]
        return f"{english} ({native})"
    try:
        locale = Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return tag
    name = locale.get_display_name(ui) or tag
    native = locale.get_display_name() or ""
    return f"{name} ({native})" if native and native.lower() != name.lower() else name


def known_languages(
    session: Session, subject: AuthSubject, ui: str, *also: str
) -> list[tuple[str, str]]:
    """(tag, label in `ui`) of every language a family could be given: common home languages,
    the languages the viewer's families read, installed translation models, and `also`."""
    tags: set[str] = set()
    used = families.family_languages(session, subject)
    candidates = [*COMMON_LANGUAGES, *EXTRA_LANGUAGES, *used, *also]
    candidates += sorted(packages.installed_languages())
    for raw in candidates:
        try:
            tags.add(normalize_language("zh-Hant" if raw == "zt" else raw))
        except ValueError:
            continue
    return sorted(((t, language_label(t, ui)) for t in tags), key=lambda item: item[1].lower())


# Dates, times, numbers ---------------------------------------------------------------------


def when(value: datetime, timezone: str, ui: str) -> str:
    """Short, for lists and threads: "12/3/26, 7:00 AM"."""
    return format_datetime(value, "short", tzinfo=ZoneInfo(timezone), locale=ui)


def date_time(request: Request, value: datetime | None, timezone: str = "UTC") -> str:
    """Medium, for admin tables: "Dec 3, 2026, 7:00:00 AM"; empty for no date."""
    if value is None:
        return ""
    return format_datetime(
        value.astimezone(ZoneInfo(timezone)), "medium", locale=request_language(request)
    )


def week_label(request: Request, start: date) -> str:
    return format_date(start, "medium", locale=request_language(request))


def percent(request: Request, part: int, whole: int) -> str:
    if not whole:
        return "–"
    return format_percent(part / whole, locale=request_language(request))


@dataclass(frozen=True)
class Formats:
    """Dates, numbers and language names in the staff member's language; times in the
    school's timezone (the office pages' templates call these)."""

    lang: str
    timezone: str = "UTC"

    def when(self, value: datetime | None) -> str:
        """The day and the minute (no seconds), with the zone: "Dec 3, 2026, 7:00 AM CST"."""
        if value is None:
            return ""
        zone = ZoneInfo(self.timezone)
        day = format_date(value.astimezone(zone), "medium", locale=self.lang)
        minute = format_time(value, "short", tzinfo=zone, locale=self.lang)
        return f"{day}, {minute} {format_datetime(value, 'z', tzinfo=zone, locale=self.lang)}"

    def money(self, value: float, currency: str) -> str:
        return format_currency(value, currency, locale=self.lang)

    def language(self, tag: str) -> str:
        return language_label(tag, self.lang)


# Pages of a list ---------------------------------------------------------------------------

PER_PAGE = 25
PageNumber = Annotated[int, Query(ge=1, le=MAX_ID // PER_PAGE)]


def list_page(number: int) -> Page:
    """The rows of page `number` (from 1) of a list."""
    return Page(limit=PER_PAGE, offset=(number - 1) * PER_PAGE)


def page_links(total: int, number: int) -> dict[str, Any]:
    """What a list's page links need: this page, the last one, how many rows in all."""
    last = max(1, -(-total // PER_PAGE))
    return {"number": number, "last": last, "total": total}


# What was wrong with a form ----------------------------------------------------------------


def validation_message(exc: ValidationError) -> str:
    """A schema's refusal in one line (the first three problems)."""
    messages = []
    for err in exc.errors()[:3]:
        text = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        messages.append(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))
    return " ".join(messages) or "That is not valid."


def error_lines(request: Request, exc: Exception, field_labels: dict[str, str]) -> list[str]:
    """What went wrong, for a person: one line per field for a schema error, each led by the
    field's label as the form shows it."""
    if isinstance(exc, ValidationError):
        out = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            label = field_labels.get(loc[0], loc[0]) if loc else ""
            message = str(err.get("msg", "")).removeprefix("Value error, ")
            if label:
                out.append(f"{translate(request, label)}: {message}")
            else:
                out.append(message)
        return out
    if isinstance(exc, HearthError):
        return [translate(request, exc.message)]
    raise exc
