"""Base schema and validated field types shared by every domain."""

from typing import Annotated, Any
from zoneinfo import ZoneInfo, available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from app.core.config import get_settings
from app.core.contact import clean_name, normalize_email, normalize_language, normalize_phone

NUL_MESSAGE = "contains a NUL character (\\u0000), which text cannot hold"


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


class Input(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # PostgreSQL text cannot store NUL; refused here with the field's name, not at INSERT.
    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError(NUL_MESSAGE)
        return value


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(NUL_MESSAGE)
    return value


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
# Free text outside a body (query strings): anything but NUL.
Text = Annotated[str, AfterValidator(_no_nul)]


def _one_line(value: str) -> str:
    if any(ch in value for ch in "\r\n\v\f\x85\u2028\u2029"):
        raise ValueError("must be one line: remove the line breaks")
    return value


# A subject or a title: it becomes an email's Subject header, which is one line.
OneLine = Annotated[str, AfterValidator(_one_line)]

# Row ids are INTEGER columns (32-bit on PostgreSQL): a larger number names no row, and would
# fail in the database driver instead of answering 422.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
