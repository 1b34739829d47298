"""The outbox's rules: quiet hours, urgency, the sweeper, segments, claims."""

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from app.channels.models import DevOutbox
from app.channels.segments import count_segments
from app.delivery import service
from app.delivery.models import Delivery
from tests.factories import (
    DeliveryFactory,
    GuardianFactory,
    OptOutFactory,
    SchoolFactory,
    SectionFactory,
    StaffFactory,
    StudentFactory,
)


def _school(**kw):
    return SchoolFactory(
        timezone="America/Chicago", quiet_hours_start=time(20, 0), quiet_hours_end=time(7, 0), **kw
    )


def test_quiet_hours_window_in_the_schools_timezone(session):
    school = _school()
    # 21:30 in Chicago (UTC-6 in November) is inside 20:00–07:00: wait until 07:00 local.
    late = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)
    assert service.quiet_until(school, late) == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    # 05:00 local, still quiet, opens the same morning.
    early = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert service.quiet_until(school, early) == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    assert service.quiet_until(school, datetime(2026, 11, 23, 18, 0, tzinfo=UTC)) is None
    assert service.quiet_until(SchoolFactory(), late) is None  # no quiet hours set


def _note(client, auth, school, urgent):
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
    return client.post(
        f"/api/v1/threads/{thread['id']}/messages",
        headers=headers,
        json={"body": "School is closed today.", "urgent": urgent},
    ).json()


def test_non_urgent_text_inside_quiet_hours_waits_urgent_goes_now(
    client, auth, session, monkeypatch
):
    school = _school()
    night = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)
    monkeypatch.setattr(service, "utcnow", lambda: night)
    normal = _note(client, auth, school, urgent=False)["deliveries"][0]
    row = session.get(Delivery, normal["id"])
    assert row.status == "queued" and row.attempts == 0
    assert row.next_attempt_at == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    assert session.scalar(select(DevOutbox).where(DevOutbox.to == row.address)) is None
    urgent = _note(client, auth, school, urgent=True)["deliveries"][0]
    assert session.get(Delivery, urgent["id"]).status in ("sent", "delivered")
    # Morning: the sweeper finds the waiting text due and it goes out once.
    monkeypatch.setattr(service, "utcnow", lambda: night + timedelta(hours=10))
    assert row.id in service.overdue(session)
    assert service.send(session, row.id) == "sent"
    assert service.send(session, row.id) == "skipped"


def test_sweeper_finds_rows_whose_job_was_lost(session, client, auth):
    school = SchoolFactory()
    message = _note(client, auth, school, urgent=True)
    row = session.get(Delivery, message["deliveries"][0]["id"])
    row.status, row.provider_id, row.updated_at = (
        "queued",
        None,
        datetime.now(UTC) - timedelta(hours=1),
    )
    session.commit()
    assert row.id in service.overdue(session)
    fresh = datetime.now(UTC)
    row.updated_at = fresh
    session.commit()
    assert row.id not in service.overdue(session, now=fresh)


def test_interrupted_send_is_reconciled_not_resent(session, client, auth):
    school = SchoolFactory()
    message = _note(client, auth, school, urgent=True)
    row = session.get(Delivery, message["deliveries"][0]["id"])
    provider_id = row.provider_id
    # The dev phone got the text, but the worker died before recording it.
    row.status, row.provider_id = "sending", None
    row.updated_at = datetime.now(UTC) - timedelta(hours=1)
    session.commit()
    assert service.reconcile_interrupted(session) == {"found": 1, "requeued": 0, "review": 0}
    session.refresh(row)
    assert row.status == "sent" and row.provider_id == provider_id


def test_a_stop_after_planning_holds_at_the_send_for_every_number_of_the_school(session):
    school, other = SchoolFactory(), SchoolFactory(sms_sender="+15125550199")
    no_number = SchoolFactory(sms_sender=None)
    pool = "+15125550177"  # another number of the school's: a family's texts go from it

    def queued(school, phone, sender=pool, channel="sms"):
        guardian = GuardianFactory(phone=phone, email=f"{phone[1:]}@example.org")
        return DeliveryFactory(
            guardian=guardian, school_id=school.id, sender=sender, channel=channel
        )

    said_stop = queued(school, "+15125558101")  # STOP to the school's own number
    OptOutFactory(school=school, phone="+15125558101")
    elsewhere = queued(school, "+15125558102")  # STOP to another school only
    OptOutFactory(school=other, phone="+15125558102")
    resumed = queued(school, "+15125558103")  # STOP, then START
    OptOutFactory(school=school, phone="+15125558103", active=False)
    by_email = queued(school, "+15125558101", channel="email")
    # A school with no number of its own: the STOP is kept under the number the text goes from.
    own = queued(no_number, "+15125558104", sender="+15125550188")
    OptOutFactory(school=no_number, phone="+15125558104", sender="+15125550188")
    session.commit()

    outcomes = {
        row.id: service.send(session, row.id)
        for row in (said_stop, elsewhere, resumed, by_email, own)
    }
    session.commit()
    assert outcomes == {
        said_stop.id: "suppressed",
        elsewhere.id: "sent",
        resumed.id: "sent",
        by_email.id: "sent",
        own.id: "suppressed",
    }
    texted = set(session.scalars(select(DevOutbox.to)))
    assert texted == {"+15125558102", "+15125558103", "15125558101@example.org"}
    session.expire_all()
    assert session.get(Delivery, said_stop.id).error_code == "opted_out"
    sent = session.get(Delivery, elsewhere.id)
    assert sent.status == "sent" and sent.provider_id and sent.sent_at and sent.attempts == 1
    assert sent.error_code is None and sent.updated_at >= sent.sent_at


def test_a_claim_wins_once_and_updates_the_sessions_own_copy(session):
    row = DeliveryFactory(urgent=True)
    session.commit()
    assert row.status == "queued" and row.attempts == 0
    claimed = service.claim(session, row.id)
    assert claimed is row  # the session's copy, not a second one
    assert (row.status, row.attempts) == ("sending", 1) and row.claimed_by is None
    assert row not in session.dirty  # as the database has it: nothing to write back
    assert service.claim(session, row.id) is None  # a second claim (a duplicate job) loses
    session.commit()
    session.expunge_all()
    fresh = service.claim(session, DeliveryFactory().id)
    assert fresh is not None and fresh.status == "sending" and fresh in session
    assert fresh.body and fresh.address and fresh.updated_at is not None


def test_segments_are_stored_per_delivery(client, auth, session):
    school = SchoolFactory()
    message = _note(client, auth, school, urgent=True)
    row = session.get(Delivery, message["deliveries"][0]["id"])
    # The text as the phone gets it (who wrote, the note, the invitation to reply), counted.
    assert row.segments == count_segments(row.body).segments >= 1
    assert message["deliveries"][0]["segments"] == row.segments


def test_a_stored_reply_whose_job_was_lost_is_processed_by_the_sweep(session):
    from app.core.queue import run_job
    from app.delivery.models import InboundSms

    school = SchoolFactory(sms_sender="+15125550100")
    row = InboundSms(
        message_sid="SMlost",
        from_number="+15125559999",
        to_number=school.sms_sender,
        body="Hello?",
        params={},
        received_at=datetime.now(UTC) - timedelta(hours=1),
    )
    session.add(row)
    session.commit()
    run_job("messaging.sweep")
    session.refresh(row)
    assert row.status == "processed" and row.result == "routed" and row.message_id
    run_job("messaging.sweep")  # and only once
    session.refresh(row)
    assert row.status == "processed"
