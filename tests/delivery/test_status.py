"""A delivery's status: one StrEnum and its groups, defined once, holding the same strings the
database and the API always held."""

from sqlalchemy import text

from app.delivery import service
from app.delivery.models import (
    FAILED,
    FINAL,
    PENDING,
    REACHED,
    STATUSES,
    Delivery,
    DeliveryStatus,
)
from tests.factories import DeliveryFactory


def test_the_statuses_are_the_strings_stored_in_their_order():
    assert [str(s) for s in STATUSES] == [
        "queued",
        "sending",
        "sent",
        "delivered",
        "failed",
        "undelivered",
        "suppressed",
        "canceled",
        "review",
    ]
    assert DeliveryStatus.QUEUED == "queued" and f"{DeliveryStatus.REVIEW}" == "review"


def test_the_groups_split_every_status_once():
    canceled = {DeliveryStatus.CANCELED}
    assert REACHED | FAILED | PENDING | canceled == set(STATUSES)
    assert sum(map(len, (REACHED, FAILED, PENDING, canceled))) == len(STATUSES)
    assert FAILED | canceled | {DeliveryStatus.DELIVERED} == FINAL
    assert not FINAL & PENDING


def test_a_claimed_row_holds_the_plain_string(session):
    row = DeliveryFactory(status=DeliveryStatus.QUEUED)
    session.flush()
    claimed = service.claim(session, row.id)
    assert claimed is not None
    stored = session.execute(
        text("SELECT status FROM deliveries WHERE id = :id"), {"id": row.id}
    ).scalar_one()
    assert stored == "sending" and type(stored) is str
    session.expire_all()
    assert session.get(Delivery, row.id).status == DeliveryStatus.SENDING
