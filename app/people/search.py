"""Finding people the way office staff type them: without accents and in any case ("Garcia"
finds "García", "nguyen" finds "Nguyễn", "Tran" finds "Trần"), the same on SQLite and
PostgreSQL. Each searched row keeps a `search_key`: its names, email and phone transliterated
to ASCII (anyascii) and casefolded, filled whenever the row is written (ORM flushes here, the
roster's bulk statements through `with_search_key` / `refresh_search_keys`). A search
normalizes what was typed the same way and looks for each word in that key."""

from collections.abc import Iterable, Mapping
from typing import Any

from anyascii import anyascii
from sqlalchemy import ColumnElement, and_, bindparam, event, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.people.models import Guardian, Staff, Student

# What each searched model is found by.
SOURCES: dict[type, tuple[str, ...]] = {
    Guardian: ("given_name", "family_name", "email", "phone"),
    Student: ("given_name", "family_name", "external_id"),
    Staff: ("name", "email"),
}
# A query's first words (more narrow nothing down, and each is a LIKE).
SEARCH_WORDS = 6


def normalized(text: str) -> str:
    """`text` as searches compare it: ASCII, casefolded, single spaces."""
    return " ".join(anyascii(text).casefold().split())


def search_key(model: type, values: Mapping[Any, Any]) -> str:
    """The search key of a row of `model` with these column values."""
    return normalized(" ".join(str(values[name]) for name in SOURCES[model] if values.get(name)))


def matches(column: InstrumentedAttribute[str], q: str) -> ColumnElement[bool]:
    """Rows whose `column` (a search_key) holds every word of `q`, accents and case aside."""
    words = normalized(q).split()[:SEARCH_WORDS]
    if not words:
        return true()
    return and_(*(column.contains(word, autoescape=True) for word in words))


def with_search_key(model: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows for a bulk INSERT into `model`, each with its search key (rows of other models as
    they are)."""
    if model not in SOURCES:
        return rows
    return [row | {"search_key": search_key(model, row)} for row in rows]


def refresh_search_keys(session: Session, model: Any, changes: Iterable[Mapping[str, Any]]) -> None:
    """After a bulk UPDATE of `model` (each change: the row's id and the columns it set): the
    search keys of the rows whose searched columns changed, made again."""
    if model not in SOURCES:
        return
    wanted = sorted({c["id"] for c in changes if not set(c).isdisjoint(SOURCES[model])})
    if not wanted:
        return
    columns = [getattr(model, name) for name in SOURCES[model]]
    table = model.__table__
    stmt = (
        table.update().where(table.c.id == bindparam("b_id")).values(search_key=bindparam("b_key"))
    )
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(model.id, *columns).where(model.id.in_(wanted[start : start + 500]))
        ).mappings()
        params = [{"b_id": row["id"], "b_key": search_key(model, row)} for row in rows]
        if params:
            session.execute(stmt, params)


def _fill(mapper: Any, connection: Any, target: Any) -> None:
    names = SOURCES[type(target)]
    target.search_key = search_key(type(target), {n: getattr(target, n) for n in names})


for _model in SOURCES:
    event.listen(_model, "before_insert", _fill)
    event.listen(_model, "before_update", _fill)
