"""How far to trust a translation where staff decide: every message translation keeps its origin
and quality, the thread and preview APIs give them, staff emails of replies that may be wrong
say so, and a model built for tests is named as one everywhere and refused for families in
production unless allowed."""

import logging

import pytest
from sqlalchemy import select

from app.cli import _test_models_banner
from app.core.config import get_settings
from app.messaging import replies
from app.messaging.models import MessageTranslation, Thread
from app.schools.models import School
from app.translation import service as translation
from tests.conftest import count_rows
from tests.factories import (
    GuardianFactory,
    SchoolFactory,
    SectionFactory,
    StaffFactory,
    StudentFactory,
)

KNOWN = "The field trip is on Friday."  # a sentence the test models were built on
KNOWN_ES = "La excursión es el viernes."
UNKNOWN = "My son is allergic to peanuts, please no snacks with nuts."  # one they never saw
REPLY_KNOWN = "Muchas gracias."
REPLY_UNKNOWN = "Mi hija es alérgica al maní, por favor nada de nueces."


@pytest.fixture
def family(session, argos_models):
    school = SchoolFactory(sms_sender="+15125550100", name="Riverside Elementary")
    teacher = StaffFactory(schools=[school], name="Ana Rivera", email="rivera@example.org")
    student = StudentFactory(school=school, given_name="Mateo", family_name="Ruiz")
    SectionFactory(school=school, teachers=[teacher], students=[student])
    maria = GuardianFactory(students=[student], language="es", given_name="María")
    office = StaffFactory(role="office", schools=[school])
    session.commit()
    return {
        "school": school,
        "teacher": teacher,
        "office": office,
        "student": student,
        "maria": maria,
    }


def _thread(client, headers, family):
    response = client.post(
        "/api/v1/threads",
        headers=headers,
        json={"student_id": family["student"].id, "guardian_ids": [family["maria"].id]},
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_translate_api_short_replies_emoji_and_a_time_at_the_end(client, auth, argos_models):
    headers = auth("read")

    def post(text, source, target):
        body = {"text": text, "source": source, "target": target}
        response = client.post("/api/v1/translate", headers=headers, json=body)
        assert response.status_code == 200, response.text
        return response.json()

    yes = post("sí", "es", "en")
    assert (yes["text"], yes["origin"], yes["status"]) == ("Yes", "phrasebook", "translated")
    emoji = post("👍🙏", "es", "en")
    assert (emoji["text"], emoji["origin"]) == ("👍🙏", "same_language")
    meeting = post("There is a meeting tomorrow at 3:30 PM.", "en", "es")
    assert meeting["status"] == "translated" and "3:30 PM" in meeting["text"]
    assert ".." not in meeting["text"] and meeting["text"].endswith("PM.")


def test_each_note_translation_keeps_its_origin_and_quality_in_the_thread_api(
    client, auth, session, family
):
    headers = auth("read,write,send", staff=family["teacher"])
    thread = _thread(client, headers, family)
    for body in (KNOWN, UNKNOWN):
        posted = client.post(
            f"/api/v1/threads/{thread['id']}/messages", headers=headers, json={"body": body}
        )
        assert posted.status_code == 201, posted.text
    detail = client.get(f"/api/v1/threads/{thread['id']}", headers=headers).json()
    known, unknown = ({t["language"]: t for t in m["translations"]} for m in detail["messages"])
    assert known["es"]["text"] == KNOWN_ES and known["es"]["origin"] == "mt"
    assert known["es"]["quality"]["level"] == "good" and not known["es"]["may_be_wrong"]
    assert known["es"]["test_model"] is True  # the test suite's own model, and it says so
    assert unknown["es"]["quality"]["level"] in ("check", "poor")
    assert unknown["es"]["quality"]["score"] < known["es"]["quality"]["score"]
    assert {r["code"] for r in unknown["es"]["quality"]["reasons"]} >= {"round_trip_differs"}
    assert all(r["message"] for r in unknown["es"]["quality"]["reasons"])
    assert unknown["es"]["may_be_wrong"] is True
    # Kept on the rows, as the thread API read them.
    stored = session.scalars(
        select(MessageTranslation).where(MessageTranslation.language == "es")
    ).all()
    by_score = sorted(stored, key=lambda r: r.quality_score)
    assert [r.quality_level == "good" for r in by_score] == [False, True]
    assert by_score[0].quality_reasons and by_score[1].quality_reasons == []
    assert all(r.origin == "mt" and r.test_model for r in stored)


def test_a_reply_that_may_be_wrong_is_marked_in_the_api_and_the_staff_email(session, family):
    school = session.get(School, family["school"].id)
    thread_row = Thread(school_id=school.id, owner_staff_id=family["teacher"].id)
    session.add(thread_row)
    session.flush()
    marked = {}
    for body in (REPLY_KNOWN, REPLY_UNKNOWN):
        message, _ = replies.add_reply(session, thread_row, school, family["maria"], body)
        row = session.scalars(
            select(MessageTranslation).where(MessageTranslation.message_id == message.id)
        ).one()
        marked[body] = row
    good, wrong = marked[REPLY_KNOWN], marked[REPLY_UNKNOWN]
    assert good.text == "Thank you very much." and not good.may_be_wrong
    assert wrong.quality_level in ("check", "poor") and wrong.may_be_wrong
    assert wrong.quality is not None and wrong.quality.flagged

    def email(row, body):
        mail = replies.reply_notification(
            family["teacher"],
            thread_row,
            "María García",
            body,
            "es",
            row.text,
            "en",
            may_be_wrong=row.may_be_wrong,
        )
        return mail.text

    assert "may be wrong" not in email(good, REPLY_KNOWN)
    wrong_mail = email(wrong, REPLY_UNKNOWN)
    assert replies.MAY_BE_WRONG in wrong_mail
    assert REPLY_UNKNOWN in wrong_mail and wrong.text in wrong_mail  # the original beside it


def test_the_phrasebook_and_same_language_are_never_marked(session, family):
    for origin in ("phrasebook", "human", "same_language"):
        row = MessageTranslation(
            origin=origin, quality_level="poor", quality_score=0.1, test_model=False
        )
        assert not row.may_be_wrong, origin
    assert MessageTranslation(origin="cache", quality_level="check", quality_score=0.5).may_be_wrong
    # A machine translation from before quality was kept is not taken at its word.
    assert MessageTranslation(origin="mt").may_be_wrong


def test_the_broadcast_preview_api_gives_quality_and_test_model(client, auth, family):
    headers = auth("read,send", staff=family["office"])
    for body, flagged in ((KNOWN, False), (UNKNOWN, True)):
        preview = client.post(
            "/api/v1/broadcasts/preview",
            headers=headers,
            json={
                "school_id": family["school"].id,
                "audience": {"whole_school": True},
                "body": body,
                "language": "en",
            },
        )
        assert preview.status_code == 200, preview.text
        spanish = next(lang for lang in preview.json()["languages"] if lang["language"] == "es")
        assert spanish["source"] == "mt" and spanish["test_model"] is True
        assert (spanish["quality"]["level"] != "good") is flagged


@pytest.fixture
def production(monkeypatch):
    def settings(allow: bool):
        changed = get_settings().model_copy(
            update={"env": "production", "allow_test_models": allow}
        )
        monkeypatch.setattr(translation, "get_settings", lambda: changed)

    return settings


def test_production_refuses_a_note_through_a_test_model_and_saves_nothing(
    client, auth, session, family, production
):
    headers = auth("read,write,send", staff=family["teacher"])
    thread = _thread(client, headers, family)
    before = count_rows(session, "messages"), count_rows(session, "deliveries")
    production(allow=False)
    refused = client.post(
        f"/api/v1/threads/{thread['id']}/messages", headers=headers, json={"body": KNOWN}
    )
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "test_model"
    assert "Spanish" in error["message"] and "HEARTH_ALLOW_TEST_MODELS" in error["message"]
    assert (count_rows(session, "messages"), count_rows(session, "deliveries")) == before

    production(allow=True)
    allowed = client.post(
        f"/api/v1/threads/{thread['id']}/messages", headers=headers, json={"body": KNOWN}
    )
    assert allowed.status_code == 201, allowed.text


def test_production_refuses_a_broadcast_through_a_test_model(
    client, auth, session, family, production
):
    headers = auth("read,send", staff=family["office"])
    draft = {
        "school_id": family["school"].id,
        "audience": {"whole_school": True},
        "body": KNOWN,
        "language": "en",
    }
    production(allow=False)
    refused = client.post("/api/v1/broadcasts", headers=headers, json=draft)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "test_model"
    assert count_rows(session, "broadcasts") == 0
    # A notice template people translated needs no model: it goes.
    template = {k: v for k, v in draft.items() if k != "body"} | {
        "template": "school_closed",
        "params": {"date": "2026-12-03", "reason": "snow"},
    }
    assert client.post("/api/v1/broadcasts", headers=headers, json=template).status_code == 201
    production(allow=True)
    assert client.post("/api/v1/broadcasts", headers=headers, json=draft).status_code == 201


def test_the_startup_banner_names_test_models(argos_models, caplog):
    with caplog.at_level(logging.WARNING, logger="hearth"):
        _test_models_banner()
    said = [r.getMessage() for r in caplog.records if "test model" in r.getMessage()]
    assert len(said) == 1 and "test model — not for families" in said[0]
    assert "en→es" in said[0]
