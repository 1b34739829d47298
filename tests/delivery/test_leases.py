"""Process leases: a dead process's interrupted sends are settled at once, a live one's are not;
each dead lease is taken by one process; a send is stamped with its claimer's lease."""

from datetime import UTC, datetime, timedelta

from app.channels.models import DevOutbox
from app.core import leases
from app.core.leases import ProcessLease
from app.delivery import service
from app.delivery.models import Delivery
from tests.factories import (
    GuardianFactory,
    SchoolFactory,
    SectionFactory,
    StaffFactory,
    StudentFactory,
)


def _sent_note(client, auth) -> Delivery:
    school = SchoolFactory()
    teacher = StaffFactory(schools=[school])
    student = StudentFactory(school=school)
    SectionFactory(school=school, teachers=[teacher], students=[student])
    guardian = GuardianFactory(students=[student], language="en")
    headers = auth("read,write,send", staff=teacher)
    thread = client.post(
        "/api/v1/threads",
        headers=headers,
        json={"student_id": student.id, "guardian_ids": [guardian.id]},
    ).json()
    message = client.post(
        f"/api/v1/threads/{thread['id']}/messages",
        headers=headers,
        json={"body": "School is closed today.", "urgent": True},
    ).json()
    return message["deliveries"][0]["id"]


def test_an_expired_lease_is_taken_once_and_a_live_one_never(session):
    now = datetime.now(UTC)
    session.add_all(
        [
            ProcessLease(owner="dead", started_at=now, renewed_at=now - timedelta(minutes=1)),
            ProcessLease(owner="alive", started_at=now, renewed_at=now),
        ]
    )
    session.commit()
    assert leases.take_over_expired(session, now) == ["dead"]
    assert leases.take_over_expired(session, now) == []  # the next caller finds it taken
    assert session.get(ProcessLease, "alive") is not None


def test_a_claim_is_stamped_with_the_lease_this_process_holds(session, monkeypatch):
    monkeypatch.setattr(leases, "_held", None)
    assert leases.current_owner() is None  # no lease: settled by age only
    leases.take(session, "host:1:abc")
    try:
        assert leases.current_owner() == "host:1:abc"
        assert leases.renew(session, "host:1:abc") is True
    finally:
        leases.give_back(session, "host:1:abc")
    assert leases.current_owner() is None
    assert session.get(ProcessLease, "host:1:abc") is None


def test_a_dead_processs_send_is_settled_at_once_a_live_ones_is_left(session, client, auth):
    first, second = _sent_note(client, auth), _sent_note(client, auth)
    for delivery_id, owner in ((first, "dead"), (second, "alive")):
        row = session.get(Delivery, delivery_id)
        # Claimed half a minute ago: far younger than HEARTH_SENDING_STALE_SECONDS, older than
        # any provider call can last.
        row.status, row.provider_id, row.claimed_by = "sending", None, owner
        row.updated_at = datetime.now(UTC) - timedelta(seconds=30)
    session.commit()
    outcome = service.reconcile_interrupted(session, dead=["dead"])
    assert outcome == {"found": 1, "requeued": 0, "review": 0}  # the dev phone had it
    assert session.get(Delivery, first, populate_existing=True).status == "sent"
    assert session.get(Delivery, second, populate_existing=True).status == "sending"


def test_a_send_the_provider_never_got_is_due_again_at_once(session, client, auth):
    delivery_id = _sent_note(client, auth)
    row = session.get(Delivery, delivery_id)
    # The process died before the text left: the dev phone has nothing for it.
    session.query(DevOutbox).delete()
    row.status, row.provider_id, row.claimed_by = "sending", None, "dead"
    row.updated_at = datetime.now(UTC) - timedelta(minutes=1)
    session.commit()
    assert service.reconcile_interrupted(session, dead=["dead"])["requeued"] == 1
    # Due now, with the default grace period: not after HEARTH_OUTBOX_GRACE_SECONDS.
    assert delivery_id in service.overdue(session)
    assert service.send(session, delivery_id) == "sent"


def test_a_dead_processs_send_still_inside_its_provider_call_is_left_until_the_call_is_over(
    session, client, auth
):
    delivery_id = _sent_note(client, auth)
    row = session.get(Delivery, delivery_id)
    session.query(DevOutbox).delete()
    # Stamped a second ago, right before its provider call: the call may still land.
    row.status, row.provider_id, row.claimed_by = "sending", None, "dead"
    row.updated_at = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    assert service.reconcile_interrupted(session, dead=["dead"]) == {
        "found": 0,
        "requeued": 0,
        "review": 0,
    }
    assert service.still_sending(session, "dead")  # so the recovery comes back for it
    later = datetime.now(UTC) + service.call_timeout() + timedelta(seconds=1)
    assert service.reconcile_interrupted(session, now=later, dead=["dead"])["requeued"] == 1


def test_a_send_taken_from_its_process_is_not_made_by_it(session, client, auth):
    delivery_id = _sent_note(client, auth)
    row = session.get(Delivery, delivery_id)
    row.status, row.attempts = "sending", 3
    session.commit()
    assert service._still_ours(session, delivery_id, 3)
    # Another process settled it meanwhile (it took this one for dead): this one stands back.
    session.get(Delivery, delivery_id).status = "queued"
    session.commit()
    assert not service._still_ours(session, delivery_id, 3)
