from datetime import datetime

from pydantic import Field

from app.core.schema import Input, LanguageTag, Output


class TranslateRequest(Input):
    text: str = Field(min_length=1, max_length=5000)
    source: LanguageTag | None = None  # detected when omitted
    target: LanguageTag
    back_translate: bool = False


class QualityReason(Output):
    code: str = Field(description="A short code: model_unsure, round_trip_differs, ...")
    message: str = Field(description="What it means, for a person.")


class QualityRead(Output):
    """How far a machine translation can be trusted."""

    level: str = Field(description="good | check (have it looked at) | poor (do not rely on it)")
    score: float = Field(ge=0, le=1, description="0 surely wrong .. 1 surely right")
    reasons: list[QualityReason]


class TranslateResponse(Output):
    text: str | None
    source: str
    target: str
    status: str  # translated | same_language | unavailable
    engine: str | None
    cached: bool
    reason: str | None = None
    detected: bool = False
    back_translation: str | None = None
    origin: str | None = Field(
        default=None,
        description="Where the text comes from: mt (the model, now), cache (the model, "
        "earlier), phrasebook (people's words for a short reply), same_language (nothing "
        "to translate); none when unavailable.",
    )
    quality: QualityRead | None = Field(
        default=None, description="For machine translations (origin mt or cache)."
    )


class LanguageRead(Output):
    code: str
    name: str
    native_name: str
    coverage: str  # direct | pivot | none | same, from `source` into the language
    coverage_back: str  # from the language back into `source`
    guardians: int


class GlossaryTermCreate(Input):
    term: str = Field(min_length=1, max_length=100)
    keep: bool = False
    renderings: dict[LanguageTag, str] = Field(default_factory=dict, max_length=50)


class GlossaryTermRead(Output):
    id: int
    school_id: int
    term: str
    keep: bool
    renderings: dict[str, str]
    created_at: datetime
