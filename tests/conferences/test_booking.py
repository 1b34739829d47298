"""Conference booking end to end through the real Twilio SDK, the Twilio double and the real SMS
webhook: a teacher publishes times, each family of their class gets them in its language, books
by number, is told when a time was just taken, changes and cancels by reply; the teacher sees
who booked and where an interpreter is needed; the day before, booked families are reminded
(opt-outs and quiet hours apply)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.conferences import service as conferences
from app.conferences.models import ConferenceSlot
from app.core.db import utcnow
from app.core.queue import run_job
from app.delivery.models import Delivery
from app.messaging.models import InterpretationTask, MessageTranslation
from app.questions.models import Answer, Place
from tests.factories import GuardianFactory
from tests.questions.test_rsvp import _text
from tests.web.conftest import signed_in as signed_in  # noqa: F401

ZONE = ZoneInfo("America/Chicago")


def _day() -> str:
    return (datetime.now(ZONE) + timedelta(days=7)).date().isoformat()


def _publish(client, auth, staff, **extra):
    body = {
        "blocks": [{"day": _day(), "start": "15:00", "end": "16:00", "minutes": 20,
                    "place": "Room 12"}],
        **extra,
    }  # fmt: skip
    return client.post("/api/v1/conferences", headers=auth("read,send", staff=staff), json=body)


def _last_to(twilio, phone, before):
    return [m.body for m in twilio.messages[before:] if m.to == phone]


def test_a_teacher_publishes_times_families_book_change_and_cancel_by_text(
    client, auth, session, classroom, twilio
):
    c = classroom
    published = _publish(client, auth, c.teacher)
    assert published.status_code == 201, published.text
    conference = published.json()
    assert [s["number"] for s in conference["slots"]] == [1, 2, 3]
    assert conference["slots"][0]["minutes"] == 20 and conference["invited"] == 3
    sent = {m.to: m.body for m in twilio.messages}
    assert set(sent) == {c.marisol.phone, c.lan.phone, c.ana.phone}  # Room 12's families only
    spanish = sent[c.marisol.phone]
    assert "Ana Rivera quiere reunirse con usted" in spanish
    assert "Responda con el número de un horario:\n1. " in spanish
    assert "15:00" in spanish and "15:20" in spanish and "15:40" in spanish
    assert "Dónde: Room 12." in spanish or "Room 12" in spanish
    assert "Trả lời bằng số của một giờ hẹn:" in sent[c.lan.phone]
    # The catalogs' words, written by people: never marked as a machine's.
    assert "traducción automática" not in spanish and "dịch máy" not in sent[c.lan.phone]
    kept = session.scalars(
        select(MessageTranslation).where(MessageTranslation.language.in_(["es", "vi"]))
    ).all()
    assert kept and {(t.engine, t.origin) for t in kept} == {("catalog", "human")}

    before = len(twilio.messages)
    _text(client, c.marisol.phone, "1")
    assert _last_to(twilio, c.marisol.phone, before)[0].startswith("Reservado: ")
    before = len(twilio.messages)
    _text(client, c.lan.phone, "1")  # taken: offered what is still open, in Vietnamese
    offered = _last_to(twilio, c.lan.phone, before)[0]
    assert "\n2. " in offered and "\n3. " in offered and "\n1. " not in offered
    _text(client, c.lan.phone, "2")

    found = client.get(
        f"/api/v1/conferences/{conference['id']}", headers=auth("read", staff=c.teacher)
    ).json()
    booked = {s["number"]: s["booking"] for s in found["slots"]}
    assert booked[1]["name"] == "Marisol Quintanilla" and booked[1]["language"] == "es"
    assert booked[1]["students"] == ["Mateo Ruiz"]
    assert booked[1]["interpreter_needed"] and booked[2]["interpreter_needed"]
    assert booked[2]["name"] == "Lan Nguyễn" and booked[3] is None

    # Changing: another number moves the booking and frees the first time.
    _text(client, c.marisol.phone, "3")
    # Cancelling in Vietnamese, by the phrasebook's words.
    before = len(twilio.messages)
    _text(client, c.lan.phone, "Hủy cuộc hẹn")
    assert _last_to(twilio, c.lan.phone, before)[0].startswith("Buổi gặp vào ")
    # "Change": the open times, in Spanish.
    before = len(twilio.messages)
    _text(client, c.ana.phone, "cambiar la hora")
    change = _last_to(twilio, c.ana.phone, before)[0]
    assert change.startswith("Para cambiar su reunión") and "\n3. " not in change
    _text(client, c.ana.phone, "2")
    places = dict(session.execute(select(Place.number, Place.taken).order_by(Place.number)).all())
    assert places == {1: 0, 2: 1, 3: 1}
    found = client.get(
        f"/api/v1/conferences/{conference['id']}", headers=auth("read", staff=c.office)
    ).json()
    assert [s["booking"] and s["booking"]["name"] for s in found["slots"]] == [
        None,
        "Ana López",
        "Marisol Quintanilla",
    ]


def test_who_may_publish_and_see_conferences(client, auth, session, classroom, twilio):
    c = classroom
    assert _publish(client, auth, c.teacher).status_code == 201
    mine = client.get("/api/v1/conferences", headers=auth("read", staff=c.teacher)).json()
    assert len(mine["items"]) == 1
    other = client.get("/api/v1/conferences", headers=auth("read", staff=c.colleague)).json()
    assert other["items"] == []
    conference_id = mine["items"][0]["id"]
    hidden = client.get(
        f"/api/v1/conferences/{conference_id}", headers=auth("read", staff=c.colleague)
    )
    assert hidden.status_code == 404
    # A teacher publishes their own; the office names the teacher.
    refused = _publish(client, auth, c.colleague, teacher_staff_id=c.teacher.id)
    assert refused.status_code == 403, refused.text
    unnamed = _publish(client, auth, c.office)
    assert unnamed.status_code in (400, 422) and "teacher_staff_id" in unnamed.text
    by_office = _publish(client, auth, c.office, teacher_staff_id=c.colleague.id)
    assert by_office.status_code == 201, by_office.text
    assert by_office.json()["teacher_name"] == "David Chen"
    # Bad input: a clear message, nothing saved.
    for block, words in [
        ({"start": "16:00", "end": "15:00"}, "end comes after"),
        ({"start": "15:00", "end": "15:10"}, "No 20-minute meeting fits"),
        ({"start": "08:00", "end": "17:00", "minutes": 10}, "at most 20"),
    ]:
        base = {"day": _day(), "minutes": 20, "place": "Room 12", **block}
        bad = client.post(
            "/api/v1/conferences",
            headers=auth("read,send", staff=c.teacher),
            json={"blocks": [base]},
        )
        assert bad.status_code in (400, 422) and words in bad.text, bad.text
    past = (datetime.now(ZONE) - timedelta(days=1)).date().isoformat()
    bad = client.post(
        "/api/v1/conferences",
        headers=auth("read,send", staff=c.teacher),
        json={"blocks": [{"day": past, "start": "15:00", "end": "16:00", "minutes": 20,
                          "place": "Room 12"}]},
    )  # fmt: skip
    assert bad.status_code in (400, 422) and "has passed" in bad.text
    assert len(client.get("/api/v1/conferences", headers=auth("read", staff=c.office)).json()[
        "items"]) == 2  # fmt: skip


def test_the_day_before_only_booked_families_are_reminded_with_opt_outs_and_quiet_hours(
    client, auth, session, classroom, twilio, monkeypatch
):
    c = classroom
    conference = _publish(client, auth, c.teacher).json()
    _text(client, c.marisol.phone, "1")
    _text(client, c.lan.phone, "2")
    _text(client, c.marisol.phone, "STOP")  # booked, then opted out
    first = session.scalar(
        select(ConferenceSlot).where(ConferenceSlot.number == 1).order_by(ConferenceSlot.id)
    )
    # Twenty hours before the first time: both booked times start within a day.
    monkeypatch.setattr(conferences, "utcnow", lambda: first.starts_at - timedelta(hours=20))
    before = len(twilio.messages)
    assert run_job("conferences.remind_due") == 1  # Marisol's is planned suppressed
    reminded = {m.to: m.body for m in twilio.messages[before:]}
    assert set(reminded) == {c.lan.phone}  # Ana booked nothing; Marisol said STOP
    assert reminded[c.lan.phone].startswith("Nhắc nhở: buổi gặp của quý vị với Ana Rivera")
    rows = session.scalars(
        select(Delivery).where(Delivery.guardian_id == c.marisol.id).order_by(Delivery.id.desc())
    ).first()
    assert rows.status == "suppressed"
    assert run_job("conferences.remind_due") == 0  # once per booking

    # Quiet hours now: a new booking's reminder waits for the morning.
    now = datetime.now(ZONE)
    c.school.quiet_hours_start = (now - timedelta(hours=1)).time().replace(microsecond=0)
    c.school.quiet_hours_end = (now + timedelta(hours=1)).time().replace(microsecond=0)
    session.commit()
    _text(client, c.ana.phone, "3")
    before = len(twilio.messages)
    assert run_job("conferences.remind_due") == 2  # Ana's text and email
    assert [m for m in twilio.messages[before:] if m.to == c.ana.phone] == []
    waiting = session.scalars(
        select(Delivery)
        .where(Delivery.guardian_id == c.ana.id, Delivery.channel == "sms")
        .order_by(Delivery.id.desc())
    ).first()
    session.refresh(waiting)
    assert waiting.status == "queued" and waiting.next_attempt_at > utcnow()
    assert conference["id"]


def test_the_conferences_page_publishes_and_refuses_bad_input_with_a_message(
    session, classroom, twilio, signed_in
):
    c = classroom
    teacher = signed_in(c.teacher)
    form = {"day": _day(), "start": "16:00", "end": "15:00", "minutes": "20", "place": "Room 12"}
    refused = teacher.post("/conferences", form)
    assert refused.status_code == 422 and "end comes after" in refused.text
    assert "No conference times yet." in refused.text  # nothing saved
    published = teacher.post("/conferences", {**form, "start": "15:00", "end": "16:00"})
    assert published.status_code == 303
    page = teacher.get("/conferences?published=1").text
    assert "Your times are published" in page and page.count(">Open<") == 3
    assert 'href="/conferences"' in page  # in the teacher's menu
    # The office sees it, read-only (it publishes for a teacher through the API).
    office = signed_in(c.office).get("/conferences").text
    assert "Ana Rivera" in office and "Publicar horarios" not in office


def test_a_family_language_with_neither_catalog_nor_model_waits_for_an_interpreter(
    client, auth, session, classroom, twilio
):
    c = classroom
    pa = GuardianFactory(
        students=[c.sofia],
        language="hmn",
        given_name="Pa",
        family_name="Vang",
        phone="+15125552009",
        channels=["sms"],
    )
    session.commit()
    assert _publish(client, auth, c.teacher).status_code == 201
    assert pa.phone not in {m.to for m in twilio.messages}  # never silently English
    task = session.scalar(select(InterpretationTask).where(InterpretationTask.language == "hmn"))
    assert task is not None and task.reason == "no_route" and task.status == "open"
    waiting = session.scalar(select(Delivery).where(Delivery.guardian_id == pa.id))
    assert waiting.status == "waiting_translation" or waiting.body is None


def test_a_booking_made_within_the_day_is_not_reminded_again(
    client, auth, session, classroom, twilio, monkeypatch
):
    c = classroom
    _publish(client, auth, c.teacher)
    _text(client, c.lan.phone, "1")
    first = session.scalar(
        select(ConferenceSlot).where(ConferenceSlot.number == 1).order_by(ConferenceSlot.id)
    )
    answer = session.scalar(select(Answer).where(Answer.current.is_(True)))
    answer.answered_at = first.starts_at - timedelta(hours=3)  # booked the same afternoon
    session.commit()
    monkeypatch.setattr(conferences, "utcnow", lambda: first.starts_at - timedelta(hours=2))
    before = len(twilio.messages)
    assert run_job("conferences.remind_due") == 0
    assert twilio.messages[before:] == []
    session.refresh(first)
    assert first.reminded_guardian_id == c.lan.id
