"""Base schema and validated field types shared by every domain."""

from typing import Annotated
from zoneinfo import ZoneInfo, available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.core.config import get_settings
from app.core.contact import clean_name, normalize_email, normalize_language, normalize_phone


class Input(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _phone(value: str) -> str:
    return normalize_phone(value, get_settings().default_region)


def _timezone(value: str) -> str:
    if value not in available_timezones():
        raise ValueError(f"'{value}' is not an IANA timezone (example: America/Chicago)")
    ZoneInfo(value)
    return value


Name = Annotated[str, Field(max_length=400), AfterValidator(clean_name)]
Phone = Annotated[str, Field(max_length=40), AfterValidator(_phone)]
Email = Annotated[str, Field(max_length=254), AfterValidator(normalize_email)]
LanguageTag = Annotated[str, Field(max_length=35), AfterValidator(normalize_language)]
Timezone = Annotated[str, Field(max_length=64), AfterValidator(_timezone)]
