"""How pages say things, in the staff member's language: delivery statuses (label and tone),
channels, language names, dates and times."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from fastapi import Request

from app.core.i18n import N_
from app.people.models import Guardian, Student
from app.translation.languages import display_names
from app.web.i18n import ui_language
from app.web.pages import translate

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
CHANNEL_LABELS = {"sms": N_("Text message"), "email": N_("Email")}


def status(request: Request, value: str, error_code: str | None) -> dict[str, str]:
    """A delivery status as a page shows it: its label and its tone (good, bad or none)."""
    if value == "suppressed" and error_code == "opted_out":
        label = translate(request, "Opted out (replied STOP)")
    else:
        label = translate(request, STATUS_LABELS.get(value, value))
    return {"label": label, "tone": STATUS_TONES.get(value, "")}


# Words and names ---------------------------------------------------------------------------


def viewer_language(viewer: Any) -> str:
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


def language_name(tag: str, ui: str) -> str:
    """A language tag or MT code named in the viewer's language ("Spanish", "español")."""
    key = "zh_Hant" if tag == "zt" else tag.replace("-", "_")
    names = Locale.parse(ui).languages
    name = names.get(key) or names.get(key.split("_")[0]) or display_names(tag)[0]
    return name[:1].upper() + name[1:]


# Dates, times, numbers ---------------------------------------------------------------------


def when(value: datetime, timezone: str, ui: str) -> str:
    """Short, for lists and threads: "12/3/26, 7:00 AM"."""
    return format_datetime(value, "short", tzinfo=ZoneInfo(timezone), locale=ui)
