from app.translation.argos import engine
from tests.factories import (
    GuardianFactory,
    SchoolFactory,
    SectionFactory,
    StaffFactory,
    StudentFactory,
)


def test_translate_endpoint(client, auth, argos_models):
    headers = auth("read")
    body = client.post(
        "/api/v1/translate",
        headers=headers,
        json={
            "text": "School is closed on Monday.",
            "source": "en",
            "target": "es-MX",
            "back_translate": True,
        },
    ).json()
    assert body["status"] == "translated"
    assert body["text"] == "La escuela está cerrada el lunes."
    assert body["target"] == "es" and body["engine"] == "argos:en-es@0.1.0"
    assert body["back_translation"] == "School is closed on Monday."
    again = client.post(
        "/api/v1/translate",
        headers=headers,
        json={"text": "School is closed on Monday.", "source": "en", "target": "es"},
    ).json()
    assert again["cached"] is True


def test_translate_detects_the_source(client, auth, argos_models):
    body = client.post(
        "/api/v1/translate",
        headers=auth("read"),
        json={"text": "Mi hijo está enfermo hoy.", "target": "en"},
    ).json()
    assert body["detected"] is True and body["source"] == "es"
    assert body["status"] == "translated"


def test_translate_unavailable_and_bad_input(client, auth, argos_models):
    headers = auth("read")
    body = client.post(
        "/api/v1/translate", headers=headers, json={"text": "Hello", "source": "en", "target": "so"}
    ).json()
    assert body["status"] == "unavailable" and body["text"] is None
    assert "Somali" in body["reason"]
    bad = client.post(
        "/api/v1/translate", headers=headers, json={"text": "Hello", "target": "xx-notreal"}
    )
    assert bad.status_code == 422


def test_languages_lists_coverage_and_native_names(client, auth, argos_models):
    student = StudentFactory()
    GuardianFactory(students=[student], language="so")
    GuardianFactory(students=[student], language="es-MX")
    languages = {
        lang["code"]: lang for lang in client.get("/api/v1/languages", headers=auth("admin")).json()
    }
    assert languages["es"]["native_name"] == "español"
    assert languages["es"]["coverage"] == "direct"
    assert languages["so"]["coverage"] == "none" and languages["so"]["guardians"] >= 1
    assert languages["vi"]["native_name"] == "Tiếng Việt"
    pivot = {
        lang["code"]: lang
        for lang in client.get(
            "/api/v1/languages", params={"source": "es"}, headers=auth("admin")
        ).json()
    }
    assert pivot["vi"]["coverage"] == "pivot"


def test_note_is_translated_once_per_language_not_per_guardian(
    client, auth, argos_models, monkeypatch
):
    school = SchoolFactory()
    teacher = StaffFactory(schools=[school])
    student = StudentFactory(school=school, given_name="Mateo", family_name="Ruiz")
    SectionFactory(school=school, teachers=[teacher], students=[student])
    guardians = [
        GuardianFactory(students=[student], language=lang)
        for lang in ("es", "es-MX", "es", "vi", "vi", "en", "so")
    ]
    calls, backs = [], []
    forward, back = engine.translate_scored, engine.translate_greedy
    monkeypatch.setattr(
        engine, "translate_scored", lambda texts, s, t: calls.append((s, t)) or forward(texts, s, t)
    )
    monkeypatch.setattr(
        engine, "translate_greedy", lambda texts, s, t: backs.append((s, t)) or back(texts, s, t)
    )
    headers = auth("read,write,send", staff=teacher)
    thread = client.post(
        "/api/v1/threads",
        headers=headers,
        json={"student_id": student.id, "guardian_ids": [g.id for g in guardians]},
    ).json()
    message = client.post(
        f"/api/v1/threads/{thread['id']}/messages",
        headers=headers,
        json={"body": "Mateo will be absent tomorrow."},
    ).json()
    assert sorted(calls) == [("en", "es"), ("en", "vi")]
    assert sorted(backs) == [("es", "en"), ("vi", "en")]  # the quality check's round trips
    detail = client.get(f"/api/v1/threads/{thread['id']}", headers=headers).json()
    translations = {t["language"]: t for t in detail["messages"][0]["translations"]}
    assert set(translations) == {"en", "es", "vi", "so"}
    assert translations["es"]["text"] == "Mateo va a faltar mañana."
    assert translations["es"]["status"] == "translated"
    assert translations["en"]["status"] == "same_language"
    # No model for Somali: the note waits for an interpreter, never sent in English.
    assert translations["so"]["status"] == "interpreter" and translations["so"]["text"] is None
    assert detail["messages"][0]["body"] == message["body"] == "Mateo will be absent tomorrow."


def test_glossary_api(client, auth, argos_models):
    school = SchoolFactory()
    headers = auth("admin")
    created = client.post(
        f"/api/v1/schools/{school.id}/glossary",
        headers=headers,
        json={"term": "Family Center", "renderings": {"es": "Centro Familiar"}},
    )
    assert created.status_code == 201, created.text
    assert (
        client.post(
            f"/api/v1/schools/{school.id}/glossary",
            headers=headers,
            json={"term": "Family Center", "keep": True},
        ).status_code
        == 409
    )
    assert (
        client.post(
            f"/api/v1/schools/{school.id}/glossary", headers=headers, json={"term": "PTA"}
        ).status_code
        == 422
    )
    listed = client.get(f"/api/v1/schools/{school.id}/glossary", headers=headers).json()
    assert [t["term"] for t in listed] == ["Family Center"]


def test_translate_answers_quality_and_origin(client, auth, argos_models):
    headers = auth("read")

    def post(text, source, target):
        body = {"text": text, "source": source, "target": target}
        response = client.post("/api/v1/translate", headers=headers, json=body)
        assert response.status_code == 200, response.text
        return response.json()

    known = post("The field trip is on Friday.", "en", "es")
    assert known["origin"] == "mt" and known["text"] == "La excursión es el viernes."
    assert known["quality"]["level"] == "good" and known["quality"]["score"] > 0.9
    assert post("The field trip is on Friday.", "en", "es")["origin"] == "cache"

    nonsense = post("My son is allergic to peanuts, please no snacks with nuts.", "en", "es")
    assert nonsense["origin"] == "mt" and nonsense["quality"]["level"] in ("check", "poor")
    codes = [r["code"] for r in nonsense["quality"]["reasons"]]
    assert "round_trip_differs" in codes
    assert all(r["message"] for r in nonsense["quality"]["reasons"])

    reply = post("Gracias 🙏", "es", "en")
    assert (reply["text"], reply["origin"], reply["quality"]) == (
        "Thank you 🙏",
        "phrasebook",
        None,
    )
    emoji = post("👍🙏", "es", "en")
    assert (emoji["text"], emoji["status"], emoji["origin"]) == (
        "👍🙏",
        "same_language",
        "same_language",
    )
    unavailable = post("School is closed on Monday.", "en", "so")
    assert unavailable["origin"] is None and unavailable["quality"] is None


def test_the_openapi_document_describes_quality_and_origin(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"origin", "quality"} <= set(schemas["TranslateResponse"]["properties"])
    assert {"level", "score", "reasons"} <= set(schemas["QualityRead"]["properties"])
