"""One family's export: everything about them, nothing about anyone else, and only for those
allowed to see them."""

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.audit.models import AuditEvent
from app.cli import cli
from app.people.models import StudentGuardian
from tests.factories import StaffFactory
from tests.records.conftest import email_reply, post_note, text_from


@pytest.fixture
def conversation(session, client, auth, district):
    thread, note = post_note(
        client, auth, district, "Mateo will be absent tomorrow.", [district.marisol, district.lan]
    )
    text_from(client, session, district.marisol.phone, "Muchas gracias.", "SM" + "1" * 32)
    text_from(client, session, district.lan.phone, "Cảm ơn cô Lan nhiều.", "SM" + "2" * 32)
    email_reply(session, district.marisol, thread["id"], "Muchas gracias.")
    text_from(client, session, district.marisol.phone, "ALTO", "SM" + "3" * 32)
    post_note(client, auth, district, "School is closed on Monday.", [district.ana])
    changed = client.patch(
        f"/api/v1/guardians/{district.marisol.id}",
        headers=auth("admin"),
        json={"language": "es-MX"},
    )
    assert changed.status_code == 200, changed.text
    return {"thread": thread, "note": note}


def test_export_holds_the_family_with_originals_and_translations(
    client, auth, district, conversation
):
    response = client.get(f"/api/v1/guardians/{district.marisol.id}/export", headers=auth("admin"))

    assert response.status_code == 200, response.text
    export = response.json()
    assert export["guardian"]["given_name"] == "Marisol"
    assert export["guardian"]["phone"] == "+15125552001"
    assert export["channel_settings"]["channels"] == ["sms", "email"]
    assert export["channel_settings"]["language"] == "es-MX"
    assert export["channel_settings"]["sms_stopped_senders"] == ["+15125550100"]
    assert [(s["given_name"], s["relationship"]) for s in export["students"]] == [
        ("Mateo", "mother")
    ]

    [thread] = export["threads"]
    assert thread["id"] == conversation["thread"]["id"] and thread["other_families"] == 1
    note, *replies = thread["messages"]
    assert note["body"] == "Mateo will be absent tomorrow."
    assert {t["language"]: t["text"] for t in note["translations"]}["es"] == (
        "Mateo va a faltar mañana."
    )
    assert [(r["body"], r["from_this_family"]) for r in replies] == [
        ("Muchas gracias.", True),
        ("Muchas gracias.", True),
    ]
    assert replies[0]["translations"][0]["text"] == "Thank you very much."

    assert {(d["channel"], d["address"]) for d in export["deliveries"]} == {
        ("sms", "+15125552001"),
        ("email", "marisol.q@family.example.org"),
    }
    assert all("Mateo va a faltar mañana." in d["body"] for d in export["deliveries"])
    assert all(d["status"] in ("sent", "delivered") for d in export["deliveries"])
    assert sorted(s["body"] for s in export["inbound_sms"]) == ["ALTO", "Muchas gracias."]
    assert "Muchas gracias." in export["inbound_emails"][0]["raw"]
    [opt_out] = export["opt_outs"]
    assert opt_out["keyword"] == "ALTO" and opt_out["active"] is True
    actions = [e["action"] for e in export["audit_events"]]
    assert "guardian.update" in actions and "thread.create" in actions

    # Nothing of the other families: not Lan's reply, name, number or address, not Ana.
    dump = json.dumps(export, ensure_ascii=False)
    for other in ("Cảm ơn", "Nguyễn", "+15125552002", "lan@family", "López", "+15125552003"):
        assert other not in dump


def test_the_export_is_audited(client, auth, session, district, conversation):
    client.get(f"/api/v1/guardians/{district.marisol.id}/export", headers=auth("admin"))
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "guardian.export"))
    assert event is not None and event.object_id == str(district.marisol.id)
    assert event.actor.startswith("apikey:") and event.details["messages"] == 3


def test_only_those_who_may_see_the_family_may_export_or_delete_it(client, auth, session, district):
    url = f"/api/v1/guardians/{district.marisol.id}"
    other_school = auth("admin", school=district.other_school)
    for response in (
        client.get(f"{url}/export", headers=other_school),
        client.delete(f"{url}?confirm=true", headers=other_school),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "No such guardian."
    own_school = client.get(f"{url}/export", headers=auth("admin", school=district.school))
    assert own_school.status_code == 200
    # The admin scope is needed, and a teacher's key never exports a family.
    assert client.get(f"{url}/export", headers=auth("read,write,send")).status_code == 403
    refused = client.get(f"{url}/export", headers=auth("admin", staff=district.teacher))
    assert refused.status_code == 403 and "office" in refused.json()["error"]["message"]
    assert client.get("/api/v1/guardians/999999/export", headers=auth("admin")).status_code == 404

    # A school's office may export its family, but not erase one with a child elsewhere too.
    far_student = session.scalar(
        select(StudentGuardian.student_id).where(StudentGuardian.guardian_id == district.far.id)
    )
    link = client.post(f"{url}/students", headers=auth("admin"), json={"student_id": far_student})
    assert link.status_code == 200, link.text
    office = auth("admin", staff=StaffFactory(role="office", schools=[district.school]))
    own_part = client.get(f"{url}/export", headers=office)
    assert own_part.status_code == 200
    assert [s["given_name"] for s in own_part.json()["students"]] == ["Mateo"]
    everything = client.get(f"{url}/export", headers=auth("admin")).json()
    assert sorted(s["given_name"] for s in everything["students"]) == ["Kim", "Mateo"]
    spanning = client.delete(f"{url}?confirm=true", headers=office)
    assert spanning.status_code == 403
    assert "district-wide admin" in spanning.json()["error"]["message"]
    assert client.get(url, headers=auth("admin")).json()["given_name"] == "Marisol"


def test_cli_export_writes_json_to_stdout(session, district, conversation):
    result = CliRunner().invoke(cli, ["records", "export-guardian", str(district.marisol.id)])
    assert result.exit_code == 0, result.output
    export = json.loads(result.stdout)
    assert export["guardian"]["id"] == district.marisol.id
    assert export["threads"][0]["messages"][0]["body"] == "Mateo will be absent tomorrow."
    event = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "guardian.export", AuditEvent.actor == "cli")
    )
    assert event is not None

    missing = CliRunner().invoke(cli, ["records", "export-guardian", "999999"])
    assert missing.exit_code == 1 and "No such guardian." in missing.output
