"""Admin pages: staff accounts, API keys, school settings and glossary, translation coverage."""

import re
from datetime import time

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.models import ApiKey
from app.auth.service import IMPLIED, subject_for_staff
from app.channels.models import DevOutbox
from app.people.models import Staff, StaffLanguage
from app.reports import service as reports
from app.schools.models import School
from app.translation.models import GlossaryTerm
from tests import factories
from tests.conftest import count_rows

ADMIN_PAGES = ["/admin", "/admin/staff", "/admin/staff/new", "/admin/api-keys", "/admin/coverage"]


@pytest.fixture
def school(session):
    school = factories.SchoolFactory(name="Lincoln Elementary")
    # Committed like every row a page finds: a refused form rolls its own work back.
    session.commit()
    return school


@pytest.fixture
def admin(session):
    return factories.StaffFactory(role="admin", name="Ada Admin")


@pytest.fixture
def as_admin(signed_in, admin):
    return signed_in(admin)


@pytest.mark.parametrize("role", ["teacher", "office"])
def test_admin_pages_are_forbidden_to_everyone_but_admins(signed_in, session, school, role):
    web = signed_in(factories.StaffFactory(role=role, schools=[school]))
    for page in [*ADMIN_PAGES, f"/admin/schools/{school.id}"]:
        response = web.get(page)
        assert response.status_code == 403, page
        assert "Only admin staff can open this page." in response.text
    before = count_rows(session, "staff")
    created = web.post(
        "/admin/staff",
        {"name": "Eve", "email": "eve@x.org", "role": "admin", "school_ids": [str(school.id)]},
    )
    assert created.status_code == 403
    key = web.post("/admin/api-keys", {"name": "mine", "scopes": ["admin"]})
    assert key.status_code == 403
    assert count_rows(session, "staff") == before
    assert count_rows(session, "api_keys") == 0


def test_the_admin_index_links_every_section(as_admin, school):
    page = as_admin.get("/admin")
    assert page.status_code == 200
    for href in ("/admin/staff", "/admin/api-keys", "/admin/schools", "/admin/coverage"):
        assert f'href="{href}"' in page.text
    assert f'href="/admin/schools/{school.id}"' in page.text


# Staff accounts --------------------------------------------------------------------------------


def test_a_new_colleague_gets_an_emailed_link_to_choose_a_password(
    as_admin, client, session, school
):
    response = as_admin.post(
        "/admin/staff",
        {
            "name": "Maya Torres",
            "email": "Maya.Torres@Lincoln.example.org",
            "role": "teacher",
            "ui_language": "es",
            "school_ids": [str(school.id)],
        },
    )
    assert response.status_code == 303
    staff = session.scalar(select(Staff).where(Staff.email == "Maya.Torres@lincoln.example.org"))
    assert staff is not None and staff.role == "teacher" and staff.password_hash is None
    assert response.headers["location"] == f"/admin/staff/{staff.id}?done=created_link"
    page = as_admin.get(response.headers["location"])
    assert "A link to choose a password was emailed to Maya.Torres@lincoln" in page.text

    mail = session.scalars(select(DevOutbox).where(DevOutbox.to == staff.email)).one()
    link = re.search(r"/password-reset/[\w-]+", mail.body).group(0)
    form = client.get(link, headers={"accept": "text/html"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    done = client.post(
        link,
        data={
            "password": "a long new password",
            "confirm": "a long new password",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    session.refresh(staff)
    assert staff.password_hash is not None
    assert session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "staff.create", AuditEvent.object_id == str(staff.id)
        )
    )


def test_a_temporary_password_can_be_set_instead_of_a_link(as_admin, session, school):
    response = as_admin.post(
        "/admin/staff",
        {
            "name": "Omar Haddad",
            "email": "omar@lincoln.example.org",
            "role": "office",
            "password": "temporary password 1",
            "school_ids": [str(school.id)],
        },
    )
    assert response.status_code == 303 and response.headers["location"].endswith("done=created")
    staff = session.scalar(select(Staff).where(Staff.email == "omar@lincoln.example.org"))
    assert staff.role == "office" and staff.password_hash
    assert session.scalar(select(DevOutbox).where(DevOutbox.to == staff.email)) is None


def test_the_new_staff_form_takes_language_names_and_ticks_a_lone_school(as_admin, session, school):
    ticked = f'name="school_ids" value="{school.id}" checked'
    assert session.scalar(select(func.count()).select_from(School)) == 1
    assert ticked in as_admin.get("/admin/staff/new").text
    factories.SchoolFactory(name="Second School")
    session.commit()
    assert ticked not in as_admin.get("/admin/staff/new").text  # two: the admin chooses

    response = as_admin.post(
        "/admin/staff",
        {
            "name": "Mai Vang",
            "email": "mai@lincoln.example.org",
            "role": "interpreter",
            "password": "temporary password 1",
            "interprets": "Hmong, Haitian Creole, so",
            "school_ids": [str(school.id)],
        },
    )
    assert response.status_code == 303, response.text
    staff = session.scalar(select(Staff).where(Staff.email == "mai@lincoln.example.org"))
    languages = session.scalars(
        select(StaffLanguage.language).where(StaffLanguage.staff_id == staff.id)
    )
    assert sorted(languages) == ["hmn", "ht", "so"]

    refused = as_admin.post(
        "/admin/staff",
        {
            "name": "Kim",
            "email": "kim@lincoln.example.org",
            "role": "interpreter",
            "interprets": "Hmong, Klingon",
            "school_ids": [str(school.id)],
        },
    )
    assert refused.status_code == 422 and "Klingon" in refused.text


def test_a_duplicate_email_is_refused_with_a_message_and_nothing_saved(as_admin, session, school):
    factories.StaffFactory(email="taken@lincoln.example.org", schools=[school])
    session.commit()
    before = count_rows(session, "staff")
    response = as_admin.post(
        "/admin/staff",
        {
            "name": "Second Person",
            "email": "TAKEN@lincoln.example.org",
            "role": "teacher",
            "school_ids": [str(school.id)],
        },
    )
    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert "A staff member with email TAKEN@lincoln.example.org already exists." in response.text
    assert 'value="Second Person"' in response.text  # what was typed stays
    assert count_rows(session, "staff") == before
    assert count_rows(session, "password_resets") == 0


@pytest.mark.parametrize(
    ("form", "with_school", "message"),
    [
        ({"name": "No School", "email": "ns@x.org"}, False, "at least one school"),
        ({"name": "Bad Mail", "email": "not-an-email"}, True, "Email:"),
        ({"name": "", "email": "empty@x.org"}, True, "Name:"),
        ({"name": "Short", "email": "s@x.org", "password": "short"}, True, "Temporary password:"),
        ({"name": "Role", "email": "r@x.org", "role": "principal"}, True, "Role:"),
    ],
)
def test_bad_staff_input_shows_the_form_again(
    as_admin, session, school, form, with_school, message
):
    if with_school:
        form = {**form, "school_ids": [str(school.id)]}
    before = count_rows(session, "staff")
    response = as_admin.post("/admin/staff", form)
    assert response.status_code == 422
    assert message in response.text
    assert count_rows(session, "staff") == before


def test_an_admin_changes_a_role_and_deactivates_and_reactivates_an_account(
    as_admin, signed_in, session, school, admin
):
    teacher = factories.StaffFactory(role="teacher", schools=[school], name="Tom Teacher")
    teacher_web = signed_in(teacher)
    assert teacher_web.get("/settings").status_code == 200

    listing = as_admin.get("/admin/staff")
    assert listing.status_code == 200 and "Tom Teacher" in listing.text
    assert f'href="/admin/staff/{teacher.id}"' in listing.text

    changed = as_admin.post(
        f"/admin/staff/{teacher.id}",
        {
            "name": "Tom Teacher",
            "email": teacher.email,
            "role": "office",
            "ui_language": "en",
            "school_ids": [str(school.id)],
        },
    )
    assert changed.status_code == 303
    session.refresh(teacher)
    assert teacher.role == "office"

    off = as_admin.post(f"/admin/staff/{teacher.id}/active", {"active": "0"})
    assert off.status_code == 303
    session.refresh(teacher)
    assert teacher.active is False
    page = as_admin.get(off.headers["location"])
    assert "Account deactivated." in page.text and "Reactivate account" in page.text
    # A deactivated account's open session ends with it.
    gone = teacher_web.client.get(
        "/settings", headers={"accept": "text/html"}, follow_redirects=False
    )
    assert gone.status_code == 303 and gone.headers["location"].startswith("/sign-in")

    on = as_admin.post(f"/admin/staff/{teacher.id}/active", {"active": "1"})
    assert on.status_code == 303
    session.refresh(teacher)
    assert teacher.active is True


def test_an_admin_cannot_lock_themselves_out(as_admin, session, admin):
    off = as_admin.post(f"/admin/staff/{admin.id}/active", {"active": "0"})
    assert off.status_code == 422 and "You cannot deactivate your own account." in off.text
    demoted = as_admin.post(
        f"/admin/staff/{admin.id}",
        {"name": admin.name, "email": admin.email, "role": "teacher", "ui_language": "en"},
    )
    assert demoted.status_code == 422 and "You cannot change your own role" in demoted.text
    session.refresh(admin)
    assert admin.active and admin.role == "admin"


def test_changing_an_email_to_a_colleagues_is_refused(as_admin, session, school):
    first = factories.StaffFactory(schools=[school], email="first@x.org")
    factories.StaffFactory(schools=[school], email="second@x.org")
    session.commit()
    response = as_admin.post(
        f"/admin/staff/{first.id}",
        {
            "name": first.name,
            "email": "second@x.org",
            "role": "teacher",
            "school_ids": [str(school.id)],
        },
    )
    assert response.status_code == 422 and "already exists" in response.text
    session.refresh(first)
    assert first.email == "first@x.org"


# API keys ------------------------------------------------------------------------------------


def test_an_api_key_is_shown_once_works_and_stops_working_when_revoked(
    as_admin, client, session, school
):
    office = factories.StaffFactory(
        role="office", schools=[school], email="office@lincoln.example.org"
    )
    other = factories.SchoolFactory(name="Other School")
    created = as_admin.post(
        "/admin/api-keys",
        {
            "name": "SIS sync",
            "scopes": ["read", "write"],
            "school_id": str(school.id),
            "staff_email": office.email,
        },
    )
    # POST-redirect-GET: the key's page shows it once; reloading it makes no other key and
    # shows it no more.
    assert created.status_code == 303
    row = session.scalar(select(ApiKey).where(ApiKey.name == "SIS sync"))
    assert created.headers["location"] == f"/admin/api-keys/{row.id}/created"
    shown = as_admin.get(created.headers["location"])
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    assert "it will not be shown again" in shown.text
    key = re.search(r'id="new-api-key" type="text" readonly value="([^"]+)"', shown.text).group(1)
    assert f"hearth_{row.lookup}_" in shown.text and key.startswith(f"hearth_{row.lookup}_")
    reloaded = as_admin.get(created.headers["location"])
    assert reloaded.status_code == 200 and key not in reloaded.text
    assert "shown once and is not shown again" in reloaded.text
    assert count_rows(session, "api_keys") == 1

    assert row.scopes == ["read", "write"] and row.school_id == school.id
    assert row.staff_id == office.id and key not in row.key_hash

    listing = as_admin.get("/admin/api-keys")
    assert "SIS sync" in listing.text and "office@lincoln.example.org" in listing.text
    assert key not in listing.text
    # Keys are told apart by id and by how they begin.
    assert f"<td>{row.id}</td>" in listing.text and f"hearth_{row.lookup}_…" in listing.text

    headers = {"Authorization": f"Bearer {key}"}
    schools = client.get("/api/v1/schools", headers=headers)
    assert schools.status_code == 200
    assert [s["id"] for s in schools.json()["items"]] == [school.id]  # not the other school
    assert client.get(f"/api/v1/schools/{other.id}", headers=headers).status_code == 404

    assert f'href="/admin/api-keys/{row.id}/revoke"' in listing.text
    confirm = as_admin.get(f"/admin/api-keys/{row.id}/revoke")
    assert confirm.status_code == 200 and "stops working at once" in confirm.text
    revoked = as_admin.post(f"/admin/api-keys/{row.id}/revoke")
    assert revoked.status_code == 303
    assert "Revoked" in as_admin.get("/admin/api-keys").text
    refused = client.get("/api/v1/schools", headers=headers)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["error"]["message"]
    actions = set(
        session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(row.id)))
    )
    assert {"apikey.create", "apikey.revoke"} <= actions


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "no scopes"}, "Scopes must be some of"),
        ({"name": "", "scopes": ["read"]}, "Give the key a name"),
        ({"name": "ghost", "scopes": ["read"], "staff_email": "nobody@x.org"}, "No staff member"),
        ({"name": "odd", "scopes": ["root"]}, "Scopes must be some of"),
    ],
)
def test_bad_api_key_input_creates_no_key(as_admin, session, form, message):
    response = as_admin.post("/admin/api-keys", form)
    assert response.status_code == 422
    assert message in response.text
    assert session.scalar(select(func.count()).select_from(ApiKey)) == 0


# School settings and glossary ----------------------------------------------------------------


def test_school_settings_are_saved(as_admin, session, school):
    page = as_admin.get(f"/admin/schools/{school.id}")
    assert page.status_code == 200 and 'value="America/Chicago"' in page.text
    saved = as_admin.post(
        f"/admin/schools/{school.id}",
        {
            "name": "Lincoln Elementary",
            "timezone": "America/Los_Angeles",
            "default_language": "es-MX",
            "sms_sender": "+15125550199",
            "email_sender": "Lincoln <office@lincoln.example.org>",
            "quiet_hours_start": "20:00",
            "quiet_hours_end": "07:30",
        },
    )
    assert saved.status_code == 303
    session.refresh(school)
    assert school.timezone == "America/Los_Angeles"
    assert school.default_language == "es-MX"
    assert school.sms_sender == "+15125550199"
    assert school.email_sender == "Lincoln <office@lincoln.example.org>"
    assert (school.quiet_hours_start, school.quiet_hours_end) == (time(20, 0), time(7, 30))
    assert "Saved." in as_admin.get(saved.headers["location"]).text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "is not an IANA timezone"),
        ({"sms_sender": "555-0100"}, "E.164"),
        ({"quiet_hours_start": "21:00", "quiet_hours_end": ""}, "or neither"),
        ({"quiet_hours_start": "25:99", "quiet_hours_end": "07:00"}, "Quiet hours start:"),
        ({"timezone": ""}, "timezone&#39; cannot be empty."),
    ],
)
def test_bad_school_settings_show_the_form_again_and_change_nothing(
    as_admin, session, school, change, message
):
    form = {
        "name": "Renamed",
        "timezone": "America/Denver",
        "default_language": "en",
        "sms_sender": "+15125550100",
        "email_sender": "",
        "quiet_hours_start": "",
        "quiet_hours_end": "",
        **change,
    }
    response = as_admin.post(f"/admin/schools/{school.id}", form)
    assert response.status_code == 422
    assert message in response.text
    assert 'role="alert"' in response.text
    assert 'value="Renamed"' in response.text
    session.refresh(school)
    assert school.name == "Lincoln Elementary" and school.timezone == "America/Chicago"


def test_the_settings_page_refuses_another_schools_number(as_admin, session, school):
    factories.SchoolFactory(name="Roosevelt Middle", sms_sender="+15125550177")
    session.commit()
    form = {
        "name": "Lincoln Elementary",
        "timezone": "America/Chicago",
        "default_language": "en",
        "sms_sender": "+15125550100",
        "sms_pool": "+15125550101, (512) 555-0177",
    }
    response = as_admin.post(f"/admin/schools/{school.id}", form)
    assert response.status_code == 422
    assert "sms_pool: +15125550177 already belongs to another school (Roosevelt Middle)" in (
        response.text
    )
    session.refresh(school)
    assert school.sms_pool is None


def test_glossary_terms_are_added_and_removed(as_admin, session, school):
    kept = as_admin.post(
        f"/admin/schools/{school.id}/glossary", {"term": "Lincoln Lions", "keep": "1"}
    )
    assert kept.status_code == 303
    fixed = as_admin.post(
        f"/admin/schools/{school.id}/glossary",
        {
            "term": "Back to School Night",
            "renderings": "es: Noche de regreso a clases\nvi: Đêm tựu trường\n",
        },
    )
    assert fixed.status_code == 303
    rows = {
        g.term: g
        for g in session.scalars(select(GlossaryTerm).where(GlossaryTerm.school_id == school.id))
    }
    assert rows["Lincoln Lions"].keep is True
    assert rows["Back to School Night"].renderings == {
        "es": "Noche de regreso a clases",
        "vi": "Đêm tựu trường",
    }
    page = as_admin.get(f"/admin/schools/{school.id}")
    assert "Noche de regreso a clases" in page.text and "Kept as written" in page.text

    twice = as_admin.post(
        f"/admin/schools/{school.id}/glossary", {"term": "Lincoln  Lions", "keep": "1"}
    )
    assert twice.status_code == 422 and "already in this school" in twice.text
    nothing = as_admin.post(f"/admin/schools/{school.id}/glossary", {"term": "Field Day"})
    assert nothing.status_code == 422 and "Give renderings per language" in nothing.text
    bad_line = as_admin.post(
        f"/admin/schools/{school.id}/glossary", {"term": "Field Day", "renderings": "Día de campo"}
    )
    assert bad_line.status_code == 422 and "language: wording" in bad_line.text
    assert 'value="Field Day"' in bad_line.text

    removed = as_admin.post(
        f"/admin/schools/{school.id}/glossary/{rows['Lincoln Lions'].id}/delete"
    )
    assert removed.status_code == 303
    assert [g.term for g in session.scalars(select(GlossaryTerm))] == ["Back to School Night"]


def test_an_unknown_school_is_not_found(as_admin):
    assert as_admin.get("/admin/schools/999999").status_code == 404
    assert as_admin.get("/admin/schools/99999999999").status_code == 404


# Translation coverage ------------------------------------------------------------------------


def test_coverage_marks_a_language_without_a_route(as_admin, admin, session, school, argos_models):
    student = factories.StudentFactory(school=school)
    for language in ["es", "es-MX", "vi", "zh-Hans", "so", "so", "en"]:
        factories.GuardianFactory(language=language, students=[student])
    other = factories.StudentFactory(school=factories.SchoolFactory())
    factories.GuardianFactory(language="hmn", students=[other])

    page = as_admin.get(f"/admin/coverage?school={school.id}")
    assert page.status_code == 200
    somali = re.search(r"<tr>\s*<th scope=\"row\">Somali.*?</tr>", page.text, re.S).group(0)
    assert "Needs interpreter" in somali and "<td>2</td>" in somali
    spanish = re.search(r"<tr>\s*<th scope=\"row\">Spanish.*?</tr>", page.text, re.S).group(0)
    assert "Direct model" in spanish and "<td>2</td>" in spanish and "Covered" in spanish
    assert "Hmong" not in page.text  # another school's families
    assert "1 language your families speak has no installed translation route" in page.text

    subject = subject_for_staff(admin, frozenset(IMPLIED["admin"]))
    scope = reports.scope_for(session, subject, school.id)
    figures = {lang.code: lang for lang in reports.coverage(session, scope)}
    assert figures["so"].needs_interpreter and figures["so"].families == 2
    for code in ("es", "vi", "zh"):
        assert figures[code].coverage == "direct" and not figures[code].needs_interpreter
    assert figures["en"].coverage == "same" and figures["en"].families == 1
    # Every school: the Hmong family appears too, also without a route.
    everywhere = as_admin.get("/admin/coverage")
    assert "Hmong" in everywhere.text
