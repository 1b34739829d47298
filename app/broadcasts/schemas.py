from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from app.core.schema import Id, Input, LanguageTag, OneLine, Output
from app.messaging.schemas import MAX_BODY
from app.questions.schemas import QuestionDraft
from app.translation.schemas import QualityRead


class Audience(Input):
    """Who gets it: the whole school, or any of grades, sections and guardians; then filters."""

    whole_school: bool = False
    grades: list[str] = Field(default_factory=list, max_length=20)
    section_ids: list[Id] = Field(default_factory=list, max_length=500)
    guardian_ids: list[Id] = Field(default_factory=list, max_length=10_000)
    languages: list[LanguageTag] = Field(default_factory=list, max_length=50)
    channels: list[Literal["sms", "email", "voice"]] = Field(default_factory=list, max_length=3)

    @model_validator(mode="after")
    def _someone(self) -> "Audience":
        if not (self.whole_school or self.grades or self.section_ids or self.guardian_ids):
            raise ValueError(
                "choose an audience: whole_school, grades, section_ids or guardian_ids"
            )
        return self


class BroadcastDraft(Input):
    school_id: Id
    audience: Audience
    title: OneLine = Field(default="", max_length=200)
    body: str | None = Field(default=None, min_length=1, max_length=MAX_BODY)
    template: str | None = Field(default=None, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict, max_length=20)
    language: LanguageTag | None = None  # of the body; default: the author's language
    urgent: bool = False
    scheduled_at: datetime | None = None  # default: now (or when quiet hours end)
    # A question the families answer by text (RSVP, permission, a choice, a number).
    question: QuestionDraft | None = None
    # Photos and PDFs uploaded first (POST /api/v1/attachments), by their ids.
    attachment_ids: list[Id] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _one_body(self) -> "BroadcastDraft":
        if (self.body is None) == (self.template is None):
            raise ValueError("give either body (free text) or template (with params)")
        if self.scheduled_at is not None and self.scheduled_at.tzinfo is None:
            raise ValueError("scheduled_at needs a timezone, e.g. 2026-12-03T07:00:00-06:00")
        return self


class Person(Output):
    guardian_id: int
    name: str
    language: str
    reason: str


class FallbackPreview(Output):
    """An urgent broadcast where no translation reaches a language: its families get the school's
    text at once, under one line people wrote in their language asking them to call."""

    language: str  # the families' language (MT code)
    text_language: str = Field(description="The language of the school's text they get.")
    line: str = Field(description="The one line above it, asking them to call the school.")
    line_language: str = Field(
        description="The line's language: theirs, or English where no one has written it yet."
    )
    families: list[Person]


class LanguagePreview(Output):
    language: str
    name: str
    recipients: int
    sms: int
    emails: int
    text: str | None
    sms_text: str | None = Field(
        default=None,
        description="The text as texted: with the family's own link to the family page when "
        "the school's texts carry it (here a sample link of the same length).",
    )
    # human | mt | same_language | unavailable | fallback (urgent, no translation: the school's
    # text under one line in the family's language)
    source: str
    back_translation: str | None
    quality: QualityRead | None = Field(
        default=None, description="How far a machine translation (source mt) can be trusted."
    )
    test_model: bool = Field(
        default=False, description="Made by a model built for tests: not for families."
    )
    encoding: str | None
    segments: int  # per SMS
    total_segments: int
    cost: float
    mms: int = Field(
        default=0,
        description="Of the texts, those that go as MMS with the photo (US and Canadian "
        "numbers, when the school sends MMS): billed per message, not per segment.",
    )
    mms_text: str | None = Field(
        default=None, description="The text of those MMS (the photo goes with it)."
    )
    calls: int = 0  # voice calls to families of this language
    call_minutes: int = Field(default=0, description="Estimated billed minutes of one call.")
    call_cost: float = Field(default=0.0, description="Estimated cost of this language's calls.")


class Preview(Output):
    recipients: int  # the families chosen
    # Of them, those who will get it: reachable, not opted out, a text in their language or
    # (urgent) the school's text under one line in their language.
    reached: int
    sms: int
    emails: int
    total_segments: int
    mms: int = 0  # of the texts, those that go as MMS (one each, whatever the length)
    estimated_cost: float  # of the texts
    calls: int = 0
    estimated_call_cost: float = Field(
        default=0.0, description="Voice calls: minutes × HEARTH_VOICE_COST_PER_MINUTE."
    )
    currency: str
    scheduled_at: datetime
    quiet_hours_delay: bool
    languages: list[LanguagePreview]
    opted_out: list[Person]
    no_channel: list[Person]
    no_route: list[Person] = Field(
        description="No translation into their language: not urgent, it waits for an "
        "interpreter's text (the office is told if none writes it in time)."
    )
    fallback: list[FallbackPreview] = Field(
        default_factory=list,
        description="Urgent, no translation into their language: they get the school's text "
        "under one line in their language (counted in reached, and on the call list).",
    )


class BroadcastRead(Output):
    id: int
    school_id: int
    title: str
    status: str
    urgent: bool
    template: str | None
    body: str | None
    language: str
    scheduled_at: datetime
    sent_at: datetime | None
    recipients: int
    thread_id: int | None
    message_id: int | None
    report: dict[str, Any] | None = None
