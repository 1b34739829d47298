from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from app.core.schema import Id, Input, LanguageTag, OneLine, Output
from app.questions.schemas import QuestionDraft
from app.translation.quality import Quality
from app.translation.schemas import QualityRead

MAX_BODY = 1600  # Twilio's limit for one SMS body; longer notes belong in email or a link


class ThreadCreate(Input):
    student_id: Id | None = None
    guardian_ids: list[Id] = Field(min_length=1, max_length=20)
    subject: OneLine = Field(default="", max_length=200)
    school_id: Id | None = None


class ThreadUpdate(Input):
    subject: OneLine | None = Field(default=None, max_length=200)
    status: Literal["open", "archived"] | None = None


class MessageCreate(Input):
    body: str = Field(min_length=1, max_length=MAX_BODY)
    language: LanguageTag | None = None
    urgent: bool = False  # urgent texts ignore the school's quiet hours
    # An interpreter writes (or corrects the machine's) text for every family language before
    # it goes: the deliveries wait for them.
    ask_interpreter: bool = False
    # A question the family answers by replying (or with the buttons of its family page), as
    # a broadcast's: yes/no, a choice, a number, a text or a permission slip.
    question: QuestionDraft | None = None
    # Photos and PDFs uploaded first (POST /api/v1/attachments), by their ids.
    attachment_ids: list[Id] = Field(default_factory=list, max_length=10)


class TranslationRead(Output):
    language: str
    status: str  # pending | translated | same_language | unavailable
    text: str | None
    engine: str | None
    reason: str | None
    origin: str | None = Field(
        default=None,
        description="Where the text comes from: mt, cache, human (a catalog or an "
        "interpreter), phrasebook, same_language; none while pending or unavailable.",
    )
    quality: QualityRead | None = Field(
        default=None,
        description="How far a machine translation (origin mt or cache) can be "
        "trusted: good, check or poor, a score and the reasons.",
    )
    test_model: bool = Field(
        default=False, description="Made by a model built for tests: not for families."
    )
    may_be_wrong: bool = Field(
        default=False,
        description="A machine translation not judged good: read the original too.",
    )

    @field_validator("quality", mode="before")
    @classmethod
    def _judged(cls, value: Any) -> Any:
        return value.as_dict() if isinstance(value, Quality) else value


class DeliveryRead(Output):
    id: int
    guardian_id: int
    channel: str = Field(description="sms | email | voice (a call that speaks the body)")
    to: str = Field(validation_alias="address")
    language: str
    sender: str | None = Field(
        description="What the family sees it from: the school's number, or the number of "
        "its pool this family sees for the thread's owner (SMS); the number that calls "
        "(voice); the from address (email)."
    )
    body: str | None = Field(
        description="Exactly what the family receives: for a one-to-one note, who wrote, the "
        "text in its language, the machine-translation mark, the invitation to reply."
    )
    segments: int
    status: str
    error_code: str | None
    error_text: str | None


class SeenRead(Output):
    guardian_id: int
    seen_at: datetime


class AttachmentRead(Output):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    url: str = Field(description="Where staff with access to the message download it.")


class InboundMediaRead(Output):
    position: int
    status: str = Field(description="pending (being fetched), stored, refused or failed.")
    reason: str | None = Field(
        default=None,
        description="Why not stored: too_large, unsupported, unreadable, heic, empty, failed.",
    )
    attachment_id: int | None = None


class MessageRead(Output):
    id: int
    thread_id: int
    direction: str
    kind: str
    author_staff_id: int | None
    author_guardian_id: int | None
    body: str
    language: str
    recording_url: str | None = Field(
        default=None,
        description="A reply left on a voice call: its recording (no transcript; body empty).",
    )
    created_at: datetime
    translations: list[TranslationRead]
    deliveries: list[DeliveryRead]
    attachments: list[AttachmentRead] = Field(default_factory=list)
    inbound_media: list[InboundMediaRead] = Field(
        default_factory=list,
        description="A family's MMS reply: each photo it carried, as fetched (stored ones are "
        "in `attachments`).",
    )
    seen: list[SeenRead] = Field(
        default_factory=list,
        description="The guardians who opened the family page showing this message, and when "
        "each first saw it.",
    )


class ThreadRead(Output):
    id: int
    school_id: int
    owner_staff_id: int | None
    student_id: int | None
    subject: str
    status: str
    notice_thread_id: int | None = Field(
        description='For a family\'s thread answering a broadcast ("Re: <title>"): the '
        "broadcast's thread. A broadcast's own thread takes no notes."
    )
    guardian_ids: list[int]
    last_activity_at: datetime
    created_at: datetime
    # For the caller: a family's reply they have not opened (always false for a key that acts
    # as no one), and a family's reply no staff member has answered yet.
    unread: bool = False
    needs_answer: bool = False


class ThreadDetail(ThreadRead):
    messages: list[MessageRead]


class MessageMove(Input):
    """Move a family's reply to the thread it belongs to (same school, the family in it;
    never a broadcast's thread). Audited."""

    thread_id: Id


class FamilyLinkCreated(Output):
    """A guardian's new link to the family page. The URL is shown this once: only a hash of
    its token is kept."""

    id: int
    guardian_id: int
    url: str
    created_at: datetime
    expires_at: datetime


class FamilyLinksRevoked(Output):
    guardian_id: int
    revoked: int
