"""How both roster importers write: new rows in bulk (`app.core.bulk`), updates one
executemany per statement shape. (The ORM's bulk INSERT splits a batch wherever a row's None
values differ, which made 80,000 guardians thousands of statements.) And what an import reads
and writes of a guardian."""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import bindparam
from sqlalchemy.orm import Session

from app.core.bulk import insert_rows
from app.people.models import Guardian
from app.people.search import refresh_search_keys, with_search_key

T = TypeVar("T")

# What an import compares and may change of a guardian (besides its external_id).
GUARDIAN_FIELDS = (
    Guardian.id,
    Guardian.given_name,
    Guardian.family_name,
    Guardian.phone,
    Guardian.email,
    Guardian.language,
    Guardian.language_confirmed,
    Guardian.channels,
    Guardian.channels_confirmed,
    Guardian.active,
)


def default_channels(phone: str | None, email: str | None) -> list[str]:
    """The roster's default: text a phone, else email; nobody chosen, nothing to reach."""
    if phone:
        return ["sms"]
    return ["email"] if email else []


def bulk_insert(
    session: Session, model: Any, rows: list[dict[str, Any]], *, returning_ids: bool = False
) -> list[int]:
    """Inserts `rows`; with `returning_ids`, returns their new ids in the same order."""
    if not rows:
        return []
    return insert_rows(session, model, with_search_key(model, rows), returning_ids=returning_ids)


def bulk_update(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """UPDATE by primary key; each row names the columns it changes (and the search keys of
    people follow)."""
    table = model.__table__
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        shapes[tuple(sorted(row))].append(row)
    for columns, group in shapes.items():
        stmt = (
            table.update()
            .where(table.c.id == bindparam("b_id"))
            .values({c: bindparam(f"b_{c}") for c in columns if c != "id"})
        )
        session.execute(stmt, [{f"b_{c}": v for c, v in row.items()} for row in group])
    refresh_search_keys(session, model, rows)


def delete_pairs(
    session: Session, model: Any, left: str, right: str, pairs: Iterable[tuple[int, int]]
) -> None:
    """Deletes the association rows whose (`left`, `right`) columns are one of `pairs`."""
    params = [{"b_left": a, "b_right": b} for a, b in pairs]
    if params:
        table = model.__table__
        stmt = table.delete().where(
            table.c[left] == bindparam("b_left"), table.c[right] == bindparam("b_right")
        )
        session.execute(stmt, params)


def chunks(values: Iterable[T], size: int = 500) -> Iterator[list[T]]:
    """`values` in lists of at most `size` (an IN list a database accepts)."""
    it = iter(values)
    while chunk := list(islice(it, size)):
        yield chunk
