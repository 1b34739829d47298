"""Office pages: broadcasts (compose, preview, confirm, report), families, roster imports."""

import html
import random
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.broadcasts.models import Broadcast
from app.delivery.models import Delivery, OptOut
from app.people.models import Guardian
from app.roster.models import RosterImport
from tests.conftest import count_rows
from tests.factories import GuardianFactory, SchoolFactory, StaffFactory, StudentFactory
from tests.roster.conftest import sample, zip_folder

CLOSED = "School is closed on Monday."
SENT = ("sent", "delivered")  # the dev phone reports delivery at once


@pytest.fixture
def school(session):
    return SchoolFactory(
        name="Riverside Elementary", sms_sender="+15125550100", timezone="America/Chicago"
    )


@pytest.fixture
def office(school):
    return StaffFactory(role="office", schools=[school], ui_language="en")


@pytest.fixture
def families(session, school):
    """Families in Spanish, Vietnamese, Chinese, English and Somali (no translation model), one
    opted out of texts and one with no way to reach them."""
    sofia = StudentFactory(school=school, given_name="Sofía", family_name="García", grade="3")
    bao = StudentFactory(school=school, given_name="Bảo", family_name="Trần", grade="4")
    made = {
        "maria": GuardianFactory(
            given_name="María", family_name="García", language="es", students=[sofia],
            phone="+15125550142",
        ),
        "lan": GuardianFactory(
            given_name="Lan", family_name="Trần", language="vi", students=[bao],
            phone="+15125550143",
        ),
        "wei": GuardianFactory(given_name="Wei", family_name="Zhang", language="zh-Hans",
                               students=[bao]),
        "sarah": GuardianFactory(given_name="Sarah", family_name="Miller", language="en",
                                 students=[sofia]),
        "amina": GuardianFactory(given_name="Amina", family_name="Abdi", language="so",
                                 students=[sofia]),
        "omar": GuardianFactory(given_name="Omar", family_name="Haddad", language="en",
                                students=[bao], phone="+15125550199"),
        "hodan": GuardianFactory(given_name="Hodan", family_name="Warsame", language="en",
                                 students=[bao], phone=None),
    }  # fmt: skip
    session.add(
        OptOut(phone="+15125550199", sender=school.sms_sender, school_id=school.id, keyword="STOP")
    )
    session.commit()
    return made


def compose(school, **fields):
    form = {
        "school_id": str(school.id),
        "audience": "whole_school",
        "template": "",
        "body": CLOSED,
        "language": "en",
        "when": "now",
        "urgent": "1",
    }
    form.update(fields)
    return form


def hx(web, url: str, form: dict):
    """A form posted by htmx: the CSRF token in the header htmx sends."""
    headers = {"accept": "text/html", "HX-Request": "true", "X-CSRF-Token": web.csrf_token}
    return web.client.post(url, data=form, headers=headers)


def draft_field(page: str) -> str:
    return html.unescape(re.search(r'name="draft" value="([^"]*)"', page).group(1))


def test_teachers_may_not_open_office_pages(signed_in, session, school, families):
    teacher = StaffFactory(role="teacher", schools=[school])
    session.commit()
    web = signed_in(teacher)
    guardian = families["maria"]
    for url in [
        "/broadcasts",
        "/broadcasts/new",
        "/families",
        f"/families/{guardian.id}",
        "/roster",
    ]:
        page = web.get(url)
        assert page.status_code == 403, url
        assert "Only office staff or admins" in page.text
    assert hx(web, "/broadcasts/preview", compose(school)).status_code == 403
    assert web.post(f"/families/{guardian.id}", {"language": "vi"}).status_code == 403
    session.refresh(guardian)
    assert guardian.language == "es"
    # Admins pass.
    admin = StaffFactory(role="admin")
    session.commit()
    assert signed_in(admin).get("/families").status_code == 200


def test_preview_shows_each_language_segments_cost_and_who_is_missed_and_saves_nothing(
    signed_in, session, school, office, families, argos_models
):
    web = signed_in(office)
    composer = web.get("/broadcasts/new")
    assert composer.status_code == 200
    assert "The whole school (7 families)" in composer.text
    assert "ignores quiet hours" in composer.text or "would ignore quiet hours" in composer.text

    preview = hx(web, "/broadcasts/preview", compose(school))
    assert preview.status_code == 200, preview.text
    text = html.unescape(preview.text)
    assert "<html" not in text  # htmx gets the preview alone
    # Only who will get it: Omar (STOP) and Hodan (no phone) will not. Amina reads Somali (no
    # model): urgent, she gets it now, in English under one line in Somali.
    assert "5 families will get it</strong> (of 7 families chosen)" in text
    assert "La escuela está cerrada el lunes." in text  # Spanish, machine-translated
    # The back-translation, labelled once.
    assert "Back into your language: School is closed on Monday." in text
    assert "Translated back" not in text
    assert re.search(r'lang="vi">[^<]+<', text) and re.search(r'lang="zh">[^<]+<', text)
    assert "1 segment per text (GSM-7)" in text
    assert "estimated cost $" in text
    # Omar said STOP, Hodan has no phone: listed, with why, as families who will not get it.
    missed = text[text.index("Families who will not get it") :]
    assert "Opted out of texts (1)" in missed and "Omar Haddad" in missed
    assert "No way to reach them (1)" in missed and "Hodan Warsame" in missed
    assert "Amina Abdi" not in missed and "No translation into their language (" not in text
    # Amina: among those who get it, with the line she reads and the text under it.
    assert "one line in theirs asking them to call" in text  # urgent: never nothing
    helped = text[text.index("Families who get it with one line in their language") :]
    assert "1 family gets it in English, under this line in Somali (Soomaali):" in helped
    assert "Fariin muhiim ah oo ka timid" in helped and "Amina Abdi" in helped
    assert "(1)" in helped[: helped.index("Somali")]
    assert "Confirm and send" in text
    for table in ("broadcasts", "messages", "deliveries", "message_translations"):
        assert count_rows(session, table) == 0, table

    # Without htmx, the same preview comes inside the whole composer page.
    page = web.post("/broadcasts/preview", compose(school))
    assert page.status_code == 200 and "<html" in page.text and 'name="draft"' in page.text


def test_preview_of_a_notice_that_can_wait_says_who_waits_for_an_interpreter(
    signed_in, session, school, office, families, argos_models
):
    web = signed_in(office)
    text = html.unescape(hx(web, "/broadcasts/preview", compose(school, urgent="")).text)
    # Not urgent: Amina (Somali, no model) gets it once an interpreter writes it, not now.
    assert "4 families will get it</strong> (of 7 families chosen)" in text
    assert "it waits for an interpreter" in text
    waiting = text[text.index("Families who wait for an interpreter") :]
    assert "No translation into their language (1)" in waiting and "Amina Abdi" in waiting
    assert "one line in their language" not in text and "Fariin" not in text
    for table in ("broadcasts", "messages", "deliveries", "message_translations"):
        assert count_rows(session, table) == 0, table


def test_confirm_sends_exactly_the_previewed_draft_once(
    signed_in, session, school, office, families, argos_models
):
    web = signed_in(office)
    preview = web.post("/broadcasts/preview", compose(school, title="Closed Monday"))
    draft = draft_field(preview.text)
    assert CLOSED in draft

    sent = web.post("/broadcasts", {"draft": draft})
    assert sent.status_code == 303
    broadcast = session.scalars(select(Broadcast)).one()
    assert sent.headers["location"] == f"/broadcasts/{broadcast.id}?created=1"
    assert (broadcast.body, broadcast.title, broadcast.status) == (CLOSED, "Closed Monday", "sent")
    assert broadcast.author_staff_id == office.id and broadcast.recipients == 7

    statuses = dict(session.execute(select(Delivery.language, Delivery.status)).all())
    assert statuses["es"] in SENT and statuses["vi"] in SENT and statuses["zh"] in SENT
    # Urgent, no model for Somali: the English text now under one line in Somali, never the
    # English alone.
    assert statuses["so"] in SENT
    somali = session.scalar(select(Delivery.body).where(Delivery.language == "so"))
    assert somali.startswith("Fariin muhiim ah") and somali.endswith(CLOSED)
    spanish = session.scalar(select(Delivery.body).where(Delivery.language == "es"))
    assert spanish == "La escuela está cerrada el lunes. (traducción automática)"

    report = web.get(sent.headers["location"])
    assert report.status_code == 200
    assert "Closed Monday" in report.text and "Sent on its way." in report.text
    assert re.search(r"\d+ sent", report.text)
    assert "Download every delivery (CSV)" in report.text
    live = web.client.get(
        sent.headers["location"], headers={"HX-Request": "true", "HX-Target": "broadcast-live"}
    )
    assert live.text.startswith('<section id="broadcast-live"') and "<html" not in live.text
    assert "every 3s" not in live.text  # nothing is left to send: the page stops polling
    # What each language got, as sent; and "Sent" (no longer "Sending").
    got = html.unescape(live.text)
    assert "What families got, in each language" in got
    assert "La escuela está cerrada el lunes." in got and CLOSED in got
    assert ">Sent</span>" in got and ">Sending</span>" not in got
    # While a delivery is still on its way, the broadcast is "Sending", and the page polls.
    waiting = session.scalar(select(Delivery).where(Delivery.language == "es"))
    waiting.status = "queued"
    session.commit()
    live = web.client.get(
        sent.headers["location"], headers={"HX-Request": "true", "HX-Target": "broadcast-live"}
    )
    assert ">Sending</span>" in live.text and "every 3s" in live.text
    waiting.status = "delivered"
    session.commit()
    listing = web.get("/broadcasts")
    assert "Closed Monday" in listing.text and f"/broadcasts/{broadcast.id}" in listing.text

    # María answers from her phone; the report shows it, translated for the office.
    maria = families["maria"]
    web.client.post(f"/dev/phone/{maria.id}/reply", data={"body": "Muchas gracias."})
    replies = html.unescape(web.get(f"/broadcasts/{broadcast.id}").text)
    assert "María García" in replies and "Thank you very much." in replies
    assert "Original: Muchas gracias." in replies
    # Answered in María's own thread, never in the broadcast's (which reaches every family).
    answer = re.search(r'href="/threads/(\d+)">Answer this family', replies)
    assert answer is not None and int(answer.group(1)) != broadcast.thread_id
    assert f"/broadcasts/new?follow_up={broadcast.id}" in replies

    csv = web.get(f"/broadcasts/{broadcast.id}/report.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "María García" in csv.text and "+15125550142" in csv.text


def test_a_bad_schedule_or_missing_template_field_is_422_and_nothing_is_saved(
    signed_in, session, school, office, families, argos_models
):
    web = signed_in(office)
    no_time = hx(web, "/broadcasts/preview", compose(school, when="later", send_date="2030-01-10"))
    assert no_time.status_code == 422
    assert "Choose the day and the time" in no_time.text and 'role="alert"' in no_time.text
    past = hx(
        web,
        "/broadcasts/preview",
        compose(school, when="later", send_date="2020-01-10", send_time="08:00"),
    )
    assert past.status_code == 422 and "already passed" in past.text
    nonsense = hx(
        web,
        "/broadcasts/preview",
        compose(school, when="later", send_date="2030-02-31", send_time="08:00"),
    )
    assert nonsense.status_code == 422 and "is not a date" in nonsense.text

    missing = hx(
        web,
        "/broadcasts/preview",
        compose(school, template="school_closed", param_reason="snow", body=""),
    )
    assert missing.status_code == 422
    assert "&#39;date&#39; is required" in missing.text
    nobody = hx(web, "/broadcasts/preview", compose(school, audience="groups"))
    assert nobody.status_code == 422 and "Choose who gets it" in nobody.text

    # The full page keeps what was typed around the message.
    page = web.post(
        "/broadcasts/preview", compose(school, template="school_closed", param_reason="snow")
    )
    assert page.status_code == 422 and 'value="snow" selected' in page.text
    # A confirm that is not a previewed draft is refused too.
    forged = web.post("/broadcasts", {"draft": '{"school_id": 1}'})
    assert forged.status_code == 422
    assert count_rows(session, "broadcasts") == 0 and count_rows(session, "deliveries") == 0


def test_a_template_broadcast_scheduled_for_later_and_canceled(
    signed_in, session, school, office, families, argos_models
):
    web = signed_in(office)
    fields = web.get("/broadcasts/new/fields?template=event_reminder")
    assert 'name="param_event"' in fields.text and '<option value="family_night"' in fields.text
    assert 'name="param_date" type="date"' in fields.text
    assert 'name="param_time" type="time"' in fields.text
    assert "param_school_name" not in fields.text  # filled in from the school

    local = datetime.now(ZoneInfo(school.timezone)) + timedelta(days=2)
    form = compose(
        school,
        template="school_closed",
        body="",
        param_date=local.date().isoformat(),
        param_reason="snow",
        when="later",
        send_date=local.date().isoformat(),
        send_time="06:30",
    )
    preview = web.post("/broadcasts/preview", form)
    assert preview.status_code == 200, preview.text
    text = html.unescape(preview.text)
    assert "Riverside Elementary estará cerrada" in text  # the Spanish catalog, by people
    assert "Translated by people" in text and "Confirm and schedule" in text

    created = web.post("/broadcasts", {"draft": draft_field(preview.text)})
    broadcast = session.scalars(select(Broadcast)).one()
    assert broadcast.status == "scheduled" and broadcast.template == "school_closed"
    assert broadcast.scheduled_at.astimezone(ZoneInfo(school.timezone)).strftime("%H:%M") == (
        "06:30"
    )
    report = web.get(created.headers["location"])
    assert "Cancel this broadcast" in report.text and "Nothing has gone out yet." in report.text
    canceled = web.post(f"/broadcasts/{broadcast.id}/cancel")
    assert canceled.status_code == 303
    session.refresh(broadcast)
    assert broadcast.status == "canceled" and count_rows(session, "deliveries") == 0


def test_families_search_by_name_phone_email_and_student(
    signed_in, session, school, office, families
):
    web = signed_in(office)
    everyone = web.get("/families")
    assert everyone.status_code == 200 and "7 families found" in everyone.text

    def found(q: str) -> set[str]:
        page = web.get("/families", params={"q": q})
        assert page.status_code == 200
        names = re.findall(r'<a href="/families/\d+">([^<]+)</a>', html.unescape(page.text))
        return set(names)

    assert found("maría") == {"María García"}
    # Sofía García's family: her mother by name, the others through her.
    assert found("garcía") == {"María García", "Sarah Miller", "Amina Abdi"}
    assert found("sofía garcía") == {"María García", "Sarah Miller", "Amina Abdi"}
    assert found("(512) 555-0143") == {"Lan Trần"}
    assert found("5125550142") == {"María García"}
    assert found(families["wei"].email) == {"Wei Zhang"}
    assert found("Bảo") == {"Lan Trần", "Wei Zhang", "Omar Haddad", "Hodan Warsame"}
    assert found("nobody-like-this") == set()

    row = html.unescape(web.get("/families", params={"q": "Omar"}).text)
    assert "Opted out" in row
    assert "Spanish (español)" in html.unescape(everyone.text)

    # Another school's families stay out of sight.
    other = SchoolFactory()
    GuardianFactory(
        given_name="Hidden", family_name="Person", students=[StudentFactory(school=other)]
    )
    session.commit()
    assert found("Hidden") == set()


def test_families_are_paginated(signed_in, session, school, office):
    student = StudentFactory(school=school)
    for i in range(30):
        GuardianFactory(given_name=f"Parent{i:02d}", family_name="Many", students=[student])
    session.commit()
    web = signed_in(office)
    first = web.get("/families", params={"q": "Many"})
    assert "30 families found" in first.text and "Page 1 of 2" in first.text
    second = web.get("/families", params={"q": "Many", "page": 2})
    assert "Page 2 of 2" in second.text and "?q=Many&amp;page=1" in second.text
    names = [re.findall(r"(Parent\d+) Many</a>", page.text) for page in (first, second)]
    assert [len(n) for n in names] == [25, 5]
    assert sorted(names[0] + names[1]) == [f"Parent{i:02d}" for i in range(30)]


def test_editing_a_familys_language_and_channels(signed_in, session, school, office, families):
    web = signed_in(office)
    maria = families["maria"]
    maria.language_confirmed = False
    session.commit()
    page = web.get(f"/families/{maria.id}")
    assert page.status_code == 200
    assert '<option value="vi"' in page.text and '<option value="es" selected' in page.text
    assert "assumed when the family was imported" in page.text

    saved = web.post(f"/families/{maria.id}", {"language": "vi", "channels": ["sms", "email"]})
    assert saved.status_code == 303 and saved.headers["location"].endswith("?saved=1")
    session.refresh(maria)
    assert maria.language == "vi" and maria.channels == ["sms", "email"]
    assert maria.language_confirmed and maria.channels_confirmed

    bad = web.post(f"/families/{maria.id}", {"language": "klingon", "channels": ["sms"]})
    assert bad.status_code == 422
    assert "&#39;klingon&#39; is not a language tag" in bad.text or "klingon" in bad.text
    assert 'role="alert"' in bad.text
    none = web.post(f"/families/{maria.id}", {"language": "vi"})
    assert none.status_code == 422 and "choose at least one channel" in none.text.lower()
    hodan = families["hodan"]
    no_phone = web.post(f"/families/{hodan.id}", {"language": "en", "channels": ["email", "sms"]})
    assert no_phone.status_code == 422 and "needs a phone number" in no_phone.text
    session.refresh(maria)
    session.refresh(hodan)
    assert maria.language == "vi" and maria.channels == ["sms", "email"]
    assert hodan.channels == ["sms"]


def test_an_opt_out_is_shown_but_cannot_be_undone_here(
    signed_in, session, school, office, families
):
    web = signed_in(office)
    omar = families["omar"]
    page = web.get(f"/families/{omar.id}")
    text = html.unescape(page.text)
    assert "replied STOP to Riverside Elementary's number" in text
    assert "texting START to +15125550100" in text
    form = text[text.index('<form method="post" action="/families/') :]
    fields = set(re.findall(r'name="([^"]+)"', form.split("</form>")[0]))
    assert fields == {"csrf_token", "language", "channels"}  # nothing to undo an opt-out with
    web.post(f"/families/{omar.id}", {"language": "en", "channels": ["sms"], "opted_out": "0"})
    optout = session.scalars(select(OptOut).where(OptOut.phone == omar.phone)).one()
    assert optout.active


def test_roster_upload_of_a_guardian_csv_shows_its_report(signed_in, session, school, office):
    StudentFactory(school=school, external_id="S-1")
    session.commit()
    web = signed_in(office)
    page = web.get("/roster")
    assert page.status_code == 200
    assert "only a district administrator can import it" in page.text  # office: no OneRoster
    csv = (
        "student_id,given_name,family_name,phone,email,language,relationship\n"
        "S-1,Rosa,Ortiz,(512) 555-0180,,Spanish,mother\n"
        "S-404,No,Body,,,,\n"
    )

    def upload(data: str, dry_run: bool):
        form = {"school_id": str(school.id)} | ({"dry_run": "1"} if dry_run else {})
        return web.post(
            "/roster/guardian-imports", form, files={"file": ("families.csv", data, "text/csv")}
        )

    dry = upload(csv, dry_run=True)
    assert dry.status_code == 303
    report = web.get(dry.headers["location"])
    assert "Dry run: this is what would change. Nothing was saved." in report.text
    assert session.scalar(select(Guardian).where(Guardian.family_name == "Ortiz")) is None

    done = upload(csv, dry_run=False)
    job = session.get(RosterImport, int(done.headers["location"].rsplit("/", 1)[1]))
    assert job.status == "succeeded"
    text = html.unescape(web.get(done.headers["location"]).text)
    families_row = re.search(r"<th scope=\"row\">Families</th>(.*?)</tr>", text, re.S).group(1)
    assert re.findall(r">(\d+)<", families_row) == ["1", "0", "0", "0", "1"]
    assert "1 row refused" in text
    assert "families.csv" in text and ">3<" in text and "no student of Riverside Elementary" in text
    rosa = session.scalar(select(Guardian).where(Guardian.family_name == "Ortiz"))
    assert rosa.phone == "+15125550180" and rosa.language == "es"

    listing = web.get("/roster")
    assert f'href="/roster/imports/{job.id}"' in listing.text

    missing = upload("student_id,phone\nS-1,5125550180\n", dry_run=False)
    assert missing.status_code == 422 and "no &#39;given_name&#39; column" in missing.text
    assert count_rows(session, "roster_imports") == 2
    no_file = web.post("/roster/guardian-imports", {"school_id": str(school.id)})
    assert no_file.status_code == 422 and "Choose a file to upload." in no_file.text


def test_an_admin_uploads_a_oneroster_export_larger_than_other_requests(
    signed_in, session, tmp_path
):
    admin = StaffFactory(role="admin")
    session.commit()
    web = signed_in(admin)
    assert 'action="/roster/imports"' in web.get("/roster").text
    bad = web.post(
        "/roster/imports",
        {"dry_run": "1"},
        files={"file": ("x.zip", b"not a zip", "application/zip")},
    )
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    assert count_rows(session, "roster_imports") == 0

    # 1.5 MB, over the 1 MB limit of other requests, like a real district's export.
    padding = random.Random(7).randbytes(1_500_000)
    export = zip_folder(sample("1.1", tmp_path), extra={"README.bin": padding})
    uploaded = web.post(
        "/roster/imports",
        {"dry_run": "1", "mode": "bulk"},
        files={"file": ("district.zip", export, "application/zip")},
    )
    assert uploaded.status_code == 303, uploaded.text
    report = html.unescape(web.get(uploaded.headers["location"]).text)
    assert "Done" in report and "Nothing was saved." in report
    assert re.search(r'<th scope="row">Students</th>\s*<td class="num">[1-9]', report)
    assert count_rows(session, "students") == 0


def test_office_pages_render_for_a_spanish_speaking_office(signed_in, session, school, families):
    office = StaffFactory(role="office", schools=[school], ui_language="es")
    session.commit()
    web = signed_in(office)
    for url in ["/broadcasts", "/broadcasts/new", "/families", "/roster"]:
        page = web.get(url)
        assert page.status_code == 200, url
        assert '<html lang="es">' in page.text
    # Language names in the page's language, then in their own.
    assert "vietnamita (Tiếng Việt)" in html.unescape(web.get("/families").text)


def test_ticking_a_grade_chooses_it_and_the_headline_counts_who_will_get_it(
    signed_in, session, school, office, families, argos_models
):
    web = signed_in(office)
    composer = web.get("/broadcasts/new").text
    # On the page, ticking a grade or class moves the radio to "only the ones ticked".
    assert "getElementById('audience-groups').checked = true" in html.unescape(composer)
    # Posted with the radio left on "the whole school", the ticked grade still decides: grade
    # 3 is Sofía's family, of whom Amina (Somali, no translation) will not get it before an
    # interpreter writes it (not urgent).
    preview = hx(web, "/broadcasts/preview", compose(school, grades="3", urgent=""))
    assert preview.status_code == 200, preview.text
    text = html.unescape(preview.text)
    assert "2 families will get it</strong> (of 3 families chosen)" in text
    assert "Amina Abdi" in text and "Omar Haddad" not in text


def test_a_spanish_speaking_office_writing_english_sends_it_as_english(
    signed_in, session, school, office, families, argos_models
):
    """The pages' language is not the text's: "Language you write in" starts as detected from
    the text, the preview says which language it was read as, and the draft it sends says so."""
    office.ui_language = "es"
    session.commit()
    web = signed_in(office)
    page = web.get(f"/broadcasts/new?school_id={school.id}")
    assert '<option value="" selected>Detectado en el texto</option>' in page.text
    preview = web.post("/broadcasts/preview", compose(school, language=""))
    said = preview.text.split('id="written-in">')[1].split("</p>")[0]
    assert said.startswith("Leído como escrito en inglés") and "(detectado en el texto)" in said
    assert '"language":"en"' in draft_field(preview.text)
    written_es = hx(
        web, "/broadcasts/preview", compose(school, body="Mañana no hay clases.", language="")
    )
    assert '"language":"es"' in draft_field(written_es.text)

    sent = web.post("/broadcasts", {"draft": draft_field(preview.text)})
    assert sent.status_code == 303
    broadcast = session.scalars(select(Broadcast)).one()
    assert broadcast.language == "en"
    sarah = session.scalars(
        select(Delivery).where(Delivery.guardian_id == families["sarah"].id)
    ).first()
    assert CLOSED in sarah.body
