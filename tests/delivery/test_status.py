"""A delivery's status: one StrEnum and its groups, defined once, holding the same strings the
database and the API always held."""

from sqlalchemy import event, text

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


def test_a_sent_result_is_one_update_and_the_row_in_the_session_says_the_same(session):
    row = DeliveryFactory(status=DeliveryStatus.QUEUED, error_code="21610", error_text="old")
    session.commit()
    updates: list[str] = []

    @event.listens_for(session.connection(), "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if statement.lstrip().upper().startswith("UPDATE DELIVERIES"):
            updates.append(statement)

    assert service.send(session, row.id) == "sent"
    assert not session.dirty  # nothing left for the job's commit to write
    assert len(updates) == 2  # the claim, the result
    in_session = (row.status, row.provider_id, row.sent_at, row.error_code, row.error_text)
    session.commit()
    session.expire_all()
    stored = session.get(Delivery, row.id)
    assert (
        stored.status,
        stored.provider_id,
        stored.sent_at,
        stored.error_code,
        stored.error_text,
    ) == in_session
    assert in_session[0] == "sent" and in_session[1] and in_session[2] is not None
    assert in_session[3] is None and in_session[4] is None
    assert stored.updated_at == stored.sent_at
