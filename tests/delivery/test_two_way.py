"""The two-way pathway end to end: a note reaches families' phones in their languages through
the real Twilio SDK, and their replies come back translated for the teacher."""

from sqlalchemy import select
from twilio.request_validator import RequestValidator

from app.core.config import get_settings
from app.delivery.models import Delivery, InboundSms, OptOut
from app.messaging.models import Message
from app.messaging.tokens import reply_address
from tests.conftest import count_rows
from tests.factories import SENDER


def post_note(client, auth, classroom, body, guardians=("marisol", "lan"), **extra):
    headers = auth("read,write,send", staff=classroom.teacher)
    thread = client.post(
        "/api/v1/threads",
        headers=headers,
        json={
            "student_id": classroom.mateo.id,
            "subject": "Attendance",
            "guardian_ids": [getattr(classroom, g).id for g in guardians],
        },
    ).json()
    response = client.post(
        f"/api/v1/threads/{thread['id']}/messages", headers=headers, json={"body": body, **extra}
    )
    assert response.status_code == 201, response.text
    return thread, response.json()


def signed_post(client, path, params, token=None):
    url = get_settings().public_url.rstrip("/") + path
    token = token or get_settings().webhook_auth_token()

    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def test_note_reaches_each_family_translated_and_callbacks_move_it_forward(
    client, auth, session, classroom, twilio
):
    _, message = post_note(client, auth, classroom, "Mateo will be absent tomorrow.")
    bodies = {m.to: m for m in twilio.messages}
    assert bodies["+15125552001"].body == (
        "Ana Rivera, Riverside Elementary: Mateo va a faltar mañana. (traducción automática)"
        "\nPuede responder en cualquier idioma."
    )
    assert bodies["+15125552002"].body.startswith("Ana Rivera, Riverside Elementary: Mateo ")
    assert "Mateo will be absent tomorrow." not in bodies["+15125552002"].body
    for sent in twilio.messages:
        assert sent.from_ == SENDER and sent.auth_ok
        assert sent.status_callback == get_settings().public_url + "/webhooks/twilio/status"
    deliveries = {d["to"]: d for d in message["deliveries"]}
    assert {d["language"] for d in deliveries.values()} == {"es", "vi"}

    rows = {d.address: d for d in session.scalars(select(Delivery))}
    assert all(r.status == "sent" and r.provider_id for r in rows.values())
    es = rows["+15125552001"]
    for status in ("sent", "delivered"):
        r = signed_post(
            client,
            "/webhooks/twilio/status",
            {"MessageSid": es.provider_id, "MessageStatus": status, "To": es.address},
        )
        assert r.status_code == 204
    session.refresh(es)
    assert es.status == "delivered" and es.delivered_at is not None
    late = signed_post(
        client, "/webhooks/twilio/status", {"MessageSid": es.provider_id, "MessageStatus": "sent"}
    )
    assert late.status_code == 204
    session.refresh(es)
    assert es.status == "delivered"
    failed_after = signed_post(
        client,
        "/webhooks/twilio/status",
        {
            "MessageSid": rows["+15125552002"].provider_id,
            "MessageStatus": "undelivered",
            "ErrorCode": "30005",
        },
    )
    assert failed_after.status_code == 204
    signed_post(
        client,
        "/webhooks/twilio/status",
        {"MessageSid": rows["+15125552002"].provider_id, "MessageStatus": "delivered"},
    )
    session.refresh(rows["+15125552002"])
    assert rows["+15125552002"].status == "undelivered"


def test_spanish_reply_is_threaded_translated_and_the_teacher_emailed(
    client, auth, session, classroom, twilio, smtp
):
    thread, _ = post_note(client, auth, classroom, "Mateo will be absent tomorrow.")
    reply = signed_post(
        client,
        "/webhooks/twilio/sms",
        {
            "MessageSid": "SM" + "a" * 32,
            "From": "+15125552001",
            "To": SENDER,
            "Body": "Muchas gracias.",
            "NumMedia": "0",
        },
    )
    assert reply.status_code == 200
    assert "<Response>" in reply.text and reply.headers["content-type"].startswith("text/xml")
    detail = client.get(
        f"/api/v1/threads/{thread['id']}", headers=auth("read", staff=classroom.teacher)
    ).json()
    inbound = detail["messages"][-1]
    assert inbound["direction"] == "inbound" and inbound["body"] == "Muchas gracias."
    assert inbound["language"] == "es"
    english = inbound["translations"][0]
    assert english["language"] == "en" and english["status"] == "translated"
    assert english["text"] == "Thank you very much."
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["To"] == "rivera@riverside.example.org"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Thank you very much." in text and "Muchas gracias." in text


def test_forged_signature_is_refused_and_retries_are_stored_once(client, session, classroom):
    before = count_rows(session, "inbound_sms")
    params = {"MessageSid": "SM" + "b" * 32, "From": "+15125552001", "To": SENDER, "Body": "Hola"}
    forged = signed_post(client, "/webhooks/twilio/sms", params, token="not-the-token")
    assert forged.status_code == 403
    unsigned = client.post("/webhooks/twilio/sms", data=params)
    assert unsigned.status_code == 403
    assert count_rows(session, "inbound_sms") == before
    assert signed_post(client, "/webhooks/twilio/sms", params).status_code == 200
    assert signed_post(client, "/webhooks/twilio/sms", params).status_code == 200
    assert count_rows(session, "inbound_sms") == before + 1
    assert len(session.scalars(select(Message).where(Message.body == "Hola")).all()) == 1


def test_alto_opts_out_with_a_spanish_confirmation_and_start_restores(
    client, auth, session, classroom, twilio
):
    stop = signed_post(
        client,
        "/webhooks/twilio/sms",
        {"MessageSid": "SM" + "c" * 32, "From": "+15125552001", "To": SENDER, "Body": "ALTO"},
    )
    assert stop.status_code == 200
    opt_out = session.scalar(select(OptOut).where(OptOut.phone == "+15125552001"))
    assert opt_out is not None and opt_out.active and opt_out.sender == SENDER
    confirmation = twilio.messages[-1]
    assert confirmation.to == "+15125552001"
    assert confirmation.body.startswith("Ya no recibirá mensajes de Riverside Elementary.")

    _, message = post_note(client, auth, classroom, "Mateo will be absent tomorrow.")
    statuses = {d["to"]: d["status"] for d in message["deliveries"]}
    assert statuses["+15125552001"] == "suppressed"
    assert not any(m.to == "+15125552001" and "faltar" in m.body for m in twilio.messages)

    signed_post(
        client,
        "/webhooks/twilio/sms",
        {"MessageSid": "SM" + "d" * 32, "From": "+15125552001", "To": SENDER, "Body": "START"},
    )
    session.refresh(opt_out)
    assert not opt_out.active
    assert twilio.messages[-1].body.startswith("Volverá a recibir mensajes")
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.")
    assert any(
        m.to == "+15125552001" and "Mateo va a faltar mañana." in m.body
        for m in twilio.messages[-2:]
    )


def test_provider_500_then_success_sends_exactly_once(client, auth, session, classroom, twilio):
    from app.delivery import service

    twilio.fail_next((500, None))
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.", guardians=("marisol",))
    row = session.scalar(select(Delivery))
    assert row.status == "queued" and row.attempts == 1 and row.error_code == "500"
    assert len(twilio.messages) == 0
    row.next_attempt_at = None  # the backoff has passed
    session.commit()
    assert service.send(session, row.id) == "sent"
    assert service.send(session, row.id) == "skipped"  # a duplicate job does nothing
    assert [m.to for m in twilio.messages] == ["+15125552001"]
    assert row.attempts == 2


def test_carrier_opt_out_21610_is_recorded_and_not_retried(
    client, auth, session, classroom, twilio
):
    twilio.fail_number("+15125552001", 400, 21610)
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.", guardians=("marisol",))
    row = session.scalar(select(Delivery))
    assert row.status == "failed" and row.error_code == "21610" and row.next_attempt_at is None
    assert session.scalar(select(OptOut).where(OptOut.phone == "+15125552001")).source == "carrier"


def test_bad_number_fails_over_to_email(client, auth, session, classroom, twilio, smtp):
    classroom.marisol.email = "maria@family.example.org"
    session.commit()
    twilio.fail_number("+15125552001", 400, 21211)
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.", guardians=("marisol",))
    rows = {d.channel: d for d in session.scalars(select(Delivery))}
    assert rows["sms"].status == "failed" and rows["sms"].error_code == "21211"
    assert rows["email"].status == "sent"
    assert smtp.messages[-1]["To"] == "maria@family.example.org"
    assert "Mateo va a faltar mañana." in smtp.messages[-1].get_body(("plain",)).get_content()


def test_a_line_break_in_a_stored_subject_does_not_stop_the_email(
    client, auth, session, classroom, smtp
):
    """The API refuses line breaks in subjects; one stored before that (or by an import) is
    flattened at send instead of crashing the job and leaving the delivery in `sending`."""
    from tests.factories import ThreadFactory

    classroom.marisol.channels = ["email"]
    classroom.marisol.email = "maria@family.example.org"
    thread = ThreadFactory(
        school=classroom.school,
        owner_staff_id=classroom.teacher.id,
        student_id=classroom.mateo.id,
        subject="Field trip\r\nBcc: everyone@example.org",
        guardians=[classroom.marisol],
    )
    session.commit()
    headers = auth("read,write,send", staff=classroom.teacher)
    response = client.post(
        f"/api/v1/threads/{thread.id}/messages",
        headers=headers,
        json={"body": "Mateo will be absent tomorrow."},
    )
    assert response.status_code == 201
    row = session.scalars(select(Delivery)).one()
    session.refresh(row)
    assert row.status == "sent"
    mail = smtp.messages[-1]
    assert mail["Subject"] == "Field trip Bcc: everyone@example.org"
    assert mail["Bcc"] is None


def test_email_reply_threads_back(client, auth, session, classroom, smtp):
    classroom.marisol.channels = ["email"]
    classroom.marisol.email = "maria@family.example.org"
    session.commit()
    thread, _ = post_note(
        client, auth, classroom, "Mateo will be absent tomorrow.", guardians=("marisol",)
    )
    note = smtp.messages[-1]
    reply_to = note["Reply-To"]
    assert reply_to.startswith("reply+") and reply_to.endswith("@replies.school.example.org")
    assert "List-Unsubscribe" in note
    raw = (
        f"From: Marisol Quintanilla <maria@family.example.org>\r\nTo: {reply_to}\r\n"
        f"Subject: Re: Attendance\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Muchas gracias.\r\n\r\nOn Mon, Nov 23, 2026 at 8:00 AM Riverside wrote:\r\n"
        "> Mateo va a faltar mañana.\r\n"
    ).encode()
    import os

    os.environ["HEARTH_INBOUND_EMAIL_SECRET"] = "mail-secret"
    get_settings.cache_clear()
    try:
        refused = client.post("/webhooks/email/inbound", content=raw)
        assert refused.status_code == 403
        response = client.post(
            "/webhooks/email/inbound", content=raw, headers={"X-Hearth-Secret": "mail-secret"}
        )
    finally:
        os.environ.pop("HEARTH_INBOUND_EMAIL_SECRET")
        get_settings.cache_clear()
    assert response.status_code == 200, response.text
    assert response.json()["thread_id"] == thread["id"]
    message = session.get(Message, response.json()["message_id"])
    assert message.body == "Muchas gracias."
    assert message.author_guardian_id == classroom.marisol.id


def test_unknown_number_goes_to_the_office_inbox(client, session, classroom):
    signed_post(
        client,
        "/webhooks/twilio/sms",
        {
            "MessageSid": "SM" + "e" * 32,
            "From": "+15125559999",
            "To": SENDER,
            "Body": "Who is this?",
        },
    )
    inbound = session.scalar(select(InboundSms).where(InboundSms.from_number == "+15125559999"))
    assert inbound.result == "routed"
    message = session.get(Message, inbound.message_id)
    from app.messaging.models import Thread

    thread = session.get(Thread, message.thread_id)
    assert thread.owner_staff_id is None and "+15125559999" in thread.subject


def test_one_click_unsubscribe_from_email(client, auth, session, classroom, smtp):
    classroom.marisol.channels = ["sms", "email"]
    classroom.marisol.email = "maria@family.example.org"
    session.commit()
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.", guardians=("marisol",))
    header = smtp.messages[-1]["List-Unsubscribe"]
    path = header.strip("<>").split("127.0.0.1:8000", 1)[1]
    assert client.post(path.replace("/unsubscribe/", "/unsubscribe/9")).status_code == 404
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 200
    session.refresh(classroom.marisol)
    assert classroom.marisol.channels == ["sms"]


# The envelope of a note's email ---------------------------------------------------------------


def test_the_envelope_is_planned_with_the_note_and_sent_as_planned(
    client, auth, session, classroom, smtp
):
    classroom.marisol.channels = ["email"]
    classroom.marisol.email = "maria@family.example.org"
    session.commit()
    thread, note = post_note(
        client, auth, classroom, "Mateo will be absent tomorrow.", ("marisol",)
    )
    row = session.get(Delivery, note["deliveries"][0]["id"])
    session.refresh(row)
    assert (row.email_subject, row.reply_to) == ("Attendance", reply_address(thread["id"]))
    mail = smtp.messages[-1]
    assert mail["Subject"] == "Attendance" and mail["Reply-To"] == reply_address(thread["id"])


def test_a_text_failing_over_to_email_takes_the_envelope_along(
    client, auth, session, classroom, twilio, smtp
):
    classroom.marisol.channels = ["sms"]
    classroom.marisol.email = "maria@family.example.org"
    session.commit()
    twilio.fail_number("+15125552001", 400, 21211)  # not a mobile number
    thread, _ = post_note(client, auth, classroom, "Mateo will be absent tomorrow.", ("marisol",))
    rows = {d.channel: d for d in session.scalars(select(Delivery))}
    assert rows["sms"].status == "failed" and rows["email"].status == "sent"
    assert (rows["email"].email_subject, rows["email"].reply_to) == (
        "Attendance",
        reply_address(thread["id"]),
    )
    assert smtp.messages[-1]["Reply-To"] == reply_address(thread["id"])
