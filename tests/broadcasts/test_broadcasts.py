"""Broadcasts: every family in its language, rendered once per language, costs known first."""

import csv
import io
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, insert, select

from app.broadcasts import service
from app.broadcasts.models import Broadcast
from app.core.config import get_settings
from app.core.queue import run_job
from app.delivery.models import Delivery
from app.people.models import Guardian, StudentGuardian
from tests.factories import SchoolFactory, StaffFactory, StudentFactory

LANGUAGES = ["en", "es", "vi", "zh-Hans", "ar", "so"]


@pytest.fixture
def school(session):
    return SchoolFactory(
        sms_sender="+15125550100", name="Riverside Elementary", timezone="America/Chicago"
    )


@pytest.fixture
def office(school):
    return StaffFactory(role="office", schools=[school], ui_language="en")


def families(session, school, count, languages=LANGUAGES):
    """`count` guardians, cycling through `languages`, each linked to a student of the school."""
    student = StudentFactory(school=school)
    rows = [
        {
            "given_name": "G",
            "family_name": f"F{i}",
            "phone": f"+1512556{i:04d}",
            "email": None,
            "language": languages[i % len(languages)],
            "channels": ["sms"],
            "language_confirmed": True,
            "channels_confirmed": True,
            "active": True,
        }
        for i in range(count)
    ]
    ids = session.execute(insert(Guardian).returning(Guardian.id), rows).scalars().all()
    session.execute(
        insert(StudentGuardian),
        [{"student_id": student.id, "guardian_id": gid, "relationship": "guardian"} for gid in ids],
    )
    session.flush()
    return ids


def draft(school, **kw):
    body = {"school_id": school.id, "audience": {"whole_school": True}, "urgent": True}
    body.update(kw)
    return body


def test_thousand_families_six_languages_six_renderings(
    client, auth, session, school, office, argos_models, monkeypatch
):
    families(session, school, 1000)
    calls = []
    original = service.notices.render
    monkeypatch.setattr(
        service.notices, "render", lambda *a, **k: calls.append(a[2]) or original(*a, **k)
    )
    response = client.post(
        "/api/v1/broadcasts",
        headers=auth("read,send", staff=office),
        json=draft(
            school, template="school_closed", params={"date": "2026-12-03", "reason": "snow"}
        ),
    )
    assert response.status_code == 201, response.text
    assert sorted(calls) == sorted({"en", "es", "vi", "zh", "ar", "so"})
    rows = session.execute(select(Delivery.language, func.count()).group_by(Delivery.language))
    assert dict(rows.all()) == {
        code: 1000 // 6 + (1 if i < 1000 % 6 else 0)
        for i, code in enumerate(["en", "es", "vi", "zh", "ar", "so"])
    }
    spanish = session.scalar(select(Delivery.body).where(Delivery.language == "es").limit(1))
    arabic = session.scalar(select(Delivery.body).where(Delivery.language == "ar").limit(1))
    assert spanish != arabic and "3" in spanish
    broadcast = session.get(Broadcast, response.json()["id"])
    assert broadcast.status == "sent" and broadcast.recipients == 1000


def test_free_text_is_machine_translated_once_per_language(
    client, auth, session, school, office, argos_models, monkeypatch
):
    families(session, school, 60, ["en", "es", "vi", "zh", "so", "ht"])
    calls = []
    original = service.translation.translate
    monkeypatch.setattr(
        service.translation,
        "translate",
        lambda s, texts, src, tgt, **k: calls.append(tgt) or original(s, texts, src, tgt, **k),
    )
    client.post(
        "/api/v1/broadcasts",
        headers=auth("read,send", staff=office),
        json=draft(school, body="School is closed on Monday."),
    )
    assert sorted(calls) == ["es", "ht", "so", "vi", "zh"]
    bodies = dict(session.execute(select(Delivery.language, Delivery.body).distinct()).all())
    assert bodies["es"] == "La escuela está cerrada el lunes. (traducción automática)"
    assert bodies["en"] == "School is closed on Monday."
    # Urgent, and no model for Somali or Haitian Creole: the school's text now, under the one
    # line people wrote in the family's language; never the English alone.
    assert bodies["so"] == (
        "Fariin muhiim ah oo ka timid Riverside Elementary. Wac +15125550100 si aad caawimaad "
        "ugu hesho luqaddaada.\n\nSchool is closed on Monday."
    )
    assert bodies["ht"].startswith("Mesaj enpòtan nan men Riverside Elementary. Rele +15125550100")


def test_preview_sources_human_mt_and_unreachable(
    client, auth, session, school, office, argos_models
):
    families(session, school, 6, ["es", "zh-Hant", "hmn"])
    response = client.post(
        "/api/v1/broadcasts/preview",
        headers=auth("read,send", staff=office),
        json=draft(school, template="picture_day", params={"date": "2026-12-03"}, urgent=False),
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    by_language = {lang["language"]: lang for lang in preview["languages"]}
    assert by_language["es"]["source"] == "human"  # the catalog, not MT
    assert by_language["es"]["back_translation"] is None
    # Traditional Chinese has no catalog and no model here; Hmong neither.
    assert by_language["zt"]["source"] == "unavailable"
    assert by_language["hmn"]["source"] == "unavailable"
    # Not urgent: they wait for an interpreter, and are not counted as getting it now.
    assert {p["language"] for p in preview["no_route"]} == {"zh-Hant", "hmn"}
    assert preview["fallback"] == [] and preview["reached"] == 2
    assert session.scalar(select(func.count()).select_from(Broadcast)) == 0


def test_urgent_preview_shows_the_one_line_families_get_where_no_translation_reaches(
    client, auth, session, school, office, argos_models
):
    families(session, school, 6, ["en", "es", "so", "hmn"])
    body = draft(school, body="School is closed tomorrow because of snow. Stay safe.")
    preview = client.post(
        "/api/v1/broadcasts/preview", headers=auth("read,send", staff=office), json=body
    ).json()
    # Somali and Hmong have no model here, but an urgent text goes to them at once: the
    # school's text under one line in their language. They get it; nobody is left out.
    assert (preview["recipients"], preview["reached"], preview["no_route"]) == (6, 6, [])
    by_language = {lang["language"]: lang for lang in preview["languages"]}
    somali = by_language["so"]
    assert somali["source"] == "fallback"
    assert somali["text"].startswith("Fariin muhiim ah oo ka timid Riverside Elementary.")
    assert somali["text"].endswith("\n\nSchool is closed tomorrow because of snow. Stay safe.")
    assert somali["segments"] > 0 and somali["total_segments"] == somali["segments"]
    groups = {g["language"]: g for g in preview["fallback"]}
    assert groups.keys() == {"so", "hmn"}
    assert groups["so"]["text_language"] == "en" and groups["so"]["line_language"] == "so"
    assert somali["text"].startswith(groups["so"]["line"])
    assert [p["language"] for p in groups["hmn"]["families"]] == ["hmn"]
    # What the preview showed is what the families get.
    assert (
        client.post(
            "/api/v1/broadcasts", headers=auth("read,send", staff=office), json=body
        ).status_code
        == 201
    )
    sent = dict(session.execute(select(Delivery.language, Delivery.body).distinct()).all())
    assert sent["so"] == somali["text"] and sent["hmn"] == by_language["hmn"]["text"]


def test_preview_falls_back_to_mt_and_shows_a_back_translation(
    client, auth, session, school, office, argos_models
):
    families(session, school, 2, ["es"])
    preview = client.post(
        "/api/v1/broadcasts/preview",
        headers=auth("read,send", staff=office),
        json=draft(school, body="School is closed on Monday."),
    ).json()
    spanish = preview["languages"][0]
    assert spanish["source"] == "mt"
    assert spanish["text"] == "La escuela está cerrada el lunes. (traducción automática)"
    assert spanish["back_translation"] == "School is closed on Monday."


def test_preview_segments_and_cost_by_hand(client, auth, session, school, office):
    families(session, school, 3, ["en"])
    families(session, school, 2, ["es"])
    price = get_settings().sms_price_per_segment
    gsm = "Reminder: " + "bring your library book back to school on Friday. " * 3 + "Thx"
    assert len(gsm) == 163  # > 160 → two parts of at most 153
    english = client.post(
        "/api/v1/broadcasts/preview",
        headers=auth("read,send", staff=office),
        json=draft(school, body=gsm, audience={"whole_school": True, "languages": ["en"]}),
    ).json()
    assert english["languages"][0]["encoding"] == "GSM-7"
    assert english["languages"][0]["segments"] == 2
    assert english["total_segments"] == 2 * 3
    assert english["estimated_cost"] == round(6 * price, 2)
    ucs2 = "No habrá clases mañana por la nieve. Cuídense mucho y abríguense bien."
    assert len(ucs2) == 70  # á and í are not GSM-7: UCS-2, 70 fit in one part, 71 take two
    spanish = client.post(
        "/api/v1/broadcasts/preview",
        headers=auth("read,send", staff=office),
        json=draft(
            school,
            body=ucs2 + "¡",
            language="es",
            audience={"whole_school": True, "languages": ["es"]},
        ),
    ).json()
    lang = spanish["languages"][0]
    assert (lang["encoding"], lang["source"], lang["segments"]) == ("UCS-2", "same_language", 2)
    assert spanish["total_segments"] == 2 * 2 and lang["cost"] == round(4 * price, 4)


def test_opted_out_and_unreachable_are_listed(client, auth, session, school, office):
    from app.delivery.models import OptOut

    ids = families(session, school, 3, ["en"])
    session.add(OptOut(phone="+15125560000", sender=school.sms_sender, school_id=school.id))
    session.get(Guardian, ids[1]).phone = None
    session.flush()
    preview = client.post(
        "/api/v1/broadcasts/preview",
        headers=auth("read,send", staff=office),
        json=draft(school, body="Hello"),
    ).json()
    assert [p["guardian_id"] for p in preview["opted_out"]] == [ids[0]]
    assert [p["guardian_id"] for p in preview["no_channel"]] == [ids[1]]
    assert preview["sms"] == 1


def test_quiet_hours_schedule_and_urgent_goes_now(
    client, auth, session, school, office, monkeypatch
):
    school.quiet_hours_start, school.quiet_hours_end = time(20, 0), time(7, 0)
    session.flush()
    families(session, school, 4, ["en"])
    night = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)  # 21:30 in Chicago
    monkeypatch.setattr(service, "utcnow", lambda: night)
    headers = auth("read,send", staff=office)
    normal = client.post(
        "/api/v1/broadcasts",
        headers=headers,
        json=draft(school, body="Picture day is on Thursday.", urgent=False),
    )
    assert normal.json()["status"] == "scheduled"
    assert normal.json()["scheduled_at"].startswith("2026-11-23T13:00:00")
    urgent = client.post(
        "/api/v1/broadcasts",
        headers=headers,
        json=draft(school, body="School is closed today.", urgent=True),
    )
    # Its fan-out ran once the request committed (jobs run at once in tests).
    urgent_id = urgent.json()["id"]
    assert client.get(f"/api/v1/broadcasts/{urgent_id}", headers=headers).json()["status"] == "sent"
    # The morning comes, after a restart: the periodic check fires it, once.
    monkeypatch.setattr(service, "utcnow", lambda: night + timedelta(hours=10))
    assert run_job("broadcasts.send_due") == 1
    assert run_job("broadcasts.send_due") == 0
    broadcast = session.get(Broadcast, normal.json()["id"])
    session.refresh(broadcast)
    assert broadcast.status == "sent"
    count = session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.message_id == broadcast.message_id)
    )
    assert count == 4


def test_cancel_before_it_goes_and_report(client, auth, session, school, office):
    families(session, school, 3, ["en"])
    headers = auth("read,send", staff=office)
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    created = client.post(
        "/api/v1/broadcasts", headers=headers, json=draft(school, body="Hello", scheduled_at=later)
    ).json()
    canceled = client.post(f"/api/v1/broadcasts/{created['id']}/cancel", headers=headers).json()
    assert canceled["status"] == "canceled"
    assert run_job("broadcasts.send_due") == 0
    sent = client.post(
        "/api/v1/broadcasts", headers=headers, json=draft(school, body="School is closed today.")
    ).json()
    report = client.get(f"/api/v1/broadcasts/{sent['id']}", headers=headers).json()["report"]
    assert sum(report["by_status"].values()) == 3
    csv_text = client.get(f"/api/v1/broadcasts/{sent['id']}/report.csv", headers=headers).text
    assert csv_text.splitlines()[0].startswith("guardian_id,guardian,language,channel")
    assert len(csv_text.strip().splitlines()) == 4


def test_report_csv_cells_never_run_as_spreadsheet_formulas(client, auth, session, school, office):
    families(session, school, 2, ["en"])
    guardian = session.scalars(select(Guardian).where(Guardian.family_name == "F0")).one()
    guardian.given_name = '=HYPERLINK("http://x.example","click")'
    session.flush()
    headers = auth("read,send", staff=office)
    sent = client.post(
        "/api/v1/broadcasts", headers=headers, json=draft(school, body="School is closed today.")
    ).json()
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(f"/api/v1/broadcasts/{sent['id']}/report.csv", headers=headers).text
            )
        )
    )
    names = sorted(row[1] for row in rows[1:])
    assert names == ['\'=HYPERLINK("http://x.example","click") F0', "G F1"]
    assert all(row[4].startswith("+1512556") for row in rows[1:])  # numbers stay numbers


def test_report_csv_escapes_formulas_in_every_column(client, auth, session, school, office):
    """The `to` column too: an email address can start like a formula."""
    families(session, school, 1, ["en"])
    guardian = session.scalars(select(Guardian)).one()
    guardian.email, guardian.channels = "=1+1@example.com", ["email"]
    session.flush()
    headers = auth("read,send", staff=office)
    sent = client.post(
        "/api/v1/broadcasts", headers=headers, json=draft(school, body="School is closed today.")
    ).json()
    text = client.get(f"/api/v1/broadcasts/{sent['id']}/report.csv", headers=headers).text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][4] == "'=1+1@example.com"
    assert not any(cell.startswith(("=", "@")) for row in rows for cell in row)


def test_bad_drafts_are_refused(client, auth, school, office):
    headers = auth("read,send", staff=office)
    both = client.post(
        "/api/v1/broadcasts", headers=headers, json=draft(school, body="x", template="picture_day")
    )
    assert both.status_code == 422 and "either body" in both.json()["error"]["message"]
    nobody = client.post(
        "/api/v1/broadcasts",
        headers=headers,
        json={"school_id": school.id, "body": "x", "audience": {}},
    )
    assert nobody.status_code == 422 and "audience" in nobody.json()["error"]["message"]
    teacher = StaffFactory(schools=[school])
    refused = client.post(
        "/api/v1/broadcasts", headers=auth("read,send", staff=teacher), json=draft(school, body="x")
    )
    assert refused.status_code == 403


def test_template_without_a_catalog_falls_back_to_mt_flagged(
    client, auth, session, school, office, argos_models, monkeypatch
):
    families(session, school, 2, ["vi"])
    original = service.notices.render

    def vietnamese_catalog_missing(name, params, language, author_language="en"):
        # As if locales/vi were not shipped: the notice comes back in English, to translate.
        return original(name, params, "hmn" if language == "vi" else language, author_language)

    monkeypatch.setattr(service.notices, "render", vietnamese_catalog_missing)
    preview = client.post(
        "/api/v1/broadcasts/preview",
        headers=auth("read,send", staff=office),
        json=draft(school, template="picture_day", params={"date": "2026-12-03"}),
    ).json()
    vietnamese = preview["languages"][0]
    assert vietnamese["language"] == "vi" and vietnamese["source"] == "mt"
    assert vietnamese["text"] and vietnamese["back_translation"]
    assert "3" in vietnamese["text"]  # the formatted date is protected from the model
