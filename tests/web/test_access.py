"""Who may open what in the web app: a teacher only their sections' students, families and
threads; an office only its schools' records; admin pages only admins. Everything of
another school (or another teacher's class) answers 404, exactly as if it did not exist, and
nothing changes. Every page needs a signed-in staff member, and every form the CSRF token."""

import json
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.dependencies import check_form_cookie, checked
from app.auth.models import ApiKey, PasswordReset
from app.auth.service import create_api_key
from app.broadcasts.models import Broadcast
from app.core.db import utcnow
from app.people.models import Guardian, Staff
from app.roster.models import RosterImport
from app.translation.models import GlossaryTerm
from app.web.router import PAGE_ROUTERS
from app.web.teacher.compose import note_templates
from tests.conftest import count_rows
from tests.factories import (
    GuardianFactory,
    SchoolFactory,
    SectionFactory,
    StaffFactory,
    StudentFactory,
    ThreadFactory,
)

HTMX = {"accept": "text/html", "HX-Request": "true"}
# What a refused request must leave as it was.
WRITTEN_TABLES = (
    "threads",
    "messages",
    "deliveries",
    "broadcasts",
    "roster_imports",
    "glossary_terms",
    "password_resets",
    "translation_cache",
    "interpretation_tasks",
    "translation_memory",
    "audit_events",
)
PUBLIC_PAGES = {"/", "/sign-in", "/password-reset", "/password-reset/{token}"}
# The family page: opened by a family's secret link, never by staff; its form carries a secret
# bound to the link and a cookie (tests/delivery/test_family_page.py), as do its answer buttons
# (tests/delivery/test_family_page_questions.py); its files and its messages read aloud open
# by the same link.
FAMILY_PAGES = {
    "/f/{token}",
    "/f/{token}/answer",
    "/f/{token}/attachments/{attachment_id}",
    "/f/{token}/audio/{message_id}.wav",
}


def web_routes() -> list[APIRoute]:
    return [r for rt in PAGE_ROUTERS for r in rt.routes if isinstance(r, APIRoute)]


def _dependencies(route: APIRoute) -> set:
    found, todo = set(), list(route.dependant.dependencies)
    while todo:
        dep = todo.pop()
        found.add(dep.call)
        todo.extend(dep.dependencies)
    return found


def _written(session) -> dict[str, int]:
    return {table: count_rows(session, table) for table in WRITTEN_TABLES}


@pytest.fixture
def world(session):
    """Two schools. In A, two teachers with a class each; in B, a teacher, an office, a
    thread, a scheduled broadcast, a guardian import and a glossary term."""
    a = SchoolFactory(name="School A")
    b = SchoolFactory(name="School B", sms_sender="+15125550177")
    t_a = StaffFactory(schools=[a], name="Teacher A")
    t_a2 = StaffFactory(schools=[a], name="Teacher A2")
    t_b = StaffFactory(schools=[b], name="Teacher B")
    o_a = StaffFactory(role="office", schools=[a])
    o_b = StaffFactory(role="office", schools=[b])
    s_a = StudentFactory(school=a, given_name="Alma", family_name="Reyes")
    s_a2 = StudentFactory(school=a, given_name="Ines", family_name="Soto")
    s_b = StudentFactory(school=b, given_name="Bruno", family_name="Lima")
    SectionFactory(school=a, teachers=[t_a], students=[s_a])
    SectionFactory(school=a, teachers=[t_a2], students=[s_a2])
    SectionFactory(school=b, teachers=[t_b], students=[s_b])
    g_a = GuardianFactory(students=[s_a], language="en", given_name="Gloria", family_name="Reyes")
    g_a2 = GuardianFactory(students=[s_a2], language="en", given_name="Hector", family_name="Soto")
    g_b = GuardianFactory(students=[s_b], language="en", given_name="Berta", family_name="Lima")
    thread_a2 = ThreadFactory(
        school=a, student_id=s_a2.id, owner_staff_id=t_a2.id, subject="Ines", guardians=[g_a2]
    )
    thread_b = ThreadFactory(
        school=b, student_id=s_b.id, owner_staff_id=t_b.id, subject="Bruno", guardians=[g_b]
    )
    broadcast_b = Broadcast(
        school_id=b.id,
        author_staff_id=o_b.id,
        actor=f"staff:{o_b.id}",
        title="Closed in B",
        body="School B is closed.",
        language="en",
        audience={"whole_school": True},
        scheduled_at=utcnow() + timedelta(days=2),
    )
    import_b = RosterImport(
        kind="guardians_csv",
        status="succeeded",
        school_id=b.id,
        filename="families-b.csv",
        actor=f"staff:{o_b.id}",
        report={"counts": {}, "rejected": [], "rejected_total": 0},
    )
    term_b = GlossaryTerm(school_id=b.id, term="Bee Fest", keep=True)
    session.add_all([broadcast_b, import_b, term_b])
    session.flush()
    key_b, _ = create_api_key(session, name="B sync", scopes=["read"], school_id=b.id)
    session.commit()
    return {
        "a": a, "b": b, "t_a": t_a, "t_a2": t_a2, "t_b": t_b, "o_a": o_a, "o_b": o_b,
        "s_a": s_a, "s_a2": s_a2, "s_b": s_b, "g_a": g_a, "g_a2": g_a2, "g_b": g_b,
        "thread_a2": thread_a2, "thread_b": thread_b, "broadcast_b": broadcast_b,
        "import_b": import_b, "term_b": term_b, "key_b": key_b,
    }  # fmt: skip


def hx(web, url: str, form: dict, **headers: str):
    return web.client.post(
        url, data=form, headers={**HTMX, "X-CSRF-Token": web.csrf_token, **headers}
    )


# Every route -------------------------------------------------------------------------------


def test_every_page_but_sign_in_and_reset_needs_a_signed_in_viewer():
    """The shape that keeps a new page from forgetting: Viewer (sign-in and CSRF) on every
    route, the pre-sign-in form check on the public forms, and no other way in."""
    for route in web_routes():
        deps = _dependencies(route)
        if route.path in FAMILY_PAGES:
            continue
        if route.path in PUBLIC_PAGES:
            if route.methods - {"GET", "HEAD"}:
                assert check_form_cookie in deps, route.path
            continue
        assert checked in deps, (route.path, route.methods)
    # Nothing but a GET is offered where no form is needed: no page changes state on a GET.
    gets = {r.path for r in web_routes() if "GET" in r.methods}
    assert not {p for p in gets if p.endswith(("/cancel", "/delete", "/active", "/sign-out"))}
    assert "/sign-out" not in gets and "/admin/staff/{staff_id}/password-link" not in gets


def test_without_a_session_every_page_sends_to_sign_in_and_nothing_changes(client, session, world):
    before = _written(session)
    ids = {"thread_id": world["thread_b"].id, "broadcast_id": world["broadcast_b"].id,
           "guardian_id": world["g_b"].id, "import_id": world["import_b"].id,
           "staff_id": world["t_b"].id, "key_id": world["key_b"].id, "school_id": world["b"].id,
           "term_id": world["term_b"].id, "table": "reach", "task_id": 1,
           "message_id": 1, "attachment_id": 1}  # fmt: skip
    for route in web_routes():
        if route.path in PUBLIC_PAGES | FAMILY_PAGES:
            continue
        url = route.path.format(**ids)
        for method in route.methods:
            response = client.request(
                method, url, headers={"accept": "text/html"}, follow_redirects=False
            )
            assert response.status_code == 303, (method, url, response.status_code)
            assert response.headers["location"].startswith("/sign-in"), url
    assert _written(session) == before


def test_every_form_without_the_csrf_token_is_refused_and_changes_nothing(
    signed_in, session, world
):
    staff = StaffFactory(role="admin")
    session.commit()
    web = signed_in(staff)
    before = _written(session)
    ids = {"thread_id": world["thread_b"].id, "broadcast_id": world["broadcast_b"].id,
           "guardian_id": world["g_b"].id, "staff_id": world["t_b"].id,
           "key_id": world["key_b"].id, "school_id": world["b"].id,
           "term_id": world["term_b"].id, "task_id": 1, "message_id": 1}  # fmt: skip
    posts = [
        r for r in web_routes() if "POST" in r.methods and r.path not in PUBLIC_PAGES | FAMILY_PAGES
    ]
    assert len(posts) > 20
    for route in posts:
        url = route.path.format(**ids)
        response = web.post(url, {"active": "0", "body": "Hi", "name": "Eve"}, csrf=False)
        assert response.status_code == 403, (url, response.status_code)
    assert _written(session) == before
    assert session.get(Broadcast, world["broadcast_b"].id).status == "scheduled"
    assert session.get(ApiKey, world["key_b"].id).revoked_at is None
    assert session.get(Staff, world["t_b"].id).active


# Teachers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("whose", ["same_school", "other_school"])
def test_a_teacher_gets_404_for_another_teachers_thread_student_and_family(
    signed_in, session, world, whose
):
    thread, student, guardian = {
        "same_school": (world["thread_a2"], world["s_a2"], world["g_a2"]),
        "other_school": (world["thread_b"], world["s_b"], world["g_b"]),
    }[whose]
    web = signed_in(world["t_a"])
    note = {"student_id": str(student.id), "guardian_ids": [str(guardian.id)], "body": "Hi"}
    template = note_templates()[0].name
    before = _written(session)

    assert web.get(f"/threads/{thread.id}").status_code == 404
    assert web.post(f"/threads/{thread.id}/reply", {"body": "Hi"}).status_code == 404
    assert hx(web, f"/threads/{thread.id}/preview", {"body": "Hi"}).status_code == 404
    assert web.get(f"/compose?student_id={student.id}").status_code == 404
    assert hx(web, "/compose/preview", note).status_code == 404
    assert web.post("/compose/preview", note).status_code == 404
    assert hx(web, "/compose/template-fields", {**note, "template": template}).status_code == 404
    assert hx(web, "/compose/template", {**note, "template": template}).status_code == 404
    sent = web.post("/compose", note)
    assert sent.status_code in (404, 422) and "Hector" not in sent.text
    assert _written(session) == before

    # Not listed anywhere either.
    assert f"/threads/{thread.id}" not in web.get("/inbox").text
    found = web.get(f"/compose/students?q={student.family_name}")
    assert found.status_code == 200 and student.given_name not in found.text
    # The teacher whose class it is sees all of it.
    owner = signed_in(world["t_a2"] if whose == "same_school" else world["t_b"])
    assert owner.get(f"/threads/{thread.id}").status_code == 200
    assert owner.get(f"/compose?student_id={student.id}").status_code == 200


def test_a_teacher_cannot_slip_another_familys_guardian_into_a_note(signed_in, session, world):
    web = signed_in(world["t_a"])
    own, others = world["g_a"], [world["g_a2"], world["g_b"]]
    ids = [str(g.id) for g in [own, *others]]
    preview = hx(
        web,
        "/compose/preview",
        {"student_id": str(world["s_a"].id), "guardian_ids": ids, "body": "See you Friday."},
    )
    assert preview.status_code == 200
    assert "Gloria" in preview.text
    assert "Hector" not in preview.text and "Berta" not in preview.text

    before = _written(session)
    for guardian in others:
        sent = web.post(
            "/compose",
            {
                "student_id": str(world["s_a"].id),
                "guardian_ids": [str(own.id), str(guardian.id)],
                "body": "See you Friday.",
            },
        )
        assert sent.status_code in (404, 422), sent.status_code
    assert _written(session) == before


# Office ------------------------------------------------------------------------------------


def test_an_office_gets_404_for_another_schools_records_and_changes_nothing(
    signed_in, session, world
):
    web = signed_in(world["o_a"])
    b, broadcast, guardian, job = world["b"], world["broadcast_b"], world["g_b"], world["import_b"]
    before = _written(session)

    for url in [
        f"/broadcasts/{broadcast.id}",
        f"/broadcasts/{broadcast.id}/report.csv",
        f"/broadcasts/new?school_id={b.id}",
        f"/families/{guardian.id}",
        f"/roster/imports/{job.id}",
        f"/threads/{world['thread_b'].id}",
        f"/compose?student_id={world['s_b'].id}",
        f"/dashboard?school={b.id}",
        f"/dashboard/reach.csv?school={b.id}",
    ]:
        assert web.get(url).status_code == 404, url
    # The live partials the report pages poll.
    live = web.client.get(
        f"/broadcasts/{broadcast.id}", headers={**HTMX, "HX-Target": "broadcast-live"}
    )
    assert live.status_code == 404
    live = web.client.get(f"/roster/imports/{job.id}", headers={**HTMX, "HX-Target": "import-live"})
    assert live.status_code == 404

    assert web.post(f"/broadcasts/{broadcast.id}/cancel").status_code == 404
    assert web.post(f"/families/{guardian.id}", {"language": "vi"}).status_code == 404
    form = {"school_id": str(b.id), "audience": "whole_school", "body": "Closed.", "when": "now"}
    assert hx(web, "/broadcasts/preview", form).status_code == 404
    assert web.post("/broadcasts/preview", form).status_code == 404
    draft = {"school_id": b.id, "audience": {"whole_school": True}, "body": "Closed.",
             "urgent": True}  # fmt: skip
    assert web.post("/broadcasts", {"draft": json.dumps(draft)}).status_code == 404
    upload = web.client.post(
        "/roster/guardian-imports",
        data={"school_id": str(b.id), "csrf_token": web.csrf_token},
        files={"file": ("f.csv", b"student_id,given_name,family_name\nS1,Eve,Doe\n", "text/csv")},
        headers={"accept": "text/html"},
    )
    assert upload.status_code == 404
    assert web.post(f"/threads/{world['thread_b'].id}/reply", {"body": "Hi"}).status_code == 404

    assert _written(session) == before
    session.refresh(broadcast)
    assert broadcast.status == "scheduled"
    assert session.get(Guardian, guardian.id).language == "en"
    assert not session.scalars(
        select(AuditEvent).where(AuditEvent.action == "broadcast.export")
    ).all()

    # Not listed: not in the families directory, by name or by school.
    link = f'href="/families/{guardian.id}"'
    assert link not in web.get("/families?q=Berta").text
    assert link not in web.get(f"/families?school_id={b.id}").text
    assert link not in web.get("/families?q=5125").text
    assert "Closed in B" not in web.get("/broadcasts").text
    assert "families-b.csv" not in web.get("/roster").text
    # School B's office sees every one of them.
    own = signed_in(world["o_b"])
    for url in [
        f"/broadcasts/{broadcast.id}",
        f"/families/{guardian.id}",
        f"/roster/imports/{job.id}",
        f"/threads/{world['thread_b'].id}",
    ]:
        assert own.get(url).status_code == 200, url


@pytest.mark.parametrize("role", ["t_a", "o_a"])
def test_admin_pages_answer_403_to_others_whatever_the_id(signed_in, session, world, role):
    """Refused before any record is looked up: the answer is the same for a real id and a
    made-up one, so it tells nothing."""
    web = signed_in(world[role])
    b, staff, key, term = world["b"], world["t_b"], world["key_b"], world["term_b"]
    before = _written(session)
    for staff_id in (staff.id, 999_999):
        assert web.get(f"/admin/staff/{staff_id}").status_code == 403
        assert web.post(f"/admin/staff/{staff_id}", {"name": "Eve"}).status_code == 403
        assert web.post(f"/admin/staff/{staff_id}/active", {"active": "0"}).status_code == 403
        assert web.post(f"/admin/staff/{staff_id}/password-link").status_code == 403
    for key_id in (key.id, 999_999):
        assert web.get(f"/admin/api-keys/{key_id}/revoke").status_code == 403
        assert web.post(f"/admin/api-keys/{key_id}/revoke").status_code == 403
    for school_id in (b.id, world["a"].id, 999_999):
        assert web.get(f"/admin/schools/{school_id}").status_code == 403
        assert web.post(f"/admin/schools/{school_id}", {"name": "Mine"}).status_code == 403
        glossary = f"/admin/schools/{school_id}/glossary"
        assert web.post(glossary, {"term": "X", "keep": "1"}).status_code == 403
        assert web.post(f"{glossary}/{term.id}/delete").status_code == 403
    assert _written(session) == before
    assert session.get(Staff, staff.id).active and session.get(Staff, staff.id).name == "Teacher B"
    assert session.get(ApiKey, key.id).revoked_at is None
    assert session.scalars(select(PasswordReset)).all() == []


def test_an_admin_gets_404_for_what_is_not_there(signed_in, session, world):
    web = signed_in(StaffFactory(role="admin"))
    a, term = world["a"], world["term_b"]
    assert web.get("/admin/staff/999999").status_code == 404
    assert web.post("/admin/staff/999999/active", {"active": "0"}).status_code == 404
    assert web.get("/admin/api-keys/999999/revoke").status_code == 404
    assert web.post("/admin/api-keys/999999/revoke").status_code == 404
    assert web.get("/admin/schools/999999").status_code == 404
    # A term of school B, named through school A's page: not there.
    assert web.post(f"/admin/schools/{a.id}/glossary/{term.id}/delete").status_code == 404
    assert session.get(GlossaryTerm, term.id) is not None
    assert web.post(f"/admin/schools/{world['b'].id}/glossary/{term.id}/delete").status_code == 303


def test_the_office_partials_are_for_office_staff_only(signed_in, world):
    as_teacher, as_office = signed_in(world["t_a"]), signed_in(world["o_a"])
    for url in ["/broadcasts/new/fields?template=", "/broadcasts/preview/stale"]:
        assert as_teacher.client.get(url, headers=HTMX).status_code == 403, url
        assert as_office.client.get(url, headers=HTMX).status_code == 200, url
