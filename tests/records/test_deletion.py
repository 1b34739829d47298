"""Deleting a family: no trace of their name, phone or email left in Hearth's tables (but the STOP
of their number), nothing sent to them afterwards, other families untouched, all or nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.audit.models import AuditEvent
from app.channels.models import DevOutbox
from app.cli import cli
from app.delivery import service as delivery
from app.delivery.models import Delivery, OptOut
from app.messaging.models import Message
from app.people.models import Guardian, StudentGuardian
from app.translation.models import CachedTranslation
from tests.records.conftest import (
    deliveries_to,
    email_reply,
    post_note,
    tables_mentioning,
    text_from,
)

# Where a deleted family's phone may stay: the STOP record (kept on purpose), and the dev
# phone's own outbox, which stands in for the carrier.
PHONE_KEPT_IN = {"opt_outs", "dev_outbox"}


@pytest.fixture
def family_history(session, client, auth, district):
    """Marisol's history: a note shared with Lan, a note to her alone (with her name in its
    subject), her replies by text and email, a STOP, and one note waiting to go out."""
    shared, shared_note = post_note(
        client, auth, district, "Mateo will be absent tomorrow.", [district.marisol, district.lan]
    )
    text_from(client, session, district.marisol.phone, "Muchas gracias.", "SM" + "1" * 32)
    text_from(client, session, district.lan.phone, "Cảm ơn cô.", "SM" + "2" * 32)
    email_reply(session, district.marisol, shared["id"], "Muchas gracias.")
    own, own_note = post_note(
        client,
        auth,
        district,
        "Marisol, Mateo will be absent tomorrow.",
        [district.marisol],
        subject="Marisol Quintanilla: attendance",
    )
    _, waiting = post_note(
        client, auth, district, "School is closed on Monday.", [district.marisol], subject="Closure"
    )
    pending = session.get(Delivery, waiting["deliveries"][0]["id"])
    pending.status, pending.next_attempt_at, pending.provider_id = "queued", None, None
    pending.updated_at = datetime.now(UTC) - timedelta(hours=2)  # overdue for the sweeper
    text_from(client, session, district.marisol.phone, "STOP", "SM" + "3" * 32)
    _, ana_note = post_note(client, auth, district, "School is closed on Tuesday.", [district.ana])
    session.commit()
    return {
        "shared": shared,
        "shared_note": shared_note,
        "own": own,
        "own_note": own_note,
        "pending_id": pending.id,
        "ana_note": ana_note,
    }


def traces(session, guardian_values) -> dict[str, dict[str, int]]:
    return {value: tables_mentioning(session, value) for value in guardian_values}


def test_deleting_a_family_leaves_no_trace_and_sends_nothing_more(
    client, auth, session, district, family_history
):
    marisol = district.marisol
    phone, email = marisol.phone, marisol.email
    assert set(tables_mentioning(session, phone)) > {"guardians", "deliveries", "inbound_sms"}
    assert "guardians" in tables_mentioning(session, "Quintanilla")
    lan_before = [(d.id, d.body, d.address, d.status) for d in deliveries_to(session, district.lan)]
    sent_before = session.scalar(select(func.count()).where(DevOutbox.to == phone))

    response = client.delete(f"/api/v1/guardians/{marisol.id}?confirm=true", headers=auth("admin"))

    assert response.status_code == 200, response.text
    report = response.json()
    assert report == {
        "guardian_id": marisol.id,
        "deliveries_canceled": 1,
        "deliveries_erased": 6,  # three notes, each by text and by email
        "messages_erased": 4,  # her two replies, her own note, the waiting note
        "translations_erased": 4,  # her replies into English, her two notes into Spanish
        "interpretations_erased": report["interpretations_erased"],
        "inbound_sms_erased": 2,  # her reply and her STOP; Lan's reply stays
        "inbound_emails_erased": 1,
        "translation_cache_deleted": report["translation_cache_deleted"],
        "attachments_deleted": 0,
        "threads_erased": 2,
        "threads_kept_for_other_families": 1,
        "student_links_removed": 1,
        "opt_outs_kept": 1,
        "phone_shared": False,
        "email_shared": False,
    }
    assert report["translation_cache_deleted"] >= 1

    # No trace of her name, phone or email anywhere, but the STOP.
    found = traces(session, [phone, email, "Marisol", "Quintanilla", "marisol.q"])
    assert set(found[phone]) <= PHONE_KEPT_IN and "opt_outs" in found[phone]
    for value in (email, "Marisol", "Quintanilla", "marisol.q"):
        assert set(found[value]) <= {"dev_outbox"}, (value, found[value])
    stop = session.scalar(select(OptOut).where(OptOut.phone == phone))
    assert stop.active and stop.keyword == "STOP"

    shell = session.get(Guardian, marisol.id, populate_existing=True)
    assert shell.given_name == "(deleted)" and not shell.active and shell.channels == []
    assert shell.language == "es"  # engagement reports by language stay right
    assert (
        session.scalar(select(StudentGuardian).where(StudentGuardian.guardian_id == marisol.id))
        is None
    )
    mine = deliveries_to(session, marisol)
    assert all(d.body is None and d.address == "" for d in mine)
    assert {d.status for d in mine} <= {"sent", "delivered", "canceled"}

    # The waiting note is canceled and never goes out, not by its job, not by the sweeper.
    pending = session.get(Delivery, family_history["pending_id"], populate_existing=True)
    assert pending.status == "canceled" and pending.error_code == "family_deleted"
    assert delivery.send(session, pending.id) == "skipped"
    assert pending.id not in delivery.overdue(session)
    assert session.scalar(select(func.count()).where(DevOutbox.to == phone)) == sent_before

    # Lan keeps the shared thread: the note as written, her reply, her deliveries.
    shared = client.get(
        f"/api/v1/threads/{family_history['shared']['id']}", headers=auth("admin")
    ).json()
    bodies = [m["body"] for m in shared["messages"]]
    assert bodies == ["Mateo will be absent tomorrow.", "", "Cảm ơn cô.", ""]
    assert [
        (d.id, d.body, d.address, d.status) for d in deliveries_to(session, district.lan)
    ] == lan_before
    # Ana's family is untouched.
    ana = session.get(Guardian, district.ana.id, populate_existing=True)
    assert (ana.given_name, ana.phone, ana.active) == ("Ana", "+15125552003", True)
    ana_note = session.get(Message, family_history["ana_note"]["id"], populate_existing=True)
    assert ana_note.body == "School is closed on Tuesday."
    assert "La escuela está cerrada el martes." in deliveries_to(session, district.ana)[0].body

    # A new note in the shared thread reaches Lan only.
    headers = auth("read,write,send", staff=district.teacher)
    later = client.post(
        f"/api/v1/threads/{family_history['shared']['id']}/messages",
        headers=headers,
        json={"body": "School is closed on Monday."},
    ).json()
    assert [d["guardian_id"] for d in later["deliveries"]] == [district.lan.id]

    # The audit record says what happened, with counts only.
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "guardian.delete"))
    assert event.object_id == str(marisol.id) and event.details["messages_erased"] == 4


def test_without_confirmation_nothing_is_deleted(client, auth, session, district, family_history):
    url = f"/api/v1/guardians/{district.marisol.id}"
    for suffix in ("", "?confirm=false"):
        response = client.delete(url + suffix, headers=auth("admin"))
        assert response.status_code == 422
        message = response.json()["error"]["message"]
        assert "erases their name, phone, email and messages for good" in message
        assert "?confirm=true" in message
    unsure = client.delete(url + "?confirm=maybe", headers=auth("admin"))
    assert unsure.status_code == 422 and "confirm" in unsure.json()["error"]["message"]
    assert client.get(url, headers=auth("admin")).json()["phone"] == "+15125552001"
    pending = session.get(Delivery, family_history["pending_id"], populate_existing=True)
    assert pending.status == "queued"
    assert client.delete(url + "?confirm=true", headers=auth("read,write,send")).status_code == 403


def test_a_send_in_flight_refuses_the_whole_deletion(
    client, auth, session, district, family_history
):
    sending = deliveries_to(session, district.marisol)[0]
    sending.status = "sending"
    session.commit()

    response = client.delete(
        f"/api/v1/guardians/{district.marisol.id}?confirm=true", headers=auth("admin")
    )

    assert response.status_code == 409
    assert "being sent right now" in response.json()["error"]["message"]
    guardian = session.get(Guardian, district.marisol.id, populate_existing=True)
    assert guardian.given_name == "Marisol" and guardian.phone == "+15125552001"
    pending = session.get(Delivery, family_history["pending_id"], populate_existing=True)
    assert pending.status == "queued" and pending.body is not None
    own = session.get(Message, family_history["own_note"]["id"], populate_existing=True)
    assert own.body == "Marisol, Mateo will be absent tomorrow."
    assert session.scalar(select(func.count()).where(AuditEvent.action == "guardian.delete")) == 0


def test_a_number_shared_with_another_guardian_stays_theirs(client, auth, session, district):
    spouse = Guardian(
        given_name="Pedro", family_name="Ruiz", phone=district.marisol.phone, language="es"
    )
    session.add(spouse)
    session.flush()
    session.add(StudentGuardian(student_id=district.mateo.id, guardian_id=spouse.id))
    session.commit()
    help_text = text_from(client, session, district.marisol.phone, "HELP", "SM" + "4" * 32)

    report = client.delete(
        f"/api/v1/guardians/{district.marisol.id}?confirm=true", headers=auth("admin")
    ).json()

    assert report["phone_shared"] is True and report["email_shared"] is False
    session.refresh(spouse)
    assert spouse.phone == "+15125552001" and spouse.active
    session.refresh(help_text)
    assert help_text.body == "HELP" and help_text.from_number == "+15125552001"


def test_her_name_leaves_the_email_subjects_of_a_thread_another_family_keeps(
    client, auth, session, district
):
    thread, _ = post_note(
        client,
        auth,
        district,
        "The meeting is on Monday.",
        [district.marisol, district.lan],
        subject="Meeting with Marisol Quintanilla",
    )
    lan_row = deliveries_to(session, district.lan)[0]
    assert lan_row.email_subject == "Meeting with Marisol Quintanilla"

    response = client.delete(
        f"/api/v1/guardians/{district.marisol.id}?confirm=true", headers=auth("admin")
    )

    assert response.status_code == 200, response.text
    session.refresh(lan_row)
    assert lan_row.email_subject == "Meeting with (deleted)"
    assert lan_row.reply_to  # Lan can still answer in the thread
    assert "deliveries" not in tables_mentioning(session, "Quintanilla")


def test_cli_delete_needs_yes(session, district, family_history):
    guardian_id = str(district.marisol.id)
    refused = CliRunner().invoke(cli, ["records", "delete-guardian", guardian_id])
    assert refused.exit_code == 1
    assert "for good" in refused.output and "--yes" in refused.output
    assert session.get(Guardian, district.marisol.id, populate_existing=True).phone is not None

    done = CliRunner().invoke(cli, ["records", "delete-guardian", guardian_id, "--yes"])
    assert done.exit_code == 0, done.output
    assert f"guardian {guardian_id} deleted:" in done.output
    assert "messages_erased                  4" in done.output
    assert session.get(Guardian, district.marisol.id, populate_existing=True).phone is None
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "guardian.delete"))
    assert event.actor == "cli"
    assert session.scalar(select(func.count()).select_from(CachedTranslation)) >= 1  # others'

    # Again: nothing more to erase, and it says so.
    again = CliRunner().invoke(cli, ["records", "delete-guardian", guardian_id, "--yes"])
    assert again.exit_code == 0 and "messages_erased                  0" in again.output
    missing = CliRunner().invoke(cli, ["records", "delete-guardian", "999999", "--yes"])
    assert missing.exit_code == 1 and "No such guardian." in missing.output
