from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from app.core.db import utcnow
from app.core.schema import Input, OneLine, Output

MAX_OPTIONS = 9
MAX_TIMES = 20
QuestionKind = Literal["yes_no", "choice", "number", "text", "permission"]


class QuestionDraft(Input):
    """A question on a broadcast. `options`: a choice's options (2 to 9), in the author's
    language; yes/no has its own. `deadline`: answers after it are not counted (they still
    reach staff). `remind_at`: a reminder to the families who have not answered by then."""

    kind: QuestionKind
    options: list[OneLine] = Field(default_factory=list, max_length=MAX_TIMES)
    # A choice of times (a conference's slots): each option's start, written in each family's
    # language and way; the options are then what staff read.
    times: list[datetime] | None = Field(default=None, max_length=MAX_TIMES)
    # A sign-up: how many families each option takes (1 for a conference slot); none: no limit.
    places: list[int] | None = Field(default=None, max_length=MAX_TIMES)
    deadline: datetime | None = None
    remind_at: datetime | None = None
    replace_answers: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> "QuestionDraft":
        if self.kind == "choice" and len([o for o in self.options if o]) < 2:
            raise ValueError("a choice needs at least 2 options")
        if len(self.options) > (MAX_TIMES if self.times else MAX_OPTIONS):
            raise ValueError(f"a choice has at most {MAX_OPTIONS} options")
        if self.times is not None and (
            len(self.times) != len(self.options) or any(t.tzinfo is None for t in self.times)
        ):
            raise ValueError("times: one time with its timezone for each option")
        if self.kind != "choice" and self.options:
            raise ValueError(f"a {self.kind} question has no options (only a choice has)")
        if self.places is not None and (
            len(self.places) != len(self.options) or any(n < 1 or n > 10_000 for n in self.places)
        ):
            raise ValueError("places: one number from 1 to 10000 for each option")
        if any(not o or len(o) > 60 for o in self.options):
            raise ValueError("each option is 1 to 60 characters")
        for name, when in (("deadline", self.deadline), ("remind_at", self.remind_at)):
            if when is not None and when.tzinfo is None:
                raise ValueError(f"{name} needs a timezone, e.g. 2026-12-10T17:00:00-06:00")
        if self.deadline is not None and self.deadline <= utcnow():
            raise ValueError("the deadline has passed: choose a time to come")
        if self.deadline and self.remind_at and self.remind_at >= self.deadline:
            raise ValueError("remind_at must come before the deadline")
        return self


class OptionCount(Output):
    key: str  # "yes" / "no", the option's number, or the number given
    label: str
    count: int
    places: int | None = None  # a sign-up's places for this option


class LanguageCount(Output):
    language: str
    asked: int
    answered: int
    counts: dict[str, int]


class GroupCount(Output):
    name: str  # the grade ("K", "3") or the class's name; "" for students without a grade
    asked: int
    answered: int
    counts: dict[str, int]


class Unanswered(Output):
    guardian_id: int
    name: str
    language: str
    phone: str | None
    email: str | None


class AnswerRead(Output):
    guardian_id: int
    name: str
    language: str
    value: str
    text: str
    answered_at: datetime
    signature: str | None = None  # a permission slip: the name the family typed
    channel: str | None = None  # how the answer came: sms | email


class AnswersRead(Output):
    kind: str
    options: list[str]
    deadline: datetime | None
    asked: int
    answered: int
    counts: dict[str, int]  # yes/no, or option numbers, or numbers given → families
    per_option: list[OptionCount]
    per_language: list[LanguageCount]
    per_grade: list[GroupCount] = []  # a family with children in two grades counts in both
    per_section: list[GroupCount] = []
    not_answered: list[Unanswered]
    answers: list[AnswerRead]
