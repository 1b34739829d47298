from datetime import date, datetime, time

from pydantic import Field, model_validator

from app.core.schema import Id, Input, OneLine, Output

MAX_SLOTS = 20  # the times one invitation offers (each family replies with one number)


class SlotBlock(Input):
    """A day's times made in bulk: from `start` to `end`, one every `minutes`, in the school's
    timezone ("Tuesday 15:00–17:00, 20 minutes, Room 12" → six times)."""

    day: date
    start: time
    end: time
    minutes: int = Field(ge=5, le=240)
    place: OneLine = Field(min_length=1, max_length=200)  # a room, a phone number, a video link

    @model_validator(mode="after")
    def _order(self) -> "SlotBlock":
        if self.end <= self.start:
            raise ValueError("the end comes after the start")
        return self


class ConferenceCreate(Input):
    """A teacher's conference times, offered to the families of their students by text. A
    teacher publishes their own; office staff and admins name the teacher."""

    teacher_staff_id: Id | None = None
    school_id: Id | None = None  # needed only when the teacher works at several schools
    title: OneLine = Field(default="Parent-teacher conferences", max_length=200)
    blocks: list[SlotBlock] = Field(min_length=1, max_length=10)
    # The teacher's sections whose families are invited; none: all of them.
    section_ids: list[Id] = Field(default_factory=list, max_length=50)


class Booking(Output):
    guardian_id: int
    name: str
    language: str
    phone: str | None
    students: list[str]
    interpreter_needed: bool  # the family's language is not one the teacher speaks
    booked_at: datetime


class SlotRead(Output):
    number: int
    starts_at: datetime
    minutes: int
    place: str
    booking: Booking | None = None


class ConferenceRead(Output):
    id: int
    school_id: int
    teacher_staff_id: int
    teacher_name: str
    title: str
    invited: int
    created_at: datetime
    slots: list[SlotRead]


class ConferenceList(Output):
    items: list[ConferenceRead]
