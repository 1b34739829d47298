"""The teacher pages: inbox order, a thread with its translations and deliveries, composing a
note with a live translated preview, warnings, sending, and who may see what."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.auth.service import load_staff, subject_for_staff
from app.core.db import utcnow
from app.delivery.models import Delivery, OptOut
from app.messaging import replies
from app.messaging import service as messaging
from app.messaging.models import Message, Thread
from app.messaging.schemas import MessageCreate, ThreadCreate
from app.schools.models import School
from tests.conftest import count_rows
from tests.factories import SENDER, GuardianFactory

NOTE = "The field trip is on Friday."
NOTE_ES = "La excursión es el viernes."
NOTE_VI = "Chuyến đi dã ngoại là vào thứ Sáu."
NOTE_ZH = "郊游安排在星期五。"
HTMX = {"hx-request": "true"}
# Everything a note can write: a preview must leave every one of these as it was.
WRITTEN_TABLES = (
    "threads",
    "thread_guardians",
    "messages",
    "message_translations",
    "deliveries",
    "translation_cache",
    "audit_events",
)


@pytest.fixture
def classroom(classroom, session):
    """The shared classroom (tests/scenes.py), with Mateo's families in every case a note
    meets: Lan reads email too; Wei reads Chinese; no Arabic model is installed, so Fatima's
    family needs an interpreter; Rosa has no way to be reached; Pedro texted STOP."""
    mateo = classroom.mateo
    classroom.lan.channels = ["sms", "email"]
    guardians = {
        "es": classroom.marisol,
        "vi": classroom.lan,
        "zh": GuardianFactory(students=[mateo], language="zh-Hans", given_name="Wei"),
        "ar": GuardianFactory(students=[mateo], language="ar", given_name="Fatima"),
        "none": GuardianFactory(students=[mateo], language="es", given_name="Rosa", channels=[]),
        "stop": GuardianFactory(students=[mateo], language="es", given_name="Pedro"),
    }
    session.add(OptOut(phone=guardians["stop"].phone, sender=SENDER, school_id=classroom.school.id))
    session.commit()
    return {
        "school": classroom.school,
        "teacher": classroom.teacher,
        "student": mateo,
        "other": classroom.colleague,
        "other_student": classroom.hao,
        "other_guardian": classroom.wei,
        **guardians,
    }


def _subject(session, staff):
    return subject_for_staff(load_staff(session, staff.id), frozenset({"read", "write", "send"}))


def _note(session, staff, student, guardians, body=NOTE, subject="Field trip"):
    who = _subject(session, staff)
    thread = messaging.create_thread(
        session,
        who,
        ThreadCreate(
            student_id=student.id, guardian_ids=[g.id for g in guardians], subject=subject
        ),
    )
    messaging.post_message(session, who, thread.id, MessageCreate(body=body))
    session.commit()
    return thread


def _reply(session, thread, guardian, body="Muchas gracias."):
    school = session.get(School, thread.school_id)
    thread = session.get(Thread, thread.id)
    message, _ = replies.add_reply(session, thread, school, guardian, body)
    session.commit()
    return message


def _rows_written(session) -> dict[str, int]:
    return {table: count_rows(session, table) for table in WRITTEN_TABLES}


# Inbox -------------------------------------------------------------------------------------


def test_inbox_lists_unanswered_replies_first_with_family_language_and_status(
    session, signed_in, classroom
):
    c = classroom
    older = _note(session, c["teacher"], c["student"], [c["es"]], subject="Older")
    replied = _note(session, c["teacher"], c["student"], [c["es"]], subject="Replied")
    _reply(session, replied, c["es"])
    newest = _note(session, c["teacher"], c["student"], [c["vi"]], subject="Newest")
    now = utcnow()
    for thread, hours in ((older, 3), (replied, 2), (newest, 1)):
        session.get(Thread, thread.id).last_activity_at = now - timedelta(hours=hours)
    session.commit()

    page = signed_in(c["teacher"]).get("/inbox")
    assert page.status_code == 200
    order = [int(i) for i in re.findall(r'<tr id="thread-(\d+)"', page.text)]
    # The reply nobody answered comes first, though another thread is more recent.
    assert order == [replied.id, newest.id, older.id]
    row = page.text.split(f'id="thread-{replied.id}"')[1].split("</tr>")[0]
    assert "New reply" in row
    assert "Thank you very much." in row  # the family's reply, translated for the teacher
    assert "Mateo Ruiz" in row and "Marisol" in row and "Spanish" in row
    newest_row = page.text.split(f'id="thread-{newest.id}"')[1].split("</tr>")[0]
    assert "New reply" not in newest_row
    assert "Vietnamese" in newest_row and "Delivered" in newest_row and NOTE in newest_row

    # Once the teacher answers, the thread is no longer waiting.
    who = _subject(session, c["teacher"])
    messaging.post_message(session, who, replied.id, MessageCreate(body="Thank you."))
    again = signed_in(c["teacher"]).get("/inbox")
    row = again.text.split(f'id="thread-{replied.id}"')[1].split("</tr>")[0]
    assert "New reply" not in row


def test_inbox_pages_after_the_first_twenty_five(session, signed_in, classroom):
    c = classroom
    for n in range(26):
        session.add(
            Thread(
                school_id=c["school"].id,
                owner_staff_id=c["teacher"].id,
                student_id=c["student"].id,
                subject=f"Thread {n}",
                last_activity_at=utcnow() - timedelta(minutes=n),
            )
        )
    session.commit()
    web = signed_in(c["teacher"])
    first = web.get("/inbox")
    assert first.text.count('<tr id="thread-') == 25
    assert 'href="/inbox?page=2"' in first.text
    second = web.get("/inbox?page=2")
    assert second.text.count('<tr id="thread-') == 1 and "Thread 25" in second.text


# Thread ------------------------------------------------------------------------------------


def test_thread_shows_originals_translations_and_each_delivery(session, signed_in, classroom):
    c = classroom
    thread = _note(session, c["teacher"], c["student"], [c["es"], c["vi"], c["ar"], c["stop"]])
    _reply(session, thread, c["es"])

    page = signed_in(c["teacher"]).get(f"/threads/{thread.id}")
    assert page.status_code == 200
    text = page.text
    # Outbound: the teacher's words and each language's translation.
    assert NOTE in text and NOTE_ES in text and NOTE_VI in text
    # Arabic: no model, so the note waits for an interpreter (its translation and delivery).
    assert text.count("Waiting for an interpreter") >= 2
    # Who it went to, per channel, with status and reason.
    assert "Marisol" in text and "Lan" in text
    assert "Delivered" in text
    assert "Text message" in text and "Email" in text
    assert "Opted out (replied STOP)" in text
    # Inbound: the family's original, the translation, the detected language.
    assert "Muchas gracias." in text and "Thank you very much." in text
    assert "Translated from Spanish (detected)" in text
    assert 'name="csrf_token"' in text and f'action="/threads/{thread.id}/reply"' in text


def test_a_poll_that_finds_nothing_new_swaps_nothing(session, signed_in, classroom):
    """The page polls its messages: while they are what it shows, the answer is 204 (htmx
    swaps nothing, so keyboard focus and opened sections stay); a new reply swaps them."""
    c = classroom
    thread = _note(session, c["teacher"], c["student"], [c["es"]])
    web = signed_in(c["teacher"])
    page = web.get(f"/threads/{thread.id}").text
    shown = re.search(r"hx-vals='\{\"shown\": \"([0-9a-f]+)\"\}'", page)
    assert shown is not None, "the page carries the digest of its messages"
    poll = f"/threads/{thread.id}/messages"

    same = web.get(f"{poll}?shown={shown.group(1)}")
    assert same.status_code == 204 and same.text == ""
    unknown = web.get(f"{poll}?shown=0123")
    assert unknown.status_code == 200 and f'"shown": "{shown.group(1)}"' in unknown.text

    _reply(session, thread, c["es"])
    changed = web.get(f"{poll}?shown={shown.group(1)}")
    assert changed.status_code == 200 and "Muchas gracias." in changed.text
    assert f'"shown": "{shown.group(1)}"' not in changed.text


def test_reply_from_the_thread_page_sends_through_the_messaging_service(
    session, signed_in, classroom
):
    c = classroom
    thread = _note(session, c["teacher"], c["student"], [c["es"]])
    web = signed_in(c["teacher"])
    before = _rows_written(session)
    preview = web.client.post(
        f"/threads/{thread.id}/preview",
        data={"csrf_token": web.csrf_token, "body": "Thank you."},
        headers=HTMX,
    )
    assert preview.status_code == 200
    assert 'data-language="es"' in preview.text and "Gracias." in preview.text
    assert _rows_written(session) == before

    response = web.post(f"/threads/{thread.id}/reply", {"body": "Thank you."})
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/threads/{thread.id}#m")
    message = session.scalars(
        select(Message).where(Message.thread_id == thread.id).order_by(Message.id.desc())
    ).first()
    assert message.body == "Thank you." and message.direction == "outbound"
    delivery = session.scalar(select(Delivery).where(Delivery.message_id == message.id))
    assert "Gracias." in delivery.body and delivery.status == "delivered"

    empty = web.post(f"/threads/{thread.id}/reply", {"body": "   "})
    assert empty.status_code == 422 and "Write the note first." in empty.text


def test_another_teachers_thread_is_not_found_and_their_student_is_not_offered(
    session, signed_in, classroom
):
    c = classroom
    theirs = _note(session, c["other"], c["other_student"], [c["other_guardian"]])
    web = signed_in(c["teacher"])
    assert web.get(f"/threads/{theirs.id}").status_code == 404
    assert web.get("/threads/999999999999").status_code == 404
    assert web.get("/threads/abc").status_code == 404
    before = count_rows(session, "messages")
    reply = web.post(f"/threads/{theirs.id}/reply", {"body": "Hello"})
    assert reply.status_code == 404 and count_rows(session, "messages") == before
    # Not in the inbox, not in the student search, and not composable by id.
    assert f"thread-{theirs.id}" not in web.get("/inbox").text
    search = web.get("/compose/students?q=Zhang")
    assert "Hao Zhang" not in search.text
    everyone = web.get("/compose")
    assert "Mateo Ruiz" in everyone.text and "Hao Zhang" not in everyone.text
    assert web.get(f"/compose?student_id={c['other_student'].id}").status_code == 404
    # The owner sees it.
    assert signed_in(c["other"]).get(f"/threads/{theirs.id}").status_code == 200


# Compose -----------------------------------------------------------------------------------


def test_student_search_finds_the_teachers_own_students(session, signed_in, classroom):
    web = signed_in(classroom["teacher"])
    found = web.client.get("/compose/students?q=ruiz", headers=HTMX)
    assert found.status_code == 200
    assert f'href="/compose?student_id={classroom["student"].id}"' in found.text
    assert "<html" not in found.text  # a fragment for htmx
    none = web.client.get("/compose/students?q=nobody", headers=HTMX)
    assert "No student of yours matches" in none.text


def test_preview_shows_each_language_and_its_back_translation_and_saves_nothing(
    session, signed_in, classroom
):
    c = classroom
    web = signed_in(c["teacher"])
    before = _rows_written(session)
    response = web.client.post(
        "/compose/preview",
        data={
            "csrf_token": web.csrf_token,
            "student_id": c["student"].id,
            "guardian_ids": [c["es"].id, c["vi"].id, c["zh"].id],
            "body": NOTE,
        },
        headers=HTMX,
    )
    assert response.status_code == 200, response.text
    sections = dict(
        re.findall(r'data-language="(\w+)".*?>(.*?)</section>', response.text, flags=re.S)
    )
    assert set(sections) == {"es", "vi", "zh"}
    assert NOTE_ES in sections["es"] and NOTE_VI in sections["vi"] and NOTE_ZH in sections["zh"]
    for code, html in sections.items():
        # Each translation read back in the teacher's language, to check the meaning.
        assert "Back into English" in html, code
        back = re.search(r'<span lang="en">(.*?)</span>', html).group(1)
        assert "field trip" in back.lower(), (code, back)
    assert "Marisol" in sections["es"]
    assert _rows_written(session) == before


def test_preview_without_javascript_returns_the_whole_page_with_the_preview(
    session, signed_in, classroom
):
    c = classroom
    web = signed_in(c["teacher"])
    page = web.post(
        "/compose/preview",
        {"student_id": c["student"].id, "guardian_ids": [c["es"].id], "body": NOTE},
    )
    assert page.status_code == 200
    assert "<html" in page.text and NOTE_ES in page.text and f">{NOTE}</textarea>" in page.text


def test_preview_refuses_a_note_that_is_too_long_with_a_message(session, signed_in, classroom):
    c = classroom
    web = signed_in(c["teacher"])
    response = web.client.post(
        "/compose/preview",
        data={
            "csrf_token": web.csrf_token,
            "student_id": c["student"].id,
            "guardian_ids": [c["es"].id],
            "body": "x" * 1700,
        },
        headers=HTMX,
    )
    assert response.status_code == 422
    assert 'role="alert"' in response.text and "longer than 1600 characters" in response.text


def test_compose_warns_about_no_route_no_channel_and_opt_out(session, signed_in, classroom):
    c = classroom
    page = signed_in(c["teacher"]).get(f"/compose?student_id={c['student'].id}")
    assert page.status_code == 200
    text = page.text
    warnings = text.split('id="warnings-heading"')[1].split("</section>")[0]
    assert "Fatima" in warnings and "needs an interpreter" in warnings
    # As it happens: the note waits for an interpreter; it is not dropped.
    assert "waits for an interpreter" in warnings and "will not be sent" not in warnings
    assert "Rosa" in warnings and "no way to be reached" in warnings
    assert "Pedro" in warnings and "opted out of text messages" in warnings
    assert "Marisol" not in warnings and "Lan" not in warnings
    # Next to each guardian: language, channels, opt-out.
    pedro = text.split(f'id="guardian-{c["stop"].id}"')[1].split('class="guardian')[0]
    assert "opted out (replied STOP)" in pedro and "Spanish" in pedro
    fatima = text.split(f'id="guardian-{c["ar"].id}"')[1].split('class="guardian')[0]
    assert "Needs interpreter" in fatima and "Arabic" in fatima
    lan = text.split(f'id="guardian-{c["vi"].id}"')[1].split('class="guardian')[0]
    assert "Vietnamese" in lan and "Text message" in lan and "Email" in lan


def test_preview_says_which_language_needs_an_interpreter(session, signed_in, classroom):
    c = classroom
    web = signed_in(c["teacher"])
    response = web.client.post(
        "/compose/preview",
        data={
            "csrf_token": web.csrf_token,
            "student_id": c["student"].id,
            "guardian_ids": [c["ar"].id],
            "body": NOTE,
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert 'data-language="ar"' in response.text and "Needs an interpreter" in response.text
    assert "once an interpreter has written it" in response.text
    assert "will not get the note" not in response.text


def test_send_creates_the_thread_message_and_deliveries(session, signed_in, classroom):
    c = classroom
    web = signed_in(c["teacher"])
    response = web.post(
        "/compose",
        {
            "student_id": c["student"].id,
            "guardian_ids": [c["es"].id, c["vi"].id],
            "subject": "Field trip",
            "body": NOTE,
        },
    )
    assert response.status_code == 303
    thread_id = int(re.fullmatch(r"/threads/(\d+)", response.headers["location"]).group(1))
    thread = session.get(Thread, thread_id)
    assert thread.owner_staff_id == c["teacher"].id and thread.student_id == c["student"].id
    message = session.scalar(select(Message).where(Message.thread_id == thread_id))
    assert message.body == NOTE and message.language == "en"
    deliveries = {
        (d.guardian_id, d.channel): d
        for d in session.scalars(select(Delivery).where(Delivery.message_id == message.id))
    }
    assert set(deliveries) == {(c["es"].id, "sms"), (c["vi"].id, "sms"), (c["vi"].id, "email")}
    assert NOTE_ES in deliveries[(c["es"].id, "sms")].body
    assert NOTE_VI in deliveries[(c["vi"].id, "email")].body
    page = web.get(response.headers["location"])
    assert page.status_code == 200 and NOTE_ES in page.text


def test_send_refuses_an_empty_note_or_no_guardian_and_saves_nothing(session, signed_in, classroom):
    c = classroom
    web = signed_in(c["teacher"])
    before = count_rows(session, "threads")
    empty = web.post(
        "/compose", {"student_id": c["student"].id, "guardian_ids": [c["es"].id], "body": ""}
    )
    assert empty.status_code == 422 and "Write the note first." in empty.text
    nobody = web.post("/compose", {"student_id": c["student"].id, "body": NOTE})
    assert nobody.status_code == 422 and "Choose at least one guardian." in nobody.text
    assert f">{NOTE}</textarea>" in nobody.text  # what the teacher wrote is kept
    stranger = web.post(
        "/compose",
        {"student_id": c["student"].id, "guardian_ids": [c["other_guardian"].id], "body": NOTE},
    )
    assert stranger.status_code == 422
    assert count_rows(session, "threads") == before


def test_send_without_the_csrf_token_is_forbidden(session, signed_in, classroom):
    c = classroom
    web = signed_in(c["teacher"])
    before = count_rows(session, "threads")
    response = web.post(
        "/compose",
        {"student_id": c["student"].id, "guardian_ids": [c["es"].id], "body": NOTE},
        csrf=False,
    )
    assert response.status_code == 403
    assert count_rows(session, "threads") == before


def test_a_template_writes_the_note_in_the_teachers_language(session, signed_in, classroom):
    c = classroom
    web = signed_in(c["teacher"])
    fields = web.client.post(
        "/compose/template-fields",
        data={
            "csrf_token": web.csrf_token,
            "student_id": c["student"].id,
            "template": "absence_notice",
        },
        headers=HTMX,
    )
    assert fields.status_code == 200
    assert 'name="param_date"' in fields.text and 'value="Mateo"' in fields.text
    filled = web.client.post(
        "/compose/template",
        data={
            "csrf_token": web.csrf_token,
            "student_id": c["student"].id,
            "template": "absence_notice",
            "param_school_name": "Riverside Elementary",
            "param_student_name": "Mateo",
            "param_date": "2026-12-03",
        },
        headers=HTMX,
    )
    assert filled.status_code == 200
    assert "Mateo was absent from school on" in filled.text
    # The preview reads the note once it is in the form (after the swap), not before.
    assert filled.headers["hx-trigger-after-swap"] == "refresh-preview"
    bad = web.client.post(
        "/compose/template",
        data={
            "csrf_token": web.csrf_token,
            "student_id": c["student"].id,
            "template": "absence_notice",
            "param_date": "someday",
            "body": "kept",
        },
        headers=HTMX,
    )
    assert bad.status_code == 422 and 'role="alert"' in bad.text and "date" in bad.text
    assert ">kept</textarea>" in bad.text


def test_pages_come_in_the_staff_members_language(session, signed_in, classroom):
    c = classroom
    c["teacher"].ui_language = "es"
    session.commit()
    web = signed_in(c["teacher"])
    for url in ("/inbox", "/compose", f"/compose?student_id={c['student'].id}"):
        page = web.get(url)
        assert page.status_code == 200
        assert '<html lang="es">' in page.text, url
    # Family languages are named in Spanish too.
    assert "vietnamita" in web.get(f"/compose?student_id={c['student'].id}").text.lower()
    # An address no page has: the staff member's language still, whatever the browser says.
    missing = web.client.get(
        "/no-such-page", headers={"Accept": "text/html", "Accept-Language": "en-US"}
    )
    assert missing.status_code == 404 and '<html lang="es">' in missing.text
    assert "Aquí no hay nada" in missing.text
    web.client.cookies.clear()
    stranger = web.client.get(
        "/no-such-page", headers={"Accept": "text/html", "Accept-Language": "en-US"}
    )
    assert '<html lang="en">' in stranger.text


def test_pages_need_a_signed_in_staff_member(client):
    for url in ("/inbox", "/compose", "/threads/1"):
        response = client.get(url, headers={"accept": "text/html"}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/sign-in")


@pytest.mark.parametrize("failure", ["refused", "crash"])
def test_a_failure_midway_through_compose_leaves_no_thread_behind(
    session, signed_in, classroom, monkeypatch, failure
):
    from app.core.errors import Invalid
    from app.delivery import service as delivery_service

    c = classroom
    web = signed_in(c["teacher"])
    before = _rows_written(session)
    audits = count_rows(session, "audit_events")

    def planning_fails(*args, **kwargs):
        # The thread and the message are flushed by now: this is half-way.
        assert count_rows(session, "threads") == before["threads"] + 1
        raise Invalid("No outbox today.") if failure == "refused" else RuntimeError("boom")

    monkeypatch.setattr(delivery_service, "plan_many", planning_fails)
    response = web.post(
        "/compose",
        {"student_id": c["student"].id, "guardian_ids": [c["es"].id], "body": NOTE},
    )
    assert response.status_code == (422 if failure == "refused" else 500)
    assert _rows_written(session) == before
    assert count_rows(session, "audit_events") == audits


def _template_form(web, c, **extra):
    return {
        "csrf_token": web.csrf_token,
        "student_id": c["student"].id,
        "guardian_ids": [c["es"].id, c["vi"].id],
        "template": "absence_notice",
        "param_school_name": "Riverside Elementary",
        "param_student_name": "Mateo",
        "param_date": "2026-12-03",
        **extra,
    }


def test_a_template_note_goes_out_in_the_human_catalogs_words_like_a_broadcast(
    session, signed_in, classroom
):
    from app.broadcasts import service as broadcasts
    from app.broadcasts.schemas import Audience, BroadcastDraft
    from app.messaging.models import MessageTranslation
    from app.notices import service as notices

    c = classroom
    web = signed_in(c["teacher"])
    params = {"school_name": "Riverside Elementary", "student_name": "Mateo", "date": "2026-12-03"}
    english = notices.render("absence_notice", params, "en", "en").text
    spanish = notices.render("absence_notice", params, "es", "en")
    assert spanish.source == "human"  # Hearth ships the Spanish catalog of this notice
    # What a broadcast of the same template sends in Spanish: the same words.
    draft = BroadcastDraft(
        school_id=c["school"].id,
        audience=Audience(whole_school=True),
        template="absence_notice",
        params=params,
    )
    as_broadcast = broadcasts.render(session, draft, "en", {"es"}, c["school"])["es"]
    assert as_broadcast.source == "human" and as_broadcast.text == spanish.text

    preview = web.client.post(
        "/compose/preview", data=_template_form(web, c, body=english), headers=HTMX
    )
    assert preview.status_code == 200
    section = preview.text.split('data-language="es"')[1].split("</section>")[0]
    assert spanish.text in section and "not a machine" in section

    sent = web.post("/compose", _template_form(web, c, body=english))
    assert sent.status_code == 303, sent.text[:500]
    message = session.scalar(select(Message).order_by(Message.id.desc()))
    rows = {
        t.language: t
        for t in session.scalars(
            select(MessageTranslation).where(MessageTranslation.message_id == message.id)
        )
    }
    assert rows["es"].text == spanish.text and rows["es"].engine == "catalog"
    delivery = session.scalar(
        select(Delivery).where(Delivery.message_id == message.id, Delivery.language == "es")
    )
    assert spanish.text in delivery.body  # under who wrote it

    # Changed by the teacher, the note is theirs: machine-translated, no catalog claimed.
    edited = web.post("/compose", _template_form(web, c, body=english + " He had a fever."))
    assert edited.status_code == 303
    message = session.scalar(select(Message).order_by(Message.id.desc()))
    es = session.scalar(
        select(MessageTranslation).where(
            MessageTranslation.message_id == message.id, MessageTranslation.language == "es"
        )
    )
    assert es.engine != "catalog"


def test_a_spanish_speaking_teacher_writes_in_english_or_spanish_and_each_is_read_as_such(
    session, signed_in, classroom
):
    """The pages' language is not the note's: a note is read in the language its text is in,
    which the page and the preview say, and the teacher may choose another."""
    c = classroom
    c["teacher"].ui_language = "es"
    session.commit()
    web = signed_in(c["teacher"])
    form = {"student_id": c["student"].id, "guardian_ids": [c["es"].id, c["vi"].id]}

    def preview(body, language=""):
        return web.client.post(
            "/compose/preview",
            data={"csrf_token": web.csrf_token, **form, "body": body, "language": language},
            headers=HTMX,
        )

    english = preview(NOTE)
    assert english.status_code == 200, english.text
    assert "leído como escrito en inglés (detectado en el texto)" in english.text.lower()
    spanish_section = english.text.split('data-language="es"')[1].split("</section>")[0]
    assert NOTE_ES in spanish_section and "El mismo idioma de su nota" not in spanish_section
    written_es = preview(NOTE_ES)
    section = written_es.text.split('data-language="es"')[1].split("</section>")[0]
    assert (
        "en español (detectado" in written_es.text.lower()
        and "El mismo idioma de su nota" in section
    )
    # Chosen: read as chosen, whatever the text looks like.
    chosen = preview(NOTE, "es")
    assert "leído como escrito en español, como eligió." in chosen.text.lower()
    # The page without JavaScript names the detected language in its "Written in" select.
    page = web.post("/compose/preview", {**form, "body": NOTE})
    assert '<option value="" selected>inglés (detectado en el texto)</option>' in page.text.lower()

    for body, language in ((NOTE, "en"), (NOTE_ES, "es")):
        sent = web.post("/compose", {**form, "subject": "Excursión", "body": body})
        assert sent.status_code == 303, sent.text
        thread_id = int(sent.headers["location"].rsplit("/", 1)[1])
        message = session.scalar(select(Message).where(Message.thread_id == thread_id))
        assert message.language == language
        to_es = session.scalar(
            select(Delivery).where(
                Delivery.message_id == message.id, Delivery.guardian_id == c["es"].id
            )
        )
        assert NOTE_ES in to_es.body


def test_a_reply_is_read_in_the_language_it_is_written_in(session, signed_in, classroom):
    c = classroom
    c["teacher"].ui_language = "es"
    session.commit()
    thread = _note(session, c["teacher"], c["student"], [c["es"]], body=NOTE_ES)
    web = signed_in(c["teacher"])
    page = web.get(f"/threads/{thread.id}")
    assert 'name="language"' in page.text
    preview = web.client.post(
        f"/threads/{thread.id}/preview",
        data={"csrf_token": web.csrf_token, "body": NOTE, "language": ""},
        headers=HTMX,
    )
    assert "en inglés (detectado" in preview.text.lower() and NOTE_ES in preview.text
    sent = web.post(f"/threads/{thread.id}/reply", {"body": NOTE})
    assert sent.status_code == 303
    message = session.scalar(
        select(Message).where(Message.thread_id == thread.id).order_by(Message.id.desc())
    )
    assert message.body == NOTE and message.language == "en"
