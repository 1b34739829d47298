from datetime import datetime, time
from typing import Literal

from pydantic import Field, field_validator

from app.core.config import get_settings
from app.core.schema import Id, Input, LanguageTag, Name, Output, Phone, Timezone
from app.schools.senders import normalize_sms_pool, normalize_sms_sender


def _sender(value: str | None) -> str | None:
    if not value:
        return None
    return normalize_sms_sender(value, get_settings().default_region)


def _pool(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    return normalize_sms_pool(value, get_settings().default_region)


POOL_HELP = (
    "More phone numbers (E.164) of the school, besides sms_sender: each family sees one of "
    "them per staff member who writes to it one-to-one, so a reply to that number reaches "
    "that staff member's conversation. The office always writes from sms_sender."
)
MARK_HELP = 'Machine-translated texts end with a short "(machine translated)" in the language.'
FAMILY_LINK_HELP = (
    "When a text carries the family's own link to the family page (read, hear and answer the "
    "conversation in their language): always, never, long (when the text is over two SMS "
    "segments), or summary (a text over two segments goes as its first sentences, cut to fit "
    "with the link, and the family reads the whole note on the page)."
)
FamilyLinkPolicy = Literal["always", "long", "summary", "never"]
MMS_HELP = (
    "A note or broadcast with exactly one photo goes to US and Canadian numbers as MMS, the "
    "photo in the text (billed per message). Off: the text carries the link to the photo."
)


class SchoolCreate(Input):
    name: Name
    timezone: Timezone = "America/New_York"
    default_language: LanguageTag = "en"
    sms_sender: str | None = Field(default=None, max_length=64)
    sms_pool: list[str] | None = Field(default=None, max_length=50, description=POOL_HELP)
    mark_machine_translation: bool | None = Field(default=None, description=MARK_HELP)
    email_sender: str | None = Field(default=None, max_length=254)
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    # The number families call for help in their language (the urgent fallback line names it).
    help_phone: Phone | None = None
    # Hours an interpretation task may stay open before it goes to the office.
    interpreter_hours: int = Field(default=24, ge=1, le=720)
    family_link: FamilyLinkPolicy = Field(default="long", description=FAMILY_LINK_HELP)
    mms_images: bool = Field(default=False, description=MMS_HELP)

    _check_sender = field_validator("sms_sender")(_sender)
    _check_pool = field_validator("sms_pool")(_pool)


class SchoolUpdate(Input):
    name: Name | None = None
    timezone: Timezone | None = None
    default_language: LanguageTag | None = None
    sms_sender: str | None = Field(default=None, max_length=64)
    sms_pool: list[str] | None = Field(default=None, max_length=50, description=POOL_HELP)
    mark_machine_translation: bool | None = Field(default=None, description=MARK_HELP)
    email_sender: str | None = Field(default=None, max_length=254)
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    help_phone: Phone | None = None
    interpreter_hours: int | None = Field(default=None, ge=1, le=720)
    family_link: FamilyLinkPolicy | None = Field(default=None, description=FAMILY_LINK_HELP)
    mms_images: bool | None = Field(default=None, description=MMS_HELP)

    _check_sender = field_validator("sms_sender")(_sender)
    _check_pool = field_validator("sms_pool")(_pool)


class SchoolRead(Output):
    id: int
    name: str
    timezone: str
    default_language: str
    sms_sender: str | None
    sms_pool: list[str] = Field(description=POOL_HELP)
    mark_machine_translation: bool = Field(description=MARK_HELP)
    email_sender: str | None
    quiet_hours_start: time | None
    quiet_hours_end: time | None
    help_phone: str | None
    interpreter_hours: int
    family_link: str = Field(description=FAMILY_LINK_HELP)
    mms_images: bool = Field(description=MMS_HELP)
    created_at: datetime

    @field_validator("sms_pool", mode="before")
    @classmethod
    def _no_pool(cls, value: list[str] | None) -> list[str]:
        return value or []


class SectionCreate(Input):
    school_id: Id
    name: Name
    teacher_ids: list[Id] = Field(default_factory=list, max_length=50)


class SectionUpdate(Input):
    name: Name | None = None
    active: bool | None = None


class SectionRead(Output):
    id: int
    school_id: int
    name: str
    active: bool
    teacher_ids: list[int]
    student_ids: list[int]


class EnrollmentCreate(Input):
    student_id: Id


class TeacherAssign(Input):
    staff_id: Id
