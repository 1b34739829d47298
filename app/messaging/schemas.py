from datetime import datetime
from typing import Literal

from pydantic import Field

from app.core.schema import Input, LanguageTag, Output

MAX_BODY = 1600  # Twilio's limit for one SMS body; longer notes belong in email or a link


class ThreadCreate(Input):
    student_id: int | None = None
    guardian_ids: list[int] = Field(min_length=1, max_length=20)
    subject: str = Field(default="", max_length=200)
    school_id: int | None = None


class ThreadUpdate(Input):
    subject: str | None = Field(default=None, max_length=200)
    status: Literal["open", "archived"] | None = None


class MessageCreate(Input):
    body: str = Field(min_length=1, max_length=MAX_BODY)
    language: LanguageTag | None = None


class MessageRead(Output):
    id: int
    thread_id: int
    direction: str
    kind: str
    author_staff_id: int | None
    author_guardian_id: int | None
    body: str
    language: str
    created_at: datetime


class ThreadRead(Output):
    id: int
    school_id: int
    owner_staff_id: int | None
    student_id: int | None
    subject: str
    status: str
    guardian_ids: list[int]
    last_activity_at: datetime
    created_at: datetime


class ThreadDetail(ThreadRead):
    messages: list[MessageRead]
