"""One paginated list shape for every list endpoint."""

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.core.schema import MAX_ID

T = TypeVar("T")


class Page(BaseModel):
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page")] = 50,
    # Bounded like ids: a larger offset skips every row, and would overflow the database driver.
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip")] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


PageDep = Annotated[Page, Depends(page_params)]


class ListResource(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None


def paginate(session: Session, stmt: Select[Any], page: Page) -> tuple[list[Any], int]:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(session.scalars(stmt.limit(page.limit).offset(page.offset)))
    return rows, total


def list_resource(items: list[Any], total: int, page: Page) -> dict[str, Any]:
    more = page.offset + len(items) < total
    return {
        "items": items,
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
        "next_offset": page.offset + len(items) if more else None,
    }
