# ruff: noqa: F401, F811  (fixtures shared with the two-way tests)
"""The family page (/f/<token>): a guardian's secure link opens its conversation with the
school in its language, and only its own; a reply written there is routed and translated for
staff exactly like a text; staff see "Seen"; texts carry the link as the school says, and the
preview counts the very segments the phone gets."""

import html
import re
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.channels.segments import count_segments
from app.core.config import get_settings
from app.core.db import utcnow
from app.delivery.models import Delivery
from app.messaging import family_links
from app.messaging.models import FamilyLink, Message, MessageSeen, MessageTranslation, Thread
from tests.delivery.test_reply_routing import classroom, neighbour, office, send_broadcast
from tests.delivery.test_two_way import SENDER, post_note
from tests.factories import GuardianFactory
from tests.web.conftest import signed_in

LONG = (
    "Dear families, our school picnic is on Saturday at the park by the river. Please bring a "
    "hat, water and sunscreen. Lunch is provided for every child. Parents are welcome to stay "
    "and play games with us. If it rains, the picnic moves to the gym. Thank you for coming! "
    "Children who ride the bus will be home at the usual time, and the office is open all day."
)


def link_for(client, auth, guardian, staff=None) -> str:
    response = client.post(
        f"/api/v1/guardians/{guardian.id}/family-link", headers=auth("read,write", staff=staff)
    )
    assert response.status_code == 201, response.text
    url = response.json()["url"]
    assert url.startswith(get_settings().public_url.rstrip("/") + "/f/")
    return "/f/" + url.rsplit("/f/", 1)[1]


def form_secret(page_html: str) -> str:
    found = re.search(r'name="form_secret" value="([^"]+)"', page_html)
    assert found, page_html
    return found.group(1)


def reply_from_page(client, path: str, body: str):
    page = client.get(path)
    assert page.status_code == 200
    return client.post(
        path, data={"body": body, "form_secret": form_secret(page.text)}, follow_redirects=False
    )


# Tokens ----------------------------------------------------------------------------------------


def test_a_link_is_unguessable_bound_to_one_family_and_stored_only_as_a_hash(
    client, auth, session, classroom, office
):
    c = classroom
    first = link_for(client, auth, c.marisol, office)
    second = link_for(client, auth, c.lan, office)
    again = link_for(client, auth, c.marisol, office)
    tokens = {p.removeprefix("/f/") for p in (first, second, again)}
    assert len(tokens) == 3  # never reused, never shared across families
    assert all(len(t) >= 43 for t in tokens)  # 256 bits
    rows = list(session.scalars(select(FamilyLink).execution_options(populate_existing=True)))
    stored = {r.token_hash for r in rows}
    assert not tokens & stored and all(len(h) == 64 for h in stored)
    assert {r.guardian_id for r in rows} == {c.marisol.id, c.lan.id}
    page = client.get(first)
    assert page.status_code == 200
    assert 'lang="es"' in page.text and 'dir="ltr"' in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "noindex" in page.headers["x-robots-tag"]
    assert page.headers["cache-control"] == "no-store"
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'nonce-" in policy
    nonce = re.search(r"script-src 'nonce-([^']+)'", policy).group(1)
    assert f'<script nonce="{nonce}">' in page.text
    assert not re.search(r'(src|href)="(https?:)?//', page.text)  # nothing from elsewhere
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "family_link.create")
    ).all()
    assert len(events) == 3


def test_tampered_expired_revoked_or_rehomed_tokens_get_the_same_bare_404(
    client, auth, session, classroom, office
):
    c = classroom
    path = link_for(client, auth, c.marisol, office)
    assert client.get(path).status_code == 200
    tampered = path[:-1] + ("A" if path[-1] != "A" else "B")
    for bad in (tampered, "/f/" + "x" * 43, "/f/%00", "/f/" + "é" * 10, "/f/" + "a" * 500):
        response = client.get(bad)
        assert response.status_code == 404
        assert response.text == "Not Found", bad
    # Expired
    link = session.scalars(select(FamilyLink)).one()
    link.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert client.get(path).text == "Not Found"
    # Revoked by staff (API), audited
    path = link_for(client, auth, c.marisol, office)
    assert client.get(path).status_code == 200
    revoked = client.delete(
        f"/api/v1/guardians/{c.marisol.id}/family-link", headers=auth("read,write", staff=office)
    )
    assert revoked.status_code == 200 and revoked.json()["revoked"] == 1
    assert client.get(path).status_code == 404
    assert client.post(path, data={"body": "hola"}).status_code == 404
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "family_link.revoke"))
    # The guardian's phone changed hands: the old link stops.
    path = link_for(client, auth, c.marisol, office)
    c.marisol.phone = "+15125559999"
    session.commit()
    assert client.get(path).status_code == 404
    # A deactivated guardian's link stops too.
    path = link_for(client, auth, c.lan, office)
    c.lan.active = False
    session.commit()
    assert client.get(path).status_code == 404


def test_staff_of_another_school_cannot_make_a_link(client, auth, session, classroom):
    from tests.factories import SchoolFactory, StaffFactory

    elsewhere = StaffFactory(role="office", schools=[SchoolFactory(name="Hillside")])
    session.commit()
    response = client.post(
        f"/api/v1/guardians/{classroom.marisol.id}/family-link",
        headers=auth("read,write", staff=elsewhere),
    )
    assert response.status_code == 404
    assert session.scalar(select(FamilyLink.id)) is None


# What a family sees ------------------------------------------------------------------------------


def test_in_a_shared_broadcast_thread_a_family_never_sees_another_familys_reply(
    client, auth, session, classroom, office, neighbour, twilio
):
    from tests.delivery.test_reply_routing import text_in

    c = classroom
    send_broadcast(client, auth, c.school, office)
    text_in(client, "SM" + "a" * 32, c.marisol.phone, SENDER, "Gracias, allí estaré")
    text_in(client, "SM" + "b" * 32, neighbour.phone, SENDER, "No puedo ir, lo siento")
    # A reply written straight into the broadcast's shared thread (a move, an old row) too.
    broadcast_thread = session.scalar(select(Message.thread_id).where(Message.kind == "broadcast"))
    session.add(
        Message(
            thread_id=broadcast_thread,
            direction="inbound",
            kind="reply",
            author_guardian_id=neighbour.id,
            body="Mi hijo está enfermo",
            language="es",
        )
    )
    session.commit()
    page = client.get(link_for(client, auth, c.marisol, office)).text
    assert "School closes at noon" in page or "mediodía" in page
    assert "Gracias, allí estaré" in page
    assert "No puedo ir" not in page and "Mi hijo está enfermo" not in page


def test_a_machine_translated_broadcast_is_marked_once_on_the_page_and_in_its_text(
    client, auth, session, classroom, office, twilio, argos_models
):
    sent = client.post(
        "/api/v1/broadcasts",
        headers=auth("read,send", staff=office),
        json={
            "school_id": classroom.school.id,
            "audience": {"whole_school": True},
            "body": "School is closed on Monday.",
            "language": "en",
            "urgent": True,
        },
    )
    assert sent.status_code == 201, sent.text
    mark = "(traducción automática)"
    # The text to the family's phone carries the mark (it has no other place for it).
    sms = session.scalar(
        select(Delivery.body).where(
            Delivery.guardian_id == classroom.marisol.id, Delivery.channel == "sms"
        )
    )
    assert sms == f"La escuela está cerrada el lunes. {mark}"
    # The page marks it once, under the text.
    page = html.unescape(client.get(link_for(client, auth, classroom.marisol, office)).text)
    assert page.count(mark) == 1
    assert re.search(r'<p class="text" lang="es"[^>]*>La escuela está cerrada el lunes.</p>', page)
    assert f'<p class="mark">{mark}</p>' in page


def test_a_note_reads_in_the_familys_language_with_the_original_on_request(
    client, auth, session, classroom, office, twilio
):
    c = classroom
    post_note(client, auth, c, "Mateo will be absent tomorrow.")
    es = client.get(link_for(client, auth, c.marisol, office)).text
    assert "Mateo va a faltar mañana." in es
    assert "<details>" in es and "Mateo will be absent tomorrow." in es
    assert "Ana Rivera, Riverside Elementary" in es
    assert 'data-lang="es"' in es  # read aloud in Spanish
    vi_page = client.get(link_for(client, auth, c.lan, office)).text
    assert 'lang="vi"' in vi_page
    vi_text = session.scalar(
        select(MessageTranslation.text).where(MessageTranslation.language == "vi")
    )
    assert vi_text and vi_text in vi_page


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_each_note_is_read_aloud_by_hearth_where_the_phone_has_no_voice(
    client, auth, session, classroom, office, neighbour, twilio
):
    c = classroom
    post_note(client, auth, c, "Mateo will be absent tomorrow.")
    note = session.scalar(select(Message).where(Message.direction == "outbound"))
    path = link_for(client, auth, c.marisol, office)
    reply_from_page(client, path, "Gracias, Mateo está enfermo.")
    mine = session.scalar(select(Message).where(Message.direction == "inbound"))
    page = client.get(path)
    audio = f"{path}/audio/{note.id}.wav"
    # A player for the note (hidden by the page's script where the phone has a Spanish voice),
    # none for the family's own reply; the page's policy lets it play from here only.
    assert f'<audio class="spoken" data-lang="es" controls preload="none" src="{audio}"' in (
        page.text
    )
    assert f"/audio/{mine.id}.wav" not in page.text
    assert "media-src 'self'" in page.headers["content-security-policy"]
    spoken = client.get(audio)
    assert spoken.status_code == 200 and spoken.headers["content-type"] == "audio/wav"
    assert spoken.content[:4] == b"RIFF" and len(spoken.content) > 8000
    assert spoken.headers["referrer-policy"] == "no-referrer"
    # The Vietnamese family's note is spoken in Vietnamese: another text, another voice.
    vi = client.get(f"{link_for(client, auth, c.lan, office)}/audio/{note.id}.wav")
    assert vi.status_code == 200 and vi.content[:4] == b"RIFF" and vi.content != spoken.content
    # Nothing else: the family's own reply, a message it is not shown, another family's token.
    assert client.get(f"{path}/audio/{mine.id}.wav").status_code == 404
    assert client.get(f"{path}/audio/{note.id + 100}.wav").status_code == 404
    neighbour_path = link_for(client, auth, neighbour, office)
    assert client.get(f"{neighbour_path}/audio/{note.id}.wav").status_code == 404
    assert client.get(f"{path[:-1]}x/audio/{note.id}.wav").status_code == 404


# Replies from the page -------------------------------------------------------------------------


def test_a_reply_from_the_page_lands_in_the_teachers_thread_translated(
    client, auth, session, classroom, office, twilio, smtp
):
    c = classroom
    thread, _ = post_note(client, auth, c, "Mateo will be absent tomorrow.")
    path = link_for(client, auth, c.marisol, office)
    response = reply_from_page(client, path, "Gracias, Mateo está enfermo.")
    assert response.status_code == 303 and response.headers["location"].endswith("?sent=1#sent")
    reply = session.scalar(select(Message).where(Message.body == "Gracias, Mateo está enfermo."))
    assert reply is not None and reply.thread_id == thread["id"]
    assert reply.direction == "inbound" and reply.author_guardian_id == c.marisol.id
    assert reply.language == "es"
    translated = session.scalar(
        select(MessageTranslation).where(MessageTranslation.message_id == reply.id)
    )
    assert translated.language == "en" and translated.status == "translated"
    assert any("Marisol Quintanilla" in str(m["Subject"]) for m in smtp.messages)
    # Without the form's secret (another site posting) nothing is saved.
    refused = client.post(path, data={"body": "forged"})
    assert refused.status_code == 403
    assert session.scalar(select(Message).where(Message.body == "forged")) is None


def test_replies_from_one_link_are_rate_limited(client, auth, session, classroom, office, twilio):
    c = classroom
    post_note(client, auth, c, "Mateo will be absent tomorrow.", guardians=("marisol",))
    path = link_for(client, auth, c.marisol, office)
    limit = get_settings().family_page_replies_per_hour
    for n in range(limit):
        assert reply_from_page(client, path, f"Mensaje {n}").status_code == 303
    refused = reply_from_page(client, path, "Uno más")
    assert refused.status_code == 429
    assert session.scalar(select(Message).where(Message.body == "Uno más")) is None


# Seen ------------------------------------------------------------------------------------------


def test_opening_the_page_marks_the_messages_seen_for_staff(
    client, auth, session, classroom, office, twilio, signed_in
):
    c = classroom
    thread, message = post_note(client, auth, c, "Mateo will be absent tomorrow.")
    staff_page = signed_in(c.teacher)
    before = staff_page.get(f"/threads/{thread['id']}").text
    assert "Seen by" not in before
    client.get(link_for(client, auth, c.lan, office))
    client.get(link_for(client, auth, c.lan, office))  # a second visit keeps the first time
    seen = session.scalars(select(MessageSeen)).all()
    assert [(s.message_id, s.guardian_id) for s in seen] == [(message["id"], c.lan.id)]
    after = staff_page.get(f"/threads/{thread['id']}").text
    assert "Seen by Lan Nguyễn" in after
    assert "Seen by Marisol" not in after
    # And through the API, on the thread's message (requests share the test's session: what it
    # loaded before the page was opened is read again).
    session.expire_all()
    detail = client.get(
        f"/api/v1/threads/{thread['id']}", headers=auth("read", staff=c.teacher)
    ).json()
    seen = {m["id"]: m["seen"] for m in detail["messages"]}
    assert [s["guardian_id"] for s in seen[message["id"]]] == [c.lan.id]


# Links in texts --------------------------------------------------------------------------------


def _sms_to(twilio, phone):
    return [m for m in twilio.messages if m.to == phone]


def test_a_long_text_carries_the_familys_own_link_and_a_short_one_does_not(
    client, auth, session, classroom, office, twilio
):
    c = classroom
    post_note(client, auth, c, "See you tomorrow.", guardians=("marisol",))
    short = _sms_to(twilio, c.marisol.phone)[-1].body
    assert "/f/" not in short
    post_note(client, auth, c, LONG, guardians=("marisol", "lan"))
    es_body = _sms_to(twilio, c.marisol.phone)[-1].body
    vi_body = _sms_to(twilio, c.lan.phone)[-1].body
    prefix = get_settings().public_url.rstrip("/") + "/f/"
    es_link = es_body.rsplit("\n", 1)[1]
    vi_link = vi_body.rsplit("\n", 1)[1]
    assert es_link.startswith(prefix) and vi_link.startswith(prefix) and es_link != vi_link
    # Each opens that family's page.
    assert 'lang="es"' in client.get(es_link.removeprefix(get_settings().public_url)).text
    assert 'lang="vi"' in client.get(vi_link.removeprefix(get_settings().public_url)).text
    deliveries = session.scalars(
        select(Delivery).where(Delivery.channel == "sms").execution_options(populate_existing=True)
    ).all()
    for d in deliveries:
        assert d.segments == count_segments(d.body).segments


def test_the_schools_setting_decides_and_the_preview_counts_what_is_sent(
    client, auth, session, classroom, office, twilio, signed_in
):
    c = classroom
    admin = auth("admin")
    for value, expect_link in (("never", False), ("always", True)):
        changed = client.patch(
            f"/api/v1/schools/{c.school.id}", headers=admin, json={"family_link": value}
        )
        assert changed.status_code == 200 and changed.json()["family_link"] == value
        post_note(client, auth, c, LONG if value == "never" else "See you.", guardians=("marisol",))
        assert ("/f/" in _sms_to(twilio, c.marisol.phone)[-1].body) is expect_link
    bad = client.patch(f"/api/v1/schools/{c.school.id}", headers=admin, json={"family_link": "x"})
    assert bad.status_code == 422
    # The teacher's preview shows (and counts) exactly the text the phone gets.
    client.patch(f"/api/v1/schools/{c.school.id}", headers=admin, json={"family_link": "long"})
    thread, _ = post_note(client, auth, c, "Hello.", guardians=("marisol",))
    page = signed_in(c.teacher)
    preview = page.post(
        f"/threads/{thread['id']}/preview",
        data={"body": LONG},
    )
    assert preview.status_code == 200, preview.text
    counted = int(re.search(r'data-segments="(\d+)"', preview.text).group(1))
    page.post(f"/threads/{thread['id']}/reply", data={"body": LONG})
    sent = _sms_to(twilio, c.marisol.phone)[-1]
    assert "/f/" in sent.body
    assert counted == count_segments(sent.body).segments


def test_a_broadcast_preview_counts_the_link_it_will_carry(
    client, auth, session, classroom, office, twilio
):
    c = classroom
    headers = auth("read,send", staff=office)
    draft = {
        "school_id": c.school.id,
        "audience": {"whole_school": True},
        "title": "Picnic",
        "body": LONG,
    }
    preview = client.post("/api/v1/broadcasts/preview", headers=headers, json=draft)
    assert preview.status_code == 200, preview.text
    per_language = {lang["language"]: lang for lang in preview.json()["languages"]}
    assert "/f/" in per_language["es"]["sms_text"]
    created = client.post("/api/v1/broadcasts", headers=headers, json=draft)
    assert created.status_code == 201, created.text
    sent = _sms_to(twilio, c.marisol.phone)[-1]
    assert "/f/" in sent.body
    assert per_language["es"]["segments"] == count_segments(sent.body).segments


def test_the_office_makes_a_link_on_the_familys_page_sees_it_once_and_revokes_every_link(
    client, session, classroom, office, signed_in
):
    c = classroom
    web = signed_in(office)  # Beatriz Salgado reads the pages in Spanish
    page = web.get(f"/families/{c.lan.id}")
    assert page.status_code == 200 and "Página familiar" in page.text
    assert "0 enlaces activos" in page.text
    made = web.post(f"/families/{c.lan.id}/family-link")
    assert made.status_code == 200
    url = re.search(r'<code class="family-link">([^<]+)</code>', made.text).group(1)
    path = "/f/" + url.rsplit("/f/", 1)[1]
    assert client.get(path).status_code == 200
    again = web.get(f"/families/{c.lan.id}")
    assert url not in again.text and "1 enlace activo" in again.text  # shown that once only
    refused = web.post(f"/families/{c.lan.id}/family-link", csrf=False)
    assert refused.status_code == 403
    revoked = web.post(f"/families/{c.lan.id}/family-link/revoke")
    assert revoked.status_code == 303
    assert client.get(path).status_code == 404
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "family_link.revoke"))


@pytest.mark.parametrize(
    ("policy", "segments", "wanted"),
    [
        ("never", 5, False),
        ("always", 1, True),
        ("long", 1, False),
        ("long", 2, False),
        ("long", 3, True),
    ],
)
def test_when_a_text_carries_the_link(policy, segments, wanted):
    text = "a" * (153 * segments if segments > 1 else 100)
    assert count_segments(text).segments == segments
    assert family_links.wants_link(policy, text) is wanted
    previewed = family_links.sample(policy, text)
    assert ("/f/" in previewed) is wanted
    if wanted:  # the sample link is exactly as long as a family's
        real = family_links.with_link(text, family_links.url_for("y" * 43))
        assert len(previewed) == len(real)


def test_a_message_waiting_for_its_translation_waits_on_the_page_too(
    client, auth, session, classroom, office
):
    from tests.factories import MessageFactory, MessageTranslationFactory, ThreadFactory

    c = classroom
    thread = ThreadFactory(school=c.school, guardians=[c.lan])
    message = MessageFactory(thread=thread, body="Bring a coat tomorrow.", author_staff_id=None)
    row = MessageTranslationFactory(message=message, language="vi", status="interpreter", text=None)
    session.commit()
    path = link_for(client, auth, c.lan, office)
    assert "Bring a coat tomorrow." not in client.get(path).text
    assert session.scalar(select(MessageSeen.message_id)) is None
    row.status, row.text, row.engine, row.origin = (
        "translated",
        "Mang áo khoác.",
        "interpreter",
        "human",
    )
    session.commit()
    page = client.get(path).text
    assert "Mang áo khoác." in page and "Bring a coat tomorrow." in page  # and its original
    assert "(dịch máy)" not in page  # people translated it


def test_the_admin_sets_when_texts_carry_the_link_on_the_school_page(session, classroom, signed_in):
    from tests.factories import StaffFactory

    c = classroom
    admin = StaffFactory(role="admin", name="Kwame Mensah")
    session.commit()
    web = signed_in(admin)
    page = web.get(f"/admin/schools/{c.school.id}")
    assert page.status_code == 200
    assert '<option value="long" selected>' in page.text
    saved = web.post(
        f"/admin/schools/{c.school.id}",
        {
            "name": c.school.name,
            "timezone": c.school.timezone,
            "default_language": c.school.default_language,
            "sms_sender": c.school.sms_sender,
            "interpreter_hours": "24",
            "mark_machine_translation": "1",
            "family_link": "always",
        },
    )
    assert saved.status_code == 303, saved.text
    session.refresh(c.school)
    assert c.school.family_link == "always"
    refused = web.post(
        f"/admin/schools/{c.school.id}",
        {"name": c.school.name, "timezone": c.school.timezone, "family_link": "sometimes"},
    )
    assert refused.status_code == 422
    session.refresh(c.school)
    assert c.school.family_link == "always"


@pytest.mark.parametrize(
    ("language", "direction", "title"),
    [
        ("es-MX", "ltr", "Mensajes de la escuela"),
        ("zh-Hans", "ltr", "学校的消息"),
        ("ht", "ltr", "Mesaj lekòl la"),
        ("so", "ltr", "Farriimaha dugsiga"),
        ("hmn", "ltr", "Messages from the school"),  # no catalog of family texts yet
        ("fa", "rtl", "Messages from the school"),
        ("ar", "rtl", "رسائل من المدرسة"),
    ],
)
def test_the_page_speaks_each_familys_language(client, session, language, direction, title):
    from tests.factories import MessageFactory, SchoolFactory, StudentFactory, ThreadFactory

    school = SchoolFactory()
    guardian = GuardianFactory(students=[StudentFactory(school=school)], language=language)
    thread = ThreadFactory(school=school, guardians=[guardian])
    MessageFactory(thread=thread, body="Bring a coat tomorrow.")
    _, token = family_links.mint(session, guardian)
    session.commit()
    page = client.get(f"/f/{token}")
    assert page.status_code == 200
    assert f'<html lang="{language}" dir="{direction}">' in page.text
    assert f"<h1>{title}</h1>" in page.text
    assert "Bring a coat tomorrow." in page.text
