"""Retention: texts older than HEARTH_RETENTION_DAYS are erased, the metadata engagement reports
need stays, and nothing still on its way loses its text."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from app.audit.models import AuditEvent
from app.broadcasts.models import Broadcast
from app.channels.models import DevOutbox
from app.cli import cli
from app.core.config import Settings, get_settings
from app.core.queue import huey, registered, run_job
from app.delivery import service as delivery
from app.delivery.models import Delivery, InboundEmail, InboundSms
from app.messaging.models import Message, MessageTranslation
from app.records import service
from app.translation.models import CachedTranslation
from tests.records.conftest import deliveries_to, email_reply, post_note, text_from

OLD_DAYS = 800


def age_everything(session, days: int = OLD_DAYS) -> None:
    """Make every text stored so far `days` old."""
    past = datetime.now(UTC) - timedelta(days=days)
    for model, column in (
        (Message, "created_at"),
        (Delivery, "created_at"),
        (InboundSms, "received_at"),
        (InboundEmail, "received_at"),
        (CachedTranslation, "created_at"),
        (Broadcast, "created_at"),
    ):
        session.execute(update(model).values({column: past}))
    session.commit()


def fresh(session, model, row_id):
    return session.get(model, row_id, populate_existing=True)


@pytest.fixture
def history(session, client, auth, district):
    """Two years ago: a note to Mateo's two families, Marisol's replies by text and by email, a
    note to Ana still waiting for the morning, a broadcast. Today: a note to Ana."""
    thread, note = post_note(
        client, auth, district, "Mateo will be absent tomorrow.", [district.marisol, district.lan]
    )
    sms = text_from(client, session, district.marisol.phone, "Muchas gracias.", "SM" + "a" * 32)
    emailed = email_reply(session, district.marisol, thread["id"], "Muchas gracias.")
    _, waiting = post_note(
        client,
        auth,
        district,
        "School is closed on Monday.",
        [district.ana],
        subject="Closure",
    )
    held = session.get(Delivery, waiting["deliveries"][0]["id"])
    # Waiting for the end of quiet hours: queued, with its text ready.
    held.status, held.next_attempt_at = "queued", datetime.now(UTC) + timedelta(hours=8)
    broadcast = Broadcast(
        school_id=district.school.id,
        actor="test",
        title="Picture day",
        body="Picture day is on Monday.",
        params={"date": "2024-09-02"},
        language="en",
        audience={"whole_school": True},
        status="sent",
    )
    session.add(broadcast)
    session.commit()
    age_everything(session)
    _, recent = post_note(
        client, auth, district, "School is closed on Tuesday.", [district.ana], subject="Today"
    )
    return {
        "note": note,
        "sms": sms,
        "email_message_id": emailed.id,
        "waiting": waiting,
        "held_delivery_id": held.id,
        "broadcast_id": broadcast.id,
        "recent": recent,
    }


def test_purge_erases_old_texts_keeps_metadata_recent_and_unsent(session, district, history):
    before = {
        d.id: (d.status, d.language, d.channel, d.sent_at)
        for d in deliveries_to(session, district.marisol)
    }

    report = service.purge(session, days=730)

    assert report["dry_run"] is False and report["days"] == 730
    shown = {k for k in service.ERASABLE if k not in ("translation_cache", "interpretations")}
    assert {k: report[k] for k in shown} == {
        "translation_memory": 0,
        "attachments": 0,
        "deliveries": 3,  # Marisol's text and email, Lan's text; Ana's waiting text keeps its own
        "messages": 3,  # the note and Marisol's two replies
        "translations": 4,  # the note in es and vi, each reply in en
        "inbound_sms": 1,
        "inbound_emails": 1,
        "broadcasts": 1,
    }
    assert report["translation_cache"] >= 2
    assert report["messages_held"] == 1

    note = fresh(session, Message, history["note"]["id"])
    assert note.body == "" and note.language == "en" and note.direction == "outbound"
    translations = session.scalars(
        select(MessageTranslation)
        .where(MessageTranslation.message_id == note.id)
        .execution_options(populate_existing=True)
    ).all()
    assert {(t.language, t.status, t.text) for t in translations} == {
        ("es", "translated", None),
        ("vi", "translated", None),
    }
    # Who, when, channel, status and language stay for the engagement reports.
    after = deliveries_to(session, district.marisol)
    assert all(d.body is None for d in after)
    assert {d.id: (d.status, d.language, d.channel, d.sent_at) for d in after} == before
    assert all(d.address for d in after)

    sms = fresh(session, InboundSms, history["sms"].id)
    assert sms.body == "" and sms.params == {}
    assert sms.from_number == district.marisol.phone and sms.result == "routed"
    assert sms.message_id is not None
    email = session.scalar(
        select(InboundEmail).where(InboundEmail.message_id == history["email_message_id"])
    )
    assert email.raw == "" and email.received_at is not None
    assert fresh(session, Message, history["email_message_id"]).body == ""
    broadcast = fresh(session, Broadcast, history["broadcast_id"])
    assert broadcast.body is None and broadcast.params == {} and broadcast.status == "sent"

    # Still on its way: the waiting note and its text are untouched.
    waiting = fresh(session, Message, history["waiting"]["id"])
    held = fresh(session, Delivery, history["held_delivery_id"])
    assert waiting.body == "School is closed on Monday."
    assert held.status == "queued" and "La escuela está cerrada el lunes." in held.body
    # Recent: untouched, its cache row too.
    recent = fresh(session, Message, history["recent"]["id"])
    assert recent.body == "School is closed on Tuesday."
    recent_delivery = fresh(session, Delivery, history["recent"]["deliveries"][0]["id"])
    assert "La escuela está cerrada el martes." in recent_delivery.body
    cutoff = report["cutoff"]
    assert session.scalar(select(func.count()).where(CachedTranslation.created_at < cutoff)) == 0
    assert session.scalar(select(func.count()).select_from(CachedTranslation)) >= 1

    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "records.purge"))
    assert event is not None and event.details["messages"] == 3

    # Idempotent: nothing more to erase.
    again = service.purge(session, days=730)
    assert all(again[k] == 0 for k in service.ERASABLE) and again["messages_held"] == 1

    # The waiting text goes out in the morning with its words, and only then is erased.
    held.next_attempt_at = None
    session.commit()
    assert delivery.send(session, held.id) == "sent"
    sent = session.scalar(
        select(DevOutbox).where(DevOutbox.to == district.ana.phone).order_by(DevOutbox.id.desc())
    )  # the last text she got (the recent note went to her before)
    assert "La escuela está cerrada el lunes." in sent.body
    last = service.purge(session, days=730)
    assert last["deliveries"] == 1 and last["messages"] == 1 and last["messages_held"] == 0
    assert fresh(session, Message, history["waiting"]["id"]).body == ""


def test_a_send_in_progress_keeps_its_text(session, district, history):
    recent_id = history["recent"]["deliveries"][0]["id"]
    row = fresh(session, Delivery, recent_id)
    row.status, row.created_at = "sending", datetime.now(UTC) - timedelta(days=OLD_DAYS)
    session.commit()
    message_id = history["recent"]["id"]
    session.execute(
        update(Message)
        .where(Message.id == message_id)
        .values(created_at=datetime.now(UTC) - timedelta(days=OLD_DAYS))
    )
    session.commit()

    report = service.purge(session, days=730)

    assert report["messages_held"] == 2  # the waiting note and the one being sent
    assert "La escuela está cerrada el martes." in fresh(session, Delivery, recent_id).body
    assert fresh(session, Message, message_id).body == "School is closed on Tuesday."


def test_dry_run_counts_without_erasing(session, district, history):
    dry = service.purge(session, days=730, dry_run=True)
    assert dry["dry_run"] is True
    assert fresh(session, Message, history["note"]["id"]).body == "Mateo will be absent tomorrow."
    assert session.scalar(select(func.count()).where(AuditEvent.action == "records.purge")) == 0

    real = service.purge(session, days=730)
    assert {k: dry[k] for k in service.ERASABLE} == {k: real[k] for k in service.ERASABLE}


def test_retention_is_off_by_default(session, district, history):
    assert get_settings().retention_days == 0
    report = service.purge(session)
    assert report["days"] == 0 and report["cutoff"] is None
    assert all(report[k] == 0 for k in service.ERASABLE)
    assert fresh(session, Message, history["note"]["id"]).body == "Mateo will be absent tomorrow."


def test_negative_retention_is_refused():
    with pytest.raises(ValidationError, match="retention_days"):
        Settings(retention_days=-1)


def run(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def test_cli_purge_prints_counts(session, district, history):
    off = run("records", "purge")
    assert off.exit_code == 0 and "retention is off" in off.output

    dry = run("records", "purge", "--days", "730", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "retention 730 days" in dry.output and "(would erase)" in dry.output
    counts = {
        line.split()[0]: int(line.split()[1])
        for line in dry.output.splitlines()
        if line.startswith("  ")
    }
    assert counts["messages"] == 3 and counts["deliveries"] == 3 and counts["messages_held"] == 1
    assert fresh(session, Message, history["note"]["id"]).body != ""

    done = run("records", "purge", "--days", "730")
    assert done.exit_code == 0 and "(erased)" in done.output
    assert fresh(session, Message, history["note"]["id"]).body == ""
    again = run("records", "purge", "--days", "730")
    assert "  messages                  0" in again.output

    bad = run("records", "purge", "--days", "-5")
    assert bad.exit_code != 0 and "greater than or equal to 0" in bad.output


def test_daily_task_runs_at_night_with_the_setting(session, district, history, monkeypatch):
    assert "records.purge" in {t.name for t in huey._registry.periodic_tasks}
    assert registered("records.purge").task_class().validate_datetime(datetime(2026, 3, 2, 3, 17))
    assert (
        not registered("records.purge").task_class().validate_datetime(datetime(2026, 3, 2, 4, 17))
    )

    assert run_job("records.purge")["messages"] == 0  # 0 days: keeps everything
    monkeypatch.setenv("HEARTH_RETENTION_DAYS", "730")
    get_settings.cache_clear()
    try:
        counts = run_job("records.purge")
    finally:
        monkeypatch.delenv("HEARTH_RETENTION_DAYS")
        get_settings.cache_clear()
    assert counts["messages"] == 3 and counts["messages_held"] == 1
    assert fresh(session, Message, history["note"]["id"]).body == ""
