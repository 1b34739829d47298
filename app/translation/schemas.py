from datetime import datetime
from typing import Literal

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


class DirectionRead(Output):
    """How one direction is translated."""

    coverage: str = Field(description="same | direct | pivot (through English) | none")
    engine: str | None = Field(
        description="argos | opus-mt (an imported OPUS-MT pair) | multilingual; two joined "
        "by + through English; none when there is no route."
    )
    models: list[str] = Field(description="The models used, in order.")
    licences: list[str] = Field(description="Their licences, as their packages state them.")
    quality_tier: str | None = Field(
        description="test model | weak | unrated | good: the weakest model's."
    )


class LanguageRead(Output):
    code: str
    name: str
    native_name: str
    coverage: str  # direct | pivot | none | same, from `source` into the language
    coverage_back: str  # from the language back into `source`
    guardians: int
    engine_choice: str = Field(
        description="auto (Argos, an imported pair, the multilingual model, then through "
        "English) | argos | multilingual: chosen by an admin for the language."
    )
    to_language: DirectionRead = Field(description="From `source` into the language.")
    from_language: DirectionRead = Field(description="From the language back into `source`.")


class EngineChoice(Input):
    engine: Literal["auto", "argos", "multilingual"]


class EngineChoiceRead(Output):
    code: str
    engine: str


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
