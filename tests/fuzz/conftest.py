"""Fuzz tests run many examples inside one test: each example's writes are rolled back."""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from sqlalchemy.orm import Session


@pytest.fixture
def rolled_back(session: Session) -> Callable[[], AbstractContextManager[None]]:
    """`with rolled_back(): ...` runs the block inside a SAVEPOINT that is then rolled back.

    What the test set up must be committed first (into the test's own transaction): requests
    and jobs commit through the same session, whose savepoints then nest inside this one."""

    @contextmanager
    def block() -> Iterator[None]:
        example = session.get_bind().begin_nested()
        try:
            yield
        finally:
            session.close()
            example.rollback()

    return block
