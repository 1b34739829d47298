from datetime import datetime

from pydantic import Field

from app.core.schema import Input, LanguageTag, Output


class TranslateRequest(Input):
    text: str = Field(min_length=1, max_length=5000)
    source: LanguageTag | None = None  # detected when omitted
    target: LanguageTag
    back_translate: bool = False


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
