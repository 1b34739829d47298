"""A family whose language no Argos package covers (Haitian Creole), reached end to end through
the multilingual engine: the project's tiny M2M-100-architecture model, installed through the
real install code, a note out through the real Twilio SDK to the local double, the family's
reply back in English for the teacher."""

import pytest
from sqlalchemy import select

from app.translation import service
from app.translation.models import CachedTranslation
from tests.delivery.test_two_way import SENDER, signed_post
from tests.factories import (
    GuardianFactory,
    SchoolFactory,
    SectionFactory,
    StaffFactory,
    StudentFactory,
)

HT_PHONE = "+15125552009"


@pytest.fixture
def family(session, argos_models, multilingual_model):
    school = SchoolFactory(sms_sender=SENDER, name="Riverside Elementary")
    teacher = StaffFactory(schools=[school], email="rivera@riverside.example.org")
    student = StudentFactory(school=school, given_name="Mateo", family_name="Joseph")
    SectionFactory(school=school, teachers=[teacher], students=[student])
    guardian = GuardianFactory(
        students=[student], language="ht", phone=HT_PHONE, given_name="Rose", family_name="Joseph"
    )
    return {"teacher": teacher, "student": student, "guardian": guardian}


def test_a_haitian_creole_family_is_reached_and_answered_through_the_multilingual_model(
    client, auth, session, family, twilio, multilingual_model
):
    # No Argos package knows Haitian Creole: the multilingual model is the route, both ways.
    there, back = service.find_route("en", "ht"), service.find_route("ht", "en")
    assert (there.coverage, back.coverage) == ("direct", "direct")
    assert there.engine == back.engine == multilingual_model.engine

    headers = auth("read,write,send", staff=family["teacher"])
    thread = client.post(
        "/api/v1/threads",
        headers=headers,
        json={"student_id": family["student"].id, "guardian_ids": [family["guardian"].id]},
    ).json()
    sent = client.post(
        f"/api/v1/threads/{thread['id']}/messages",
        headers=headers,
        json={"body": "Mateo will be absent tomorrow."},
    )
    assert sent.status_code == 201, sent.text
    note = client.get(f"/api/v1/threads/{thread['id']}", headers=headers).json()["messages"][0]
    [translation] = [t for t in note["translations"] if t["language"] == "ht"]
    assert translation["status"] == "translated"
    assert translation["engine"] == multilingual_model.engine
    [text] = [m for m in twilio.messages if m.to == HT_PHONE]
    # The corpus's Haitian Creole for the sentence, the student's name kept whole.
    # Under who wrote it (the teacher and the school), as every one-to-one text.
    assert "Mateo ap absan demen." in text.body and text.auth_ok and text.from_ == SENDER

    reply = signed_post(
        client,
        "/webhooks/twilio/sms",
        {
            "MessageSid": "SM" + "c" * 32,
            "From": HT_PHONE,
            "To": SENDER,
            "Body": "Pitit gason mwen ap absan demen.",
            "NumMedia": "0",
        },
    )
    assert reply.status_code == 200
    detail = client.get(f"/api/v1/threads/{thread['id']}", headers=headers).json()
    inbound = detail["messages"][-1]
    assert inbound["direction"] == "inbound" and inbound["language"] == "ht"
    [english] = inbound["translations"]
    assert english["language"] == "en" and english["status"] == "translated"
    assert english["engine"] == multilingual_model.engine
    assert english["text"] == "My son will be absent tomorrow."

    # Both translations carry a quality judgement, kept with them in the cache.
    judged = {
        (row.source, row.target): row.quality_level
        for row in session.scalars(
            select(CachedTranslation).where(CachedTranslation.engine == multilingual_model.engine)
        )
    }
    assert set(judged) == {("en", "ht"), ("ht", "en")}
    assert all(level in ("good", "check", "poor") for level in judged.values())


def test_an_admin_chooses_the_multilingual_model_over_an_argos_package(
    client, auth, session, argos_models, multilingual_model
):
    """Spanish has an Argos package: it wins until an admin prefers the multilingual model for
    Spanish, which then translates (and is named on the translation and the coverage)."""
    admin = auth("admin")
    before = client.post(
        "/api/v1/translate",
        headers=admin,
        json={"text": "My son will be absent tomorrow.", "source": "en", "target": "es"},
    ).json()
    assert before["engine"].startswith("argos:en-es")
    chose = client.put(
        "/api/v1/languages/es/engine", headers=admin, json={"engine": "multilingual"}
    )
    assert chose.status_code == 200 and chose.json() == {"code": "es", "engine": "multilingual"}
    after = client.post(
        "/api/v1/translate",
        headers=admin,
        json={"text": "My son will be absent tomorrow.", "source": "en", "target": "es"},
    ).json()
    assert after["engine"] == multilingual_model.engine
    assert after["text"] == "Mi hijo va a faltar mañana." and after["quality"]["level"]
    [spanish] = [
        lang
        for lang in client.get("/api/v1/languages?source=en", headers=admin).json()
        if lang["code"] == "es"
    ]
    assert spanish["engine_choice"] == "multilingual"
    assert spanish["to_language"]["engine"] == "multilingual"
    assert spanish["from_language"]["engine"] == "multilingual"
    assert spanish["to_language"]["licences"] == ["MIT"]
    assert spanish["to_language"]["quality_tier"] == "test model"
    # Back to the default order: Argos again.
    client.put("/api/v1/languages/es/engine", headers=admin, json={"engine": "auto"})
    again = client.post(
        "/api/v1/translate",
        headers=admin,
        json={"text": "My son will be absent tomorrow.", "source": "en", "target": "es"},
    ).json()
    assert again["engine"].startswith("argos:en-es")
