"""The notice templates and their parameters: what each one needs, of which type, and the
checks that turn what a client sent (JSON: dates as "2026-12-03", times as "14:30") into typed
values, or refuse it with a message a person understands.

A template's text is `message_templates/<name>.j2`. Labels of choice parameters (a reason, an
event, a subject) are translated with the template; everything else (names, places, links,
dates, times, numbers) is inserted as given, never translated."""

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from app.core.errors import Invalid

ParamType = Literal["text", "date", "time", "url", "number", "choice"]


def N_(message: str) -> str:
    """Marks an English label for `pybabel extract`; it is translated when a notice is rendered."""
    return message


@dataclass(frozen=True)
class Param:
    name: str
    type: ParamType
    required: bool
    help: str
    # choice: value → English label
    choices: Mapping[str, str] = field(default_factory=dict)
    # choice: True when the (translated) label is put in the text; False when the value only
    # picks which sentences the template says
    label_in_text: bool = True
    max_length: int = 80
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class NoticeTemplate:
    name: str
    title: str
    description: str
    params: tuple[Param, ...]
    # what a client would send, for previews and tests
    example: Mapping[str, Any] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return f"{self.name}.j2"

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


# Shared parameters ----------------------------------------------------------------------------

SCHOOL = Param("school_name", "text", True, "The school's name as families know it.")
STUDENT = Param("student_name", "text", True, "The student's name, as the family calls them.")
TEACHER = Param("teacher_name", "text", True, "The teacher's name, e.g. Ana Rivera or Ms. Rivera.")
PLACE = Param(
    "place",
    "text",
    False,
    "Where: a room or an address, as families will find it (it is not translated).",
    max_length=100,
)

REASONS = {
    # TRANSLATORS: why a school closes or ends early; shown after "Reason:".
    "weather": N_("bad weather"),
    "snow": N_("snow"),
    "power_outage": N_("power outage"),
    "no_water": N_("no running water"),
    "no_heat": N_("no heating"),
    "staff_training": N_("teacher training"),
    "holiday": N_("holiday"),
}
REASON = Param("reason", "choice", False, "Why, if you want to say.", choices=REASONS)

EVENTS = {
    # TRANSLATORS: a kind of school event; shown after "Reminder from <school>:".
    "open_house": N_("Open house"),
    "family_night": N_("Family night"),
    "concert": N_("School concert"),
    "parent_meeting": N_("Parents' meeting"),
    "sports_day": N_("Sports day"),
    "book_fair": N_("Book fair"),
    "graduation": N_("Graduation"),
}

SUBJECTS = {
    # TRANSLATORS: a school subject; shown after "Subject:".
    "reading": N_("reading"),
    "writing": N_("writing"),
    "math": N_("math"),
    "science": N_("science"),
    "social_studies": N_("social studies"),
    "english": N_("English"),
}

PROGRESS = {
    "great": "doing very well",
    "improving": "making good progress",
    "needs_help": "needs some extra help (the family is asked to reply)",
}

_EXAMPLE_SCHOOL = "Riverside Elementary"

TEMPLATES: dict[str, NoticeTemplate] = {
    t.name: t
    for t in (
        NoticeTemplate(
            "early_dismissal",
            "Early dismissal",
            "School ends early one day: when, and why if you like.",
            (
                SCHOOL,
                Param("date", "date", True, "The day school ends early."),
                Param("time", "time", True, "When students leave."),
                REASON,
            ),
            {"school_name": _EXAMPLE_SCHOOL, "date": "2026-12-03", "time": "12:30"},
        ),
        NoticeTemplate(
            "school_closed",
            "School closed",
            "No school on a day: closures for weather, outages or holidays.",
            (SCHOOL, Param("date", "date", True, "The day the school is closed."), REASON),
            {"school_name": _EXAMPLE_SCHOOL, "date": "2026-12-03", "reason": "weather"},
        ),
        NoticeTemplate(
            "event_reminder",
            "Event reminder",
            "A school event families are invited to: what, when and where.",
            (
                SCHOOL,
                Param("event", "choice", True, "Which kind of event.", choices=EVENTS),
                Param("date", "date", True, "The day of the event."),
                Param("time", "time", True, "When it starts."),
                PLACE,
            ),
            {
                "school_name": _EXAMPLE_SCHOOL,
                "event": "family_night",
                "date": "2026-12-03",
                "time": "17:30",
                "place": "Gym",
            },
        ),
        NoticeTemplate(
            "conference_invite",
            "Parent-teacher conference",
            "A teacher asks a family to meet about their child; the family replies to confirm.",
            (
                TEACHER,
                STUDENT,
                Param("date", "date", True, "The day of the meeting."),
                Param("time", "time", True, "When the meeting starts."),
                PLACE,
                Param(
                    "minutes",
                    "number",
                    False,
                    "How long the meeting takes, in minutes.",
                    minimum=5,
                    maximum=240,
                ),
            ),
            {
                "teacher_name": "Ana Rivera",
                "student_name": "Mateo",
                "date": "2026-12-03",
                "time": "15:15",
                "place": "Room 12",
                "minutes": 20,
            },
        ),
        NoticeTemplate(
            "absence_notice",
            "Absence",
            "A student was not at school; the family is asked to reply with the reason.",
            (SCHOOL, STUDENT, Param("date", "date", True, "The day the student was absent.")),
            {"school_name": _EXAMPLE_SCHOOL, "student_name": "Mateo", "date": "2026-12-03"},
        ),
        NoticeTemplate(
            "report_card_ready",
            "Report card ready",
            "A student's report card can be seen online, or picked up at the office.",
            (
                SCHOOL,
                STUDENT,
                Param("link", "url", False, "Where families can see it online.", max_length=300),
            ),
            {
                "school_name": _EXAMPLE_SCHOOL,
                "student_name": "Mateo",
                "link": "https://riverside.example.org/rc",
            },
        ),
        NoticeTemplate(
            "picture_day",
            "Picture day",
            "School photos are taken on a day; families may order prints online.",
            (
                SCHOOL,
                Param("date", "date", True, "The day photos are taken."),
                Param("link", "url", False, "Where families order photos.", max_length=300),
            ),
            {
                "school_name": _EXAMPLE_SCHOOL,
                "date": "2026-12-03",
                "link": "https://riverside.example.org/photos",
            },
        ),
        NoticeTemplate(
            "progress_note",
            "Progress note",
            "A teacher's short word about how a student is doing, good news or a call to talk.",
            (
                TEACHER,
                STUDENT,
                Param(
                    "progress",
                    "choice",
                    True,
                    "How the student is doing.",
                    choices=PROGRESS,
                    label_in_text=False,
                ),
                Param("subject", "choice", False, "Which subject, if one.", choices=SUBJECTS),
            ),
            {
                "teacher_name": "Ana Rivera",
                "student_name": "Mateo",
                "progress": "great",
                "subject": "reading",
            },
        ),
    )
}


def get(name: str) -> NoticeTemplate:
    template = TEMPLATES.get(name) if isinstance(name, str) else None
    if template is None:
        known = ", ".join(TEMPLATES)
        raise Invalid(
            f"There is no notice template '{name}'. The templates are: {known}.",
            details=[{"field": "template", "message": f"Unknown template '{name}'."}],
        )
    return template


# Validation -----------------------------------------------------------------------------------

_TIME_RE = re.compile(r"^(\d{1,2})(?::(\d{2}))(?::(\d{2}))?\s*(?:([ap])\.?\s?m\.?)?$", re.I)


class _Bad(ValueError):
    pass


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _text(param: Param, value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(f"'{param.name}' must be text, not {type(value).__name__}.")
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise _Bad(f"'{param.name}' must not contain control characters.")
    if len(text) > param.max_length:
        raise _Bad(f"'{param.name}' is longer than {param.max_length} characters.")
    return text


def _date(param: Param, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Bad(f"'{param.name}' must be a date like 2026-12-03, not '{_shown(value)}'.")


def _time(param: Param, value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value.replace(tzinfo=None)
    match = _TIME_RE.match(value.strip()) if isinstance(value, str) else None
    if match:
        hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
        twelve_hour = match[4] is not None
        if twelve_hour and 1 <= hour <= 12:  # 12:30 PM is 12:30, 12:30 AM is 00:30
            hour = hour % 12 + (12 if match[4].lower() == "p" else 0)
        elif twelve_hour:
            hour = 24  # "13:00 PM": refused below
        if hour < 24 and minute < 60 and second < 60:
            return dt.time(hour, minute, second)
    raise _Bad(f"'{param.name}' must be a time like 14:30 or 2:30 PM, not '{_shown(value)}'.")


def _url(param: Param, value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    parts = urlsplit(text) if text and not any(ch.isspace() for ch in text) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise _Bad(
            f"'{param.name}' must be a web address starting with https://, not '{_shown(value)}'."
        )
    if len(text) > param.max_length:
        raise _Bad(f"'{param.name}' is longer than {param.max_length} characters.")
    return text


def _number(param: Param, value: Any) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    low = param.minimum if param.minimum is not None else 0
    high = param.maximum
    if number is None or number < low or (high is not None and number > high):
        span = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise _Bad(f"'{param.name}' must be a whole number {span}, not '{_shown(value)}'.")
    return number


def _choice(param: Param, value: Any) -> str:
    if isinstance(value, str) and value.strip() in param.choices:
        return value.strip()
    options = ", ".join(param.choices)
    raise _Bad(f"'{param.name}' must be one of: {options} (not '{_shown(value)}').")


_CHECKS = {
    "text": _text,
    "date": _date,
    "time": _time,
    "url": _url,
    "number": _number,
    "choice": _choice,
}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def validate(template: NoticeTemplate, params: Any) -> dict[str, Any]:
    """Typed values for every parameter of the template (None for an optional one not given);
    Invalid naming each parameter that is missing, unknown or of the wrong type."""
    if not isinstance(params, Mapping):
        raise Invalid(f"The parameters of the {template.name} notice must be an object.")
    problems: list[tuple[str, str]] = []
    for name in params:
        if template.param(str(name)) is None:
            known = ", ".join(p.name for p in template.params)
            problems.append(
                (str(name), f"The {template.name} notice has no parameter '{name}' ({known}).")
            )
    values: dict[str, Any] = {}
    for param in template.params:
        raw = params.get(param.name)
        if _blank(raw):
            values[param.name] = None
            if param.required:
                hint = param.help[0].lower() + param.help[1:].rstrip(".")
                problems.append((param.name, f"'{param.name}' is required: {hint}."))
            continue
        try:
            values[param.name] = _CHECKS[param.type](param, raw)
        except _Bad as exc:
            problems.append((param.name, str(exc)))
    if problems:
        raise Invalid(
            " ".join(message for _, message in problems[:3]),
            details=[{"field": f"params.{name}", "message": m} for name, m in problems],
        )
    return values
