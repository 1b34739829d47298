"""A term's engagement figures (the community report), district goals and each school's
progress against them: the service, the pages (report, PDF, goals, dashboard charts) and the
goals API, admin only."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from fpdf import FPDF  # noqa: F401  (the PDF library itself must import)

from app.auth.service import IMPLIED, load_staff, subject_for_staff
from app.delivery.models import Delivery
from app.messaging.models import Message, MessageTranslation, Thread
from app.reports import goals
from app.reports.community import term_figures
from app.reports.service import scope_for
from app.reports.terms import term, term_of
from app.schools.models import School
from tests import factories

FALL = term("2025-fall")


@dataclass
class World:
    school: School
    other: School
    admin: object


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _message(session, thread, when, *, guardian=None, staff=None, kind="note") -> Message:
    message = Message(
        thread_id=thread.id,
        direction="inbound" if guardian is not None else "outbound",
        author_guardian_id=guardian.id if guardian is not None else None,
        author_staff_id=staff.id if staff is not None else None,
        body="Hola" if guardian is not None else "Hello",
        language="en",
        kind="reply" if guardian is not None else kind,
        created_at=when,
    )
    session.add(message)
    session.flush()
    return message


def _delivery(session, message, guardian, language, when, status="delivered", error=None):
    thread = session.get(Thread, message.thread_id)
    session.add(
        Delivery(
            message_id=message.id,
            guardian_id=guardian.id,
            school_id=thread.school_id,
            channel="sms",
            address=guardian.phone or "+15125550999",
            language=language,
            status=status,
            error_code=error,
            created_at=when,
            sent_at=when if status in ("sent", "delivered") else None,
        )
    )


@pytest.fixture
def world(session, argos_models) -> World:
    """Fall 2025 at one school: four families (Spanish ×2, Somali (no model), English); a note
    reaches three of them in their language and one in English; the Somali family's
    translation could not be made by the model, then reached them in Somali from people; two
    families wrote back and staff answered in 2 and 4 hours. Spring 2025: one note, reaching one
    family, no replies."""
    school = factories.SchoolFactory(name="Riverside Elementary", timezone="UTC")
    other = factories.SchoolFactory(name="Hill Middle", timezone="UTC")
    teacher = factories.StaffFactory(role="teacher", schools=[school])
    admin = factories.StaffFactory(role="admin")
    student = factories.StudentFactory(school=school)
    es1, es2, so, en = (
        factories.GuardianFactory(language=lang, channels=["sms"], students=[student])
        for lang in ("es", "es-MX", "so", "en")
    )
    thread = factories.ThreadFactory(school=school, guardians=[es1, es2, so, en])

    spring = _message(session, thread, _at("2025-03-10 10:00"), staff=teacher)
    _delivery(session, spring, es1, "es", _at("2025-03-10 10:00"))

    note = _message(session, thread, _at("2025-10-01 10:00"), staff=teacher)
    _delivery(session, note, es1, "es", _at("2025-10-01 10:00"))
    _delivery(session, note, es2, "en", _at("2025-10-01 10:00"))
    _delivery(session, note, en, "en", _at("2025-10-01 10:00"))
    _delivery(session, note, so, "so", _at("2025-10-01 10:00"), "failed", "untranslatable")
    by_people = _message(session, thread, _at("2025-10-03 10:00"), staff=teacher)
    _delivery(session, by_people, so, "so", _at("2025-10-03 10:00"))
    _message(session, thread, _at("2025-10-01 12:00"), guardian=es1)
    _message(session, thread, _at("2025-10-01 14:00"), staff=teacher)
    _message(session, thread, _at("2025-10-02 09:00"), guardian=en)
    _message(session, thread, _at("2025-10-02 13:00"), staff=teacher)
    session.commit()
    return World(school, other, admin)


def _admin(session, staff):
    return subject_for_staff(load_staff(session, staff.id), frozenset(IMPLIED["admin"]))


def test_terms_are_school_year_halves():
    assert (FALL.start, FALL.end) == (date(2025, 8, 1), date(2026, 2, 1))
    assert FALL.previous().key == "2025-spring" and FALL.previous().previous().key == "2024-fall"
    assert term_of(date(2026, 1, 31)).key == "2025-fall"
    assert term_of(date(2026, 2, 1)).key == "2026-spring"
    with pytest.raises(Exception, match="2026-fall"):
        term("2026-winter")


def test_a_terms_figures(session, world):
    scope = scope_for(session, _admin(session, world.admin), world.school.id)
    fall = term_figures(session, scope, FALL)
    by = {lang.code: lang for lang in fall.languages}
    assert fall.families == 4 and fall.reached == 4 and fall.in_language == 3
    assert (by["es"].families, by["es"].reached, by["es"].in_language) == (2, 2, 1)
    assert (by["so"].sent_to, by["so"].in_language, by["so"].untranslatable) == (1, 1, 1)
    assert [lang.code for lang in fall.interpreter_languages] == ["so"]
    assert fall.replied == 2 and fall.replies == 2 and fall.notes == 4
    assert fall.answered == 2 and fall.response_seconds == 3 * 3600
    assert fall.value("reached_in_language") == 0.75
    assert fall.value("reply_rate") == 0.5
    assert fall.value("interpreter") == 1.0
    assert fall.value("response_hours") == 3.0
    assert fall.failures == {"untranslatable": 1}

    spring = term_figures(session, scope, FALL.previous())
    assert (spring.reached, spring.replied, spring.notes) == (1, 0, 1)
    assert spring.value("reply_rate") == 0.0 and spring.value("response_hours") is None


def test_a_schools_goal_replaces_the_districts_and_progress_has_a_trend(session, world):
    subject = _admin(session, world.admin)
    goals.set_goal(session, subject, FALL.key, None, "reply_rate", 0.4)
    goals.set_goal(session, subject, FALL.key, None, "response_hours", 24)
    goals.set_goal(session, subject, FALL.key, world.school.id, "response_hours", 2)
    progress = goals.school_progress(session, subject, world.school.id, FALL)
    by = {p.measure: p for p in progress.progress}
    assert (by["reply_rate"].met, by["reply_rate"].trend) == (True, "better")
    assert by["reply_rate"].district_wide and not by["response_hours"].district_wide
    assert (by["response_hours"].target, by["response_hours"].met) == (2, False)
    assert by["response_hours"].trend == "unknown"
    # Removing a goal: no target.
    goals.set_goal(session, subject, FALL.key, None, "reply_rate", None)
    assert [g.measure for g in goals.list_goals(session, FALL.key)] == [
        "response_hours",
        "response_hours",
    ]


def test_goals_refuse_what_is_not_a_goal(session, world):
    subject = _admin(session, world.admin)
    for measure, target in (("reply_rate", 1.5), ("response_hours", 0), ("speed", 1)):
        with pytest.raises(Exception) as caught:
            goals.set_goal(session, subject, FALL.key, None, measure, target)
        assert getattr(caught.value, "status_code", None) == 422
    office = factories.StaffFactory(role="office", schools=[world.school])
    with pytest.raises(Exception) as caught:
        goals.set_goal(
            session,
            subject_for_staff(load_staff(session, office.id), frozenset({"read", "write"})),
            FALL.key,
            None,
            "reply_rate",
            0.5,
        )
    assert caught.value.status_code == 403
    assert goals.list_goals(session, FALL.key) == []


def test_the_goals_api_is_for_admin_keys(client, session, auth, world):
    admin = auth("admin")
    body = {"term": FALL.key, "school_id": world.school.id, "measure": "reply_rate", "target": 0.4}
    saved = client.put("/api/v1/goals", json=body, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json()["target"] == 0.4 and saved.json()["school_id"] == world.school.id
    listed = client.get(f"/api/v1/goals?term={FALL.key}", headers=admin).json()
    assert [(g["measure"], g["target"]) for g in listed] == [("reply_rate", 0.4)]
    progress = client.get(f"/api/v1/goals/progress?term={FALL.key}", headers=admin).json()
    assert progress == [
        {
            "school_id": world.school.id,
            "measure": "reply_rate",
            "target": 0.4,
            "district_wide": False,
            "value": 0.5,
            "previous": 0.0,
            "met": True,
            "trend": "better",
        }
    ]
    bad = client.put("/api/v1/goals", json={**body, "target": 7}, headers=admin)
    assert bad.status_code == 422 and "between 0 and 1" in bad.text
    assert client.get("/api/v1/goals?term=2025-autumn", headers=admin).status_code == 422
    writer = auth("read,write,send")
    assert client.put("/api/v1/goals", json=body, headers=writer).status_code == 403
    assert client.get(f"/api/v1/goals?term={FALL.key}", headers=writer).status_code == 403
    school_admin = auth("admin", school=world.school)
    assert client.put("/api/v1/goals", json=body, headers=school_admin).status_code == 403
    removed = client.put("/api/v1/goals", json={**body, "target": None}, headers=admin)
    assert removed.status_code == 204
    assert client.get(f"/api/v1/goals?term={FALL.key}", headers=admin).json() == []


def test_the_goals_page_is_for_admins_and_saves_percentages(signed_in, session, world):
    for role in ("teacher", "office"):
        web = signed_in(factories.StaffFactory(role=role, schools=[world.school]))
        assert web.get("/admin/goals").status_code == 403
        assert web.post("/admin/goals", {"term": FALL.key, "reply_rate": "50"}).status_code == 403
    assert goals.list_goals(session, FALL.key) == []

    web = signed_in(world.admin)
    saved = web.post(
        "/admin/goals",
        {"term": FALL.key, "school": str(world.school.id), "reply_rate": "40", "interpreter": ""},
    )
    assert saved.status_code == 303
    rows = goals.list_goals(session, FALL.key)
    assert [(g.school_id, g.measure, g.target) for g in rows] == [
        (world.school.id, "reply_rate", 0.4)
    ]
    page = web.get(f"/admin/goals?term={FALL.key}").text
    row = re.search(r'<tr data-goal="reply_rate">(.*?)</tr>', page, re.S).group(1)
    assert "40%" in row and "50%" in row  # the target and the term's figure
    refused = web.post("/admin/goals", {"term": FALL.key, "reply_rate": "140"})
    assert refused.status_code == 422 and "0 to 100" in refused.text
    assert len(goals.list_goals(session, FALL.key)) == 1
    assert web.get("/admin/goals?term=nope").status_code == 404


def _urgent_in_english_with_one_line(session, world) -> None:
    """An urgent note to an Arabic family (no model): it went in English under one line in
    Arabic, delivered, recorded as the note's `fallback` translation into Arabic."""
    teacher = factories.StaffFactory(role="teacher", schools=[world.school])
    student = factories.StudentFactory(school=world.school)
    arabic = factories.GuardianFactory(language="ar", channels=["sms"], students=[student])
    thread = factories.ThreadFactory(school=world.school, guardians=[arabic])
    urgent = _message(session, thread, _at("2025-11-05 07:00"), staff=teacher)
    session.add(
        MessageTranslation(
            message_id=urgent.id,
            language="ar",
            status="fallback",
            text="رسالة مهمة من Riverside Elementary. اتصل بالرقم +15125550100 للحصول على "
            "المساعدة بلغتك.\n\nHello",
        )
    )
    _delivery(session, urgent, arabic, "ar", _at("2025-11-05 07:00"))
    session.commit()


def test_english_under_one_line_is_not_reached_in_their_language(session, world):
    _urgent_in_english_with_one_line(session, world)
    scope = scope_for(session, _admin(session, world.admin), world.school.id)
    fall = term_figures(session, scope, FALL)
    arabic = {lang.code: lang for lang in fall.languages}["ar"]
    # Reached, but in English: counted as reached with the one line, not in their language.
    assert (arabic.sent_to, arabic.reached, arabic.in_language, arabic.one_line) == (1, 1, 0, 1)
    assert fall.in_language == 3 and fall.one_line == 1
    assert fall.value("reached_in_language") == 3 / 5
    assert fall.value("interpreter") == 1 / 2  # Somali got people's text; Arabic did not


def test_the_community_report_says_who_got_only_the_one_line(signed_in, session, world):
    _urgent_in_english_with_one_line(session, world)
    office = factories.StaffFactory(role="office", schools=[world.school])
    session.commit()
    web = signed_in(office)
    html = web.get(f"/reports/community?school={world.school.id}&term={FALL.key}").text
    assert (
        "Arabic: 1 families written to, 0 reached in their language, 1 reached in the "
        "school&#39;s language with one line in theirs, 0 could not be sent a translation"
    ) in html
    assert "Reached with one line in their language" in html and "60%" in html


def test_the_community_report_page_and_pdf(signed_in, session, world):
    office = factories.StaffFactory(role="office", schools=[world.school])
    session.commit()
    web = signed_in(office)
    page = web.get(f"/reports/community?school={world.school.id}&term={FALL.key}")
    assert page.status_code == 200
    html = page.text
    assert "Riverside Elementary" in html and "Fall 2025" in html
    assert "Somali: 1 families written to, 1 reached in their language, 0 reached" in html
    assert "3 h" in html and "75%" in html and "50%" in html
    assert web.get(f"/reports/community?school={world.other.id}").status_code == 404

    pdf = web.get(f"/reports/community.pdf?school={world.school.id}&term={FALL.key}")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 1000
    text = pdf_text(pdf.content)
    assert "Riverside Elementary" in text and "Somali" in text and "75%" in text

    teacher = factories.StaffFactory(role="teacher", schools=[world.school])
    assert signed_in(teacher).get("/reports/community").status_code == 403


def test_the_report_in_spanish(signed_in, session, world):
    office = factories.StaffFactory(role="office", schools=[world.school], ui_language="es")
    session.commit()
    web = signed_in(office)
    html = web.get(f"/reports/community?school={world.school.id}&term={FALL.key}").text
    assert "Informe de participación" in html and "Somalí" in html
    pdf = web.get(f"/reports/community.pdf?school={world.school.id}&term={FALL.key}")
    text = pdf_text(pdf.content)
    assert "Informe de participaci" in text and "Somal" in text and "75 %" in text


def test_the_dashboard_draws_its_charts_with_their_tables(signed_in, session, world):
    thread = session.query(Thread).filter_by(school_id=world.school.id).one()
    guardian = factories.GuardianFactory(language="vi", students=[])
    recent = _message(session, thread, datetime.now(UTC))
    _delivery(session, recent, guardian, "vi", datetime.now(UTC), "failed", "no_address")
    session.commit()
    web = signed_in(world.admin)
    html = web.get(f"/dashboard?school={world.school.id}").text
    charts = re.findall(r'<svg class="chart" id="([\w-]+)" role="img"', html)
    assert charts == ["chart-weeks", "chart-languages", "chart-failures"]
    assert re.search(r'<tr data-failure="no_address"><th scope="row">No phone or email', html)
    for chart in charts:
        assert f'<title id="{chart}-title">' in html and f'<desc id="{chart}-desc">' in html
        after = html.split(f'id="{chart}"', 1)[1]
        assert after.index("<table") < after.index("</section>")


def pdf_text(data: bytes) -> str:
    """The text a PDF shows: fpdf2 writes uncompressed or zlib-compressed content streams of
    literal strings; decompress and read the strings of Tj/TJ operators."""
    import contextlib
    import zlib

    out = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        with contextlib.suppress(zlib.error):
            stream = zlib.decompress(stream)
        for literal in re.findall(rb"\((.*?)(?<!\\)\)\s*Tj", stream, re.S):
            out.append(literal.replace(rb"\(", b"(").replace(rb"\)", b")").decode("latin-1"))
    return "\n".join(out)


def test_the_pdf_font_prints_spanish_and_never_fails_on_other_scripts():
    from app.web.admin.community_pdf import _text

    assert _text("Informe de participación – Somalí") == "Informe de participación - Somalí"
    assert _text("Tiếng Việt") == "Tieng Viet"
    assert _text("中文") == "??"
