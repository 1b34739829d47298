from typing import Literal

from pydantic import Field, field_validator, model_validator

from app.auth.passwords import Password
from app.core.schema import Email, Id, Input, LanguageTag, Name, Output, Phone

RoleField = Literal["admin", "office", "teacher", "interpreter"]
Channel = Literal["sms", "email", "voice"]
Relationship = Literal["mother", "father", "grandparent", "guardian", "other"]
ExternalId = Field(min_length=1, max_length=255)


def _channels(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    if not value:
        raise ValueError("choose at least one channel: sms, email, voice")
    if len(set(value)) != len(value):
        raise ValueError("each channel may be listed once")
    return sorted(value, key=("sms", "email", "voice").index)


class StaffCreate(Input):
    name: Name
    email: Email
    role: RoleField = "teacher"
    ui_language: LanguageTag = "en"
    display_name: str | None = Field(
        default=None,
        max_length=120,
        description='How texts to families name you ("Ms. Rivera"); empty: your name.',
    )
    password: Password | None = None
    school_ids: list[Id] = Field(default_factory=list, max_length=100)
    # The languages this person can interpret: their interpretation tasks are in these.
    interprets: list[LanguageTag] = Field(default_factory=list, max_length=20)


class StaffUpdate(Input):
    name: Name | None = None
    email: Email | None = None
    role: RoleField | None = None
    ui_language: LanguageTag | None = None
    display_name: str | None = Field(
        default=None,
        max_length=120,
        description='How texts to families name you ("Ms. Rivera"); empty: your name.',
    )
    password: Password | None = None
    active: bool | None = None
    school_ids: list[Id] | None = Field(default=None, max_length=100)
    interprets: list[LanguageTag] | None = Field(default=None, max_length=20)


class StaffRead(Output):
    id: int
    name: str
    email: str
    role: str
    ui_language: str
    display_name: str | None = Field(
        description="How texts to families name this staff member; null: their name."
    )
    active: bool
    school_ids: list[int]
    interprets: list[str]


class StudentCreate(Input):
    school_id: Id
    external_id: str = ExternalId
    given_name: Name
    family_name: Name
    grade: str | None = Field(default=None, max_length=16)


class StudentUpdate(Input):
    external_id: str | None = Field(default=None, min_length=1, max_length=255)
    given_name: Name | None = None
    family_name: Name | None = None
    grade: str | None = Field(default=None, max_length=16)
    active: bool | None = None


class StudentRead(Output):
    id: int
    school_id: int
    external_id: str
    given_name: str
    family_name: str
    grade: str | None
    active: bool


class GuardianCreate(Input):
    given_name: Name
    family_name: Name
    phone: Phone | None = None
    email: Email | None = None
    language: LanguageTag = "en"
    channels: list[Channel] = Field(default_factory=lambda: list[Channel](["sms"]), max_length=3)
    student_ids: list[Id] = Field(default_factory=list, max_length=50)
    relationship: Relationship = "guardian"

    _check_channels = field_validator("channels")(_channels)

    @model_validator(mode="after")
    def _reachable(self) -> "GuardianCreate":
        if "sms" in self.channels and not self.phone:
            raise ValueError("channel 'sms' needs a phone number")
        if "email" in self.channels and not self.email:
            raise ValueError("channel 'email' needs an email address")
        if "voice" in self.channels and not self.phone:
            raise ValueError("channel 'voice' needs a phone number")
        return self


class GuardianUpdate(Input):
    given_name: Name | None = None
    family_name: Name | None = None
    phone: Phone | None = None
    email: Email | None = None
    language: LanguageTag | None = None
    channels: list[Channel] | None = Field(default=None, max_length=3)
    active: bool | None = None

    _check_channels = field_validator("channels")(_channels)


class GuardianRead(Output):
    id: int
    given_name: str
    family_name: str
    phone: str | None
    email: str | None
    language: str
    language_confirmed: bool
    channels_confirmed: bool
    channels: list[str]
    active: bool
    student_ids: list[int]


class GuardianLink(Input):
    student_id: Id
    relationship: Relationship = "guardian"


class FamilyMember(GuardianRead):
    relationship: str


class Family(Output):
    student: StudentRead
    guardians: list[FamilyMember]
