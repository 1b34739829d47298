from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.schema import Id

Measure = Literal["reached_in_language", "reply_rate", "interpreter", "response_hours"]
TermKey = Field(pattern=r"^\d{4}-(fall|spring)$", examples=["2026-fall"])


class GoalSet(BaseModel):
    """A goal for a term: a share from 0 to 1 (0.8 is 80%), or for `response_hours` a median
    staff response time in hours. `school_id` null: the district's goal, which every school
    without its own is held to. `target` null removes the goal."""

    term: str = TermKey
    school_id: Id | None = None
    measure: Measure
    target: float | None = Field(ge=0, allow_inf_nan=False)


class GoalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    term: str
    school_id: int | None
    measure: str
    target: float
    updated_at: datetime


class ProgressRead(BaseModel):
    school_id: int
    measure: str
    target: float
    district_wide: bool
    value: float | None
    previous: float | None
    met: bool | None
    trend: str
