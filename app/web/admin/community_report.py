"""What the community report says, as the page and its PDF both print it."""

from dataclasses import dataclass, field


@dataclass
class Table:
    head: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Report:
    """Every word and figure of the report, already in the reader's language: the page and the
    PDF print this same object."""

    title: str
    place: str
    period: str
    summary: list[tuple[str, str]]
    languages: Table
    interpreters: list[str]
    interpreter_title: str
    interpreter_note: str
    changes: Table
    goals: Table | None
    notes: list[str] = field(default_factory=list)
