"""Voice calls in the family's language: placed through the real Twilio SDK (pointed at the
local Twilio double), spoken from TwiML Hearth serves at a signed URL, moved forward by the
call's status callbacks, and a reply recorded on the call kept in the conversation."""

import shutil
from datetime import time, timedelta
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.auth import sessions
from app.auth.dependencies import SESSION_COOKIE
from app.auth.service import load_staff, subject_for_staff
from app.core.config import get_settings
from app.core.db import utcnow
from app.delivery import service, voice
from app.delivery.models import Delivery, OptOut
from app.messaging.models import Message
from app.records import service as records
from app.reports import service as reports
from tests.delivery.test_two_way import post_note
from tests.factories import SENDER

HAS_ESPEAK = shutil.which("espeak-ng") is not None


def local(url: str) -> str:
    """A URL Hearth gave Twilio, as the TestClient asks for it (path and query)."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == get_settings().public_url.rstrip("/")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def twilio_post(client, request):
    """POST one of the double's signed requests (URL, form, headers) as Twilio would."""
    url, params, headers = request
    return client.post(local(url), data=params, headers=headers)


def by_voice(session, *guardians, channels=("voice",)):
    for guardian in guardians:
        guardian.channels = list(channels)
    session.commit()


def calls_to(twilio, phone):
    return [c for c in twilio.calls if c.to == phone]


def voice_row(session, phone):
    return session.scalar(
        select(Delivery).where(Delivery.channel == "voice", Delivery.address == phone)
    )


def test_call_goes_through_the_sdk_and_speaks_the_familys_language(
    client, auth, session, classroom, twilio
):
    by_voice(session, classroom.marisol, classroom.lan)
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.")
    assert twilio.messages == []  # by voice only: no text goes out
    row = voice_row(session, "+15125552001")
    assert row.status == "sent" and row.provider_id.startswith("CA")
    (call,) = calls_to(twilio, "+15125552001")
    assert call.auth_ok and call.sid == row.provider_id
    assert call.from_ == SENDER
    assert call.url == voice.url(row, "twiml")
    assert call.status_callback == get_settings().public_url + "/webhooks/twilio/voice/status"
    assert call.status_callback_events == ["initiated", "ringing", "answered", "completed"]
    assert call.machine_detection == "Enable"

    answer = twilio_post(client, twilio.answer_request(call.sid))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/xml")
    root = ElementTree.fromstring(answer.text)
    gather = root.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert gather.get("action") == voice.url(row, "gather")
    message, prompt = gather.findall("Say")
    assert message.get("language") == "es-MX" and message.text == row.body
    assert "Mateo" in message.text and "absent" not in message.text
    assert prompt.get("language") == "es-MX"
    assert prompt.text == "Pulse 1 para escucharlo otra vez. Pulse 2 para dejar una respuesta."

    vietnamese = voice_row(session, "+15125552002")
    (lan_call,) = calls_to(twilio, "+15125552002")
    spoken = ElementTree.fromstring(twilio_post(client, twilio.answer_request(lan_call.sid)).text)
    assert {s.get("language") for s in spoken.iter("Say")} == {"vi-VN"}
    assert spoken.find("Gather/Say").text == vietnamese.body

    # 1: the message again; anything but 2 likewise.
    again = twilio_post(client, twilio.digits_request(call.sid, gather.get("action"), "1"))
    assert ElementTree.fromstring(again.text).find("Gather/Say").text == row.body


def test_tampered_or_unsigned_call_urls_answer_404(client, session, classroom, auth, twilio):
    by_voice(session, classroom.marisol)
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.")
    row = voice_row(session, "+15125552001")
    good = local(voice.url(row, "twiml"))
    assert client.get(good).status_code == 200
    path, _, query = good.partition("?")
    assert client.get(path).status_code == 404  # unsigned
    assert client.get(f"{path}?{query[:-1]}{'0' if query[-1] != '0' else '1'}").status_code == 404
    # Another delivery's signature does not open this one.
    expires = int(parse_qs(query)["e"][0])
    other = f"e={expires}&s={voice.signature(row.id + 1, expires)}"
    assert client.get(f"{path}?{other}").status_code == 404
    # Nor does a later expiry with this one's signature.
    later = query.replace(f"e={expires}", f"e={expires + 86_400}")
    assert client.get(f"{path}?{later}").status_code == 404
    gather = local(voice.url(row, "gather")).partition("?")[0]
    assert client.post(gather + "?s=x", data={"Digits": "1"}).status_code == 404
    assert client.get(path.replace("twiml", "message.wav") + "?s=nope").status_code == 404


def test_a_texts_delivery_is_no_call_even_signed(client, session, classroom, auth, twilio):
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.")
    text = session.scalar(select(Delivery).where(Delivery.channel == "sms"))
    assert client.get(local(voice.url(text, "twiml"))).status_code == 404


def test_status_callbacks_move_the_call_forward(client, auth, session, classroom, twilio):
    by_voice(session, classroom.marisol, classroom.lan)
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.")
    es, vi = voice_row(session, "+15125552001"), voice_row(session, "+15125552002")
    for status in ("initiated", "ringing"):
        assert (
            twilio_post(client, twilio.call_status_request(es.provider_id, status)).status_code
            == 204
        )
    session.refresh(es)
    assert es.status == "sent"
    twilio_post(client, twilio.call_status_request(es.provider_id, "in-progress", "human"))
    twilio_post(client, twilio.call_status_request(es.provider_id, "completed", "human", 41))
    session.refresh(es)
    assert es.status == "delivered" and es.delivered_at is not None

    # Unsigned: refused, and nothing moves.
    url, params, _ = twilio.call_status_request(vi.provider_id, "failed")
    assert client.post(local(url), data=params).status_code == 403
    session.refresh(vi)
    assert vi.status == "sent"
    first = vi.provider_id
    twilio_post(client, twilio.call_status_request(first, "failed"))
    session.refresh(vi)
    assert (vi.status, vi.error_code, vi.error_text) == (
        "failed",
        "failed",
        "The call could not be placed.",
    )
    # Never back from failed.
    twilio_post(client, twilio.call_status_request(first, "completed"))
    session.refresh(vi)
    assert vi.status == "failed"


def test_busy_is_called_once_more_then_fails_with_the_reason(
    client, auth, session, classroom, twilio
):
    by_voice(session, classroom.marisol)
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.")
    row = voice_row(session, "+15125552001")
    first = row.provider_id
    twilio_post(client, twilio.call_status_request(first, "busy"))
    session.refresh(row)
    assert row.status == "queued" and row.provider_id is None
    assert row.error_text == "The line was busy. Calling once more later."
    assert row.next_attempt_at is not None
    # Its time comes: a second call, with a new sid.
    row.next_attempt_at = None
    session.commit()
    assert service.send(session, row.id) == "sent"
    session.commit()
    assert len(calls_to(twilio, "+15125552001")) == 2
    second = row.provider_id
    assert second != first
    twilio_post(client, twilio.call_status_request(second, "no-answer"))
    session.refresh(row)
    assert (row.status, row.error_code, row.error_text) == (
        "failed",
        "no-answer",
        "No one answered the call.",
    )


def test_answering_machine_gets_the_message_once_as_a_voicemail(
    client, auth, session, classroom, twilio
):
    by_voice(session, classroom.marisol)
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.")
    row = voice_row(session, "+15125552001")
    machine = twilio_post(client, twilio.answer_request(row.provider_id, "machine_start"))
    root = ElementTree.fromstring(machine.text)
    assert root.find("Gather") is None and root.find("Hangup") is not None
    (said,) = root.findall("Say")
    assert said.text == row.body and said.get("language") == "es-MX"
    twilio_post(
        client, twilio.call_status_request(row.provider_id, "completed", "machine_start", 30)
    )
    session.refresh(row)
    assert row.status == "delivered" and row.error_code == "voicemail"
    assert row.error_text == voice.VOICEMAIL


def test_press_2_records_a_reply_that_lands_in_the_thread(
    client, auth, session, classroom, twilio, smtp
):
    by_voice(session, classroom.marisol)
    thread, _ = post_note(client, auth, classroom, "Mateo will be absent tomorrow.")
    row = voice_row(session, "+15125552001")
    sid = row.provider_id
    answer = ElementTree.fromstring(twilio_post(client, twilio.answer_request(sid)).text)
    pressed = twilio_post(
        client, twilio.digits_request(sid, answer.find("Gather").get("action"), "2")
    )
    root = ElementTree.fromstring(pressed.text)
    assert root.find("Say").get("language") == "es-MX"
    record = root.find("Record")
    assert record.get("maxLength") == "120"
    assert record.get("action") == voice.url(row, "recorded")
    assert record.get("recordingStatusCallback") == voice.url(row, "recording")
    done = twilio_post(client, twilio.digits_request(sid, record.get("action"), ""))
    assert ElementTree.fromstring(done.text).find("Hangup") is not None

    recording = twilio.recording_request(sid, record.get("recordingStatusCallback"))
    # Unsigned by Twilio: refused, nothing stored.
    assert client.post(local(recording[0]), data=recording[1]).status_code == 403
    assert twilio_post(client, recording).status_code == 204
    assert twilio_post(client, recording).status_code == 204  # Twilio retries: stored once
    replies = list(session.scalars(select(Message).where(Message.recording_url.is_not(None))))
    assert len(replies) == 1
    reply = replies[0]
    assert reply.recording_url == recording[1]["RecordingUrl"]
    assert reply.thread_id == thread["id"]  # routed as a text from that phone would be
    assert reply.direction == "inbound" and reply.author_guardian_id == classroom.marisol.id
    assert reply.body == ""
    detail = client.get(
        f"/api/v1/threads/{thread['id']}", headers=auth("read", staff=classroom.teacher)
    ).json()
    assert detail["messages"][-1]["recording_url"] == reply.recording_url
    # The teacher is told, with where to listen: Hearth's page, not the provider's address.
    (mail,) = [m for m in smtp.messages if m["To"] == classroom.teacher.email]
    listen = f"/threads/{thread['id']}/messages/{reply.id}/recording"
    assert get_settings().public_url.rstrip("/") + listen in mail.get_body(("plain",)).get_content()
    assert reply.recording_url not in mail.get_body(("plain",)).get_content()
    assert "no transcript" in mail.get_body(("plain",)).get_content()
    # The teacher's thread page plays it.
    token = sessions.start_session(session, classroom.teacher)
    session.commit()
    client.cookies.set(SESSION_COOKIE, token)
    page = client.get(f"/threads/{thread['id']}", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert f'<audio controls preload="none" src="{listen}">' in page.text
    assert "No transcript" in page.text
    # Hearth fetches it from the provider with the account's credentials and plays it.
    fetched = len(twilio.media_fetches)
    audio = client.get(listen)
    assert audio.status_code == 200 and audio.headers["content-type"].startswith("audio/")
    assert audio.content[:4] == b"RIFF" and len(audio.content) > 8000
    assert twilio.media_fetches[fetched:] == [(urlsplit(reply.recording_url).path, True)]
    assert client.get(listen.replace(f"/{reply.id}/", f"/{reply.id - 1}/")).status_code == 404
    twilio.fail_media(1)
    busy = client.get(listen, headers={"accept": "application/json"})
    assert busy.status_code == 503 and "try again" in busy.json()["error"]["message"]
    inbox = client.get("/inbox", headers={"accept": "text/html"})
    assert "A reply left on the school&#39;s call:" in inbox.text
    # Past the retention period the link to the recording is erased with the message's text.
    report = records.purge(session, days=1, now=utcnow() + timedelta(days=3))
    assert report["messages"] == 2  # the note and the reply
    assert report["messages"] >= 1
    session.refresh(reply)
    assert reply.recording_url is None


def test_opted_out_number_gets_no_call(client, auth, session, classroom, twilio):
    by_voice(session, classroom.marisol)
    session.add(OptOut(phone="+15125552001", sender=SENDER, school_id=classroom.school.id))
    session.commit()
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.")
    row = voice_row(session, "+15125552001")
    assert row.status == "suppressed" and row.error_code == "opted_out"
    assert twilio.calls == []


def test_quiet_hours_hold_calls_like_texts(client, auth, session, classroom, twilio):
    school = classroom.school
    school.quiet_hours_start, school.quiet_hours_end = time(0, 0), time(23, 59)
    by_voice(session, classroom.marisol)
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.")
    row = voice_row(session, "+15125552001")
    assert row.status == "queued" and row.next_attempt_at is not None
    assert twilio.calls == []
    post_note(client, auth, classroom, "Fire drill now.", urgent=True)
    assert len(twilio.calls) == 1  # urgent goes at once, quiet hours or not


@pytest.mark.skipif(not HAS_ESPEAK, reason="espeak-ng is not installed")
def test_language_without_a_twilio_voice_is_spoken_by_espeak(
    client, auth, session, classroom, twilio
):
    by_voice(session, classroom.marisol)
    session.commit()
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.")
    row = voice_row(session, "+15125552001")
    row.language, row.body = "ht", "Mateo p ap vini demen."
    session.commit()
    twiml = ElementTree.fromstring(twilio_post(client, twilio.answer_request(row.provider_id)).text)
    plays = [p.text for p in twiml.iter("Play")]
    assert plays == [voice.url(row, "message.wav"), voice.url(row, "prompt.wav")]
    audio = client.get(local(plays[0]))
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert audio.content[:4] == b"RIFF" and len(audio.content) > 1000
    prompt = client.get(local(plays[1]))
    assert prompt.status_code == 200 and prompt.content[:4] == b"RIFF"
    assert prompt.content != audio.content  # the prompt, in Haitian Creole, not the message
    pressed = twilio_post(
        client, twilio.digits_request(row.provider_id, voice.url(row, "gather"), "2")
    )
    assert [p.text for p in ElementTree.fromstring(pressed.text).iter("Play")] == [
        voice.url(row, "record.wav")
    ]
    tampered = local(plays[0]).replace("&s=", "&s=0")
    assert client.get(tampered).status_code == 404


def queued_call(client, auth, session, classroom, language, body):
    """A voice delivery held by quiet hours, then given `language` and `body` and made due."""
    school = classroom.school
    school.quiet_hours_start, school.quiet_hours_end = time(0, 0), time(23, 59)
    by_voice(session, classroom.marisol)
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.", guardians=("marisol",))
    row = voice_row(session, "+15125552001")
    assert row.status == "queued"
    school.quiet_hours_start = school.quiet_hours_end = None
    row.language, row.body, row.next_attempt_at = language, body, None
    session.commit()
    return row


def test_no_voice_for_the_language_fails_the_call_plainly(client, auth, session, classroom, twilio):
    # Hmong: Twilio has no voice for it, nor has espeak-ng.
    row = queued_call(
        client, auth, session, classroom, "hmn", "Mateo tsis tuaj kawm ntawv tag kis."
    )
    assert service.send(session, row.id) == "failed"
    session.commit()
    assert (row.status, row.error_code, row.error_text) == ("failed", "no_voice", voice.NO_VOICE)
    assert twilio.calls == []


def test_without_espeak_a_language_twilio_cannot_speak_is_not_called(
    client, auth, session, classroom, twilio, monkeypatch
):
    monkeypatch.setenv("HEARTH_ESPEAK_COMMAND", "/nonexistent/espeak-ng")
    get_settings.cache_clear()
    row = queued_call(client, auth, session, classroom, "ht", "Mateo p ap vini demen.")
    assert service.send(session, row.id) == "failed"
    session.commit()
    assert row.error_text == voice.NO_VOICE and twilio.calls == []
    get_settings.cache_clear()


def test_dev_phone_lists_the_call_and_reports_it_answered(client, auth, session, classroom):
    # No Twilio: the dev backend keeps what the call would have said.
    by_voice(session, classroom.marisol)
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.", guardians=("marisol",))
    row = voice_row(session, "+15125552001")
    assert row.provider_id.startswith("DEVCA") and row.status == "delivered"
    page = client.get(f"/dev/phone/{classroom.marisol.id}")
    assert page.status_code == 200 and "Calls" in page.text
    assert row.body.split(":")[-1].strip()[:20] in page.text


def test_broadcast_goes_by_voice_and_its_preview_prices_the_calls(
    client, auth, session, classroom, twilio
):
    by_voice(session, classroom.marisol, channels=("sms", "voice"))
    body = {
        "school_id": classroom.school.id,
        "audience": {"guardian_ids": [classroom.marisol.id, classroom.lan.id]},
        "title": "Snow day",
        "body": "No school tomorrow because of the snow.",
        "urgent": True,
    }
    headers = auth("read,send", staff=classroom.office)
    preview = client.post("/api/v1/broadcasts/preview", headers=headers, json=body).json()
    assert preview["sms"] == 2 and preview["calls"] == 1
    spanish = next(lang for lang in preview["languages"] if lang["language"] == "es")
    assert spanish["calls"] == 1 and spanish["call_minutes"] == 1
    rate = get_settings().voice_cost_per_minute
    assert spanish["call_cost"] == round(rate, 4)
    assert preview["estimated_call_cost"] == round(rate, 2)
    assert voice.estimated_minutes("x" * 2000) == 3  # ~143 s of speech + the prompt
    classroom.lan.language, classroom.lan.channels = "hmn", ["voice"]
    session.commit()
    hmong = client.post("/api/v1/broadcasts/preview", headers=headers, json=body).json()
    assert [(p["guardian_id"], p["reason"]) for p in hmong["no_channel"]] == [
        (classroom.lan.id, "no voice for this language: the call is not placed")
    ]
    classroom.lan.language, classroom.lan.channels = "vi", ["sms"]
    session.commit()

    sent = client.post("/api/v1/broadcasts", headers=headers, json=body)
    assert sent.status_code in (200, 201, 202), sent.text
    assert [c.to for c in twilio.calls] == ["+15125552001"]
    assert sorted(m.to for m in twilio.messages) == ["+15125552001", "+15125552002"]


def test_voice_is_a_channel_of_the_guardian_api(client, auth, classroom):
    headers = auth("admin")
    made = client.post(
        "/api/v1/guardians",
        headers=headers,
        json={
            "given_name": "Rosa",
            "family_name": "Díaz",
            "phone": "+15125552099",
            "language": "es",
            "channels": ["voice", "sms"],
            "student_ids": [classroom.mateo.id],
        },
    )
    assert made.status_code == 201, made.text
    assert made.json()["channels"] == ["sms", "voice"]
    no_phone = client.post(
        "/api/v1/guardians",
        headers=headers,
        json={
            "given_name": "Rosa",
            "family_name": "Díaz",
            "email": "rosa@family.example.org",
            "channels": ["voice"],
        },
    )
    assert no_phone.status_code == 422 and "'voice' needs a phone" in no_phone.text
    dropped = client.patch(
        f"/api/v1/guardians/{made.json()['id']}", headers=headers, json={"phone": None}
    )
    assert dropped.status_code in (400, 422) and "needs a phone" in dropped.text


def test_twilio_errors_on_a_call_retry_or_fail_like_a_texts(
    client, auth, session, classroom, twilio
):
    twilio.fail_next((503, None))
    twilio.fail_number("+15125552002", 400, 21211)
    by_voice(session, classroom.marisol, classroom.lan)
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.")
    busy = voice_row(session, "+15125552001")
    assert busy.status == "queued" and busy.error_code == "503"  # tried again after a delay
    assert busy.next_attempt_at is not None
    bad = voice_row(session, "+15125552002")
    assert (bad.status, bad.error_code) == ("failed", "21211")
    # A number that cannot be called: the family's email gets the message instead.
    email = session.scalar(
        select(Delivery).where(
            Delivery.channel == "email", Delivery.guardian_id == classroom.lan.id
        )
    )
    assert email is not None and email.body == bad.body


def staff_client(app, session, staff):
    """A TestClient signed in to the web app as `staff`, and its CSRF token."""
    token = sessions.start_session(session, staff)
    session.commit()
    signed = sessions.current(session, token)
    web = TestClient(app, raise_server_exceptions=False)
    web.cookies.set(SESSION_COOKIE, token)
    return web, signed.csrf_token


def test_office_chooses_voice_and_the_teacher_sees_which_calls_cannot_go(app, session, classroom):
    office, csrf = staff_client(app, session, classroom.office)
    marisol = classroom.marisol
    page = office.get(f"/families/{marisol.id}", headers={"accept": "text/html"})
    assert 'id="channel-voice"' in page.text
    saved = office.post(
        f"/families/{marisol.id}",
        data={"csrf_token": csrf, "language": "es", "channels": ["sms", "voice"]},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    session.refresh(marisol)
    assert marisol.channels == ["sms", "voice"]
    # Hmong has no voice: the teacher's compose page says so before anything is sent.
    classroom.lan.language, classroom.lan.channels = "hmn", ["voice"]
    session.commit()
    teacher, _ = staff_client(app, session, classroom.teacher)
    compose = teacher.get(
        f"/compose?student_id={classroom.mateo.id}", headers={"accept": "text/html"}
    )
    assert compose.status_code == 200
    assert "no voice for this language: the call is not placed" in compose.text


def test_office_preview_page_shows_the_calls_and_their_cost(app, session, classroom):
    by_voice(session, classroom.marisol, channels=("sms", "voice"))
    office, csrf = staff_client(app, session, classroom.office)
    form = {
        "school_id": str(classroom.school.id),
        "audience": "whole_school",
        "template": "",
        "body": "No school tomorrow because of the snow.",
        "language": "en",
        "when": "now",
        "urgent": "1",
        "channels": ["voice"],
    }
    headers = {"accept": "text/html", "HX-Request": "true", "X-CSRF-Token": csrf}
    page = office.post("/broadcasts/preview", data=form, headers=headers)
    assert page.status_code == 200, page.text
    # The office reads Spanish: the staff catalog has the new words.
    assert "1 llamada de voz" in page.text
    assert "Llamadas de voz: costo estimado" in page.text
    assert "aprox. 1 minuto cada una" in page.text


def test_the_dashboard_counts_families_reached_by_calls_only(session, classroom):
    by_voice(session, classroom.marisol)  # calls only
    subject = subject_for_staff(load_staff(session, classroom.office.id), frozenset({"read"}))
    before = reports.dashboard(session, subject).reach
    assert before["voice"] == 1
    session.add(OptOut(phone="+15125552001", sender=SENDER, school_id=classroom.school.id))
    session.commit()
    after = reports.dashboard(session, subject).reach
    assert after["voice"] == 0 and after["none"] + after["opted_out"] == (
        before["none"] + before["opted_out"] + 1
    )


def test_call_urls_expire_two_days_after_the_delivery(client, session, classroom, auth, twilio):
    by_voice(session, classroom.marisol)
    post_note(client, auth, classroom, "Mateo will be absent tomorrow.")
    row = voice_row(session, "+15125552001")
    assert client.get(local(voice.url(row, "twiml"))).status_code == 200
    # The same delivery, made three days ago: its URLs, signed and untouched, no longer open it.
    row.created_at = utcnow() - timedelta(days=3)
    session.flush()
    old = local(voice.url(row, "twiml"))
    expires = int(parse_qs(old.partition("?")[2])["e"][0])
    assert expires < utcnow().timestamp()
    assert voice.check(row.id, voice.signature(row.id, expires), expires) is False
    assert client.get(old).status_code == 404
    assert client.get(local(voice.url(row, "message.wav"))).status_code == 404
