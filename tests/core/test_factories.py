"""Every model has a factory, and every factory makes a row the database accepts (foreign
keys, unique and NOT NULL constraints: SQLite here, PostgreSQL in CI)."""

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

import app.models  # noqa: F401  (every model, as Alembic sees them)
from app.core.db import Base
from tests import factories

FACTORIES = {f._meta.model: f for f in factories.all_factories()}


def test_every_model_has_a_factory():
    models = {mapper.class_ for mapper in Base.registry.mappers}
    assert len(models) == len(Base.metadata.tables)
    missing = sorted(m.__name__ for m in models - FACTORIES.keys())
    assert not missing, f"models without a factory in tests/factories/: {missing}"


@pytest.mark.parametrize("factory", FACTORIES.values(), ids=lambda f: f.__name__)
def test_each_factory_makes_a_row_that_flushes(session: Session, factory):
    model = factory._meta.model
    before = session.scalar(select(func.count()).select_from(model))
    made = factory()
    session.flush()
    assert session.scalar(select(func.count()).select_from(model)) == before + 1
    # Read back from the database, not from the session's identity map.
    key = inspect(made).identity
    session.expire_all()
    row = session.get(model, key)
    assert row is not None
    for column in model.__table__.columns:
        if not column.nullable:
            assert getattr(row, column.key) is not None, column.key


def test_two_rows_of_each_factory_do_not_collide(session: Session):
    """Sequences keep unique columns apart (keys, phones with a sender, glossary terms)."""
    for factory in FACTORIES.values():
        factory.create_batch(2)
    session.flush()


def test_family_names_fit_the_language(session: Session):
    vietnamese = factories.GuardianFactory(language="vi")
    chinese = factories.GuardianFactory(language="zh-Hans")
    arabic = factories.GuardianFactory(language="ar")
    assert (vietnamese.given_name, vietnamese.family_name) in factories.FAMILY_NAMES["vi"]
    assert all("\u4e00" <= ch <= "\u9fff" for ch in chinese.given_name + chinese.family_name)
    assert all("\u0600" <= ch <= "\u06ff" for ch in arabic.given_name.replace(" ", ""))
    for guardian in (vietnamese, chinese, arabic):
        assert guardian.phone.startswith("+1") and guardian.phone[1:].isdigit()
        assert len(guardian.phone) == 12  # E.164, a US number


def test_related_rows_are_made_with_the_row(session: Session):
    delivery = factories.DeliveryFactory(channel="email")
    message = session.get(factories.MessageFactory._meta.model, delivery.message_id)
    thread = session.get(factories.ThreadFactory._meta.model, message.thread_id)
    assert delivery.school_id == thread.school_id
    assert delivery.address.endswith("@example.org")
    broadcast = factories.BroadcastFactory()
    staff = factories.StaffSchoolFactory._meta.model
    assert session.get(staff, (broadcast.author_staff_id, broadcast.school_id)) is not None
