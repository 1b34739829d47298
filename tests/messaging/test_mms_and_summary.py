# ruff: noqa: F401, F811  (fixtures shared with the delivery tests)
"""A single photo goes as MMS where the school allows it (Twilio fetches it from a signed,
expiring URL); PDFs, several files, other countries' numbers and schools that do not send MMS
keep the link. Under the `summary` policy a long text goes as its first sentences and the
link, cut by its own encoding's segment size; the preview shows and counts exactly that."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.channels.segments import UCS2_PART_LIMIT, count_segments
from app.core.config import get_settings
from app.core.db import utcnow
from app.delivery import attachments as files
from app.delivery import mms
from app.delivery.models import Attachment, Delivery
from app.messaging import family_links
from app.messaging.models import MessageTranslation
from tests.delivery.conftest import smtp, twilio
from tests.delivery.test_family_page import LONG
from tests.delivery.test_reply_routing import classroom, office
from tests.delivery.test_two_way import post_note
from tests.messaging.test_attachments import PDF_BYTES, photo_with_gps, upload
from tests.web.conftest import signed_in


def _school(client, auth, school, **values):
    changed = client.patch(f"/api/v1/schools/{school.id}", headers=auth("admin"), json=values)
    assert changed.status_code == 200, changed.text
    for name, value in values.items():
        assert changed.json()[name] == value


def _last_to(twilio, phone):
    return [m for m in twilio.messages if m.to == phone][-1]


def _path(url: str) -> str:
    return url.removeprefix(get_settings().public_url.rstrip("/"))


def _sms_row(session, message_id):
    return session.scalar(
        select(Delivery)
        .where(Delivery.message_id == message_id, Delivery.channel == "sms")
        .execution_options(populate_existing=True)
    )


# MMS -------------------------------------------------------------------------------------------


def test_one_photo_goes_as_mms_that_twilio_fetches_from_a_signed_url(
    client, auth, session, classroom, twilio
):
    c = classroom
    _school(client, auth, c.school, mms_images=True)
    teacher = auth("read,write,send", staff=c.teacher)
    photo = upload(client, teacher, "IMG_0042.jpg", photo_with_gps(), "image/jpeg").json()
    _, message = post_note(
        client, auth, c, "Our class photo!", guardians=("marisol",), attachment_ids=[photo["id"]]
    )
    sent = _last_to(twilio, c.marisol.phone)
    assert len(sent.media_urls) == 1 and sent.params["MediaUrl"] == sent.media_urls[0]
    assert "/f/" not in sent.body  # the photo is in the text: no link for a short note
    row = _sms_row(session, message["id"])
    assert row.media_id == photo["id"] and row.segments == 1  # billed per message

    # Twilio fetches it with no session: the stored photo, re-encoded, without its EXIF.
    url = sent.media_urls[0]
    assert url.startswith(get_settings().public_url.rstrip("/") + f"/mms/{photo['id']}?")
    fetched = client.get(_path(url))
    stored = files.read(session.get(Attachment, photo["id"]))
    assert fetched.status_code == 200 and fetched.content == stored
    assert fetched.headers["content-type"] == "image/jpeg" and b"SecretCam" not in stored

    # A tampered signature, another attachment, a later expiry or an expired URL: 404.
    query = parse_qs(urlsplit(url).query)
    e, s = query["e"][0], query["s"][0]
    other = upload(client, teacher, "b.png", photo_with_gps(), "image/jpeg").json()
    past = int((utcnow() - timedelta(minutes=1)).timestamp())
    for bad in (
        f"/mms/{photo['id']}?e={e}&s={s[:-1]}{'0' if s[-1] != '0' else '1'}",
        f"/mms/{other['id']}?e={e}&s={s}",
        f"/mms/{photo['id']}?e={int(e) + 60}&s={s}",
        f"/mms/{photo['id']}?e={past}&s={mms._signature(photo['id'], past)}",
        f"/mms/{photo['id']}",
        f"/mms/{2**40}?e={e}&s={s}",
    ):
        assert client.get(bad).status_code == 404, bad
    assert mms.check(photo["id"], e, s)


@pytest.mark.parametrize("case", ["pdf", "two_photos", "school_off", "foreign_number"])
def test_otherwise_the_text_keeps_the_link(client, auth, session, classroom, twilio, case):
    c = classroom
    _school(client, auth, c.school, mms_images=case != "school_off")
    if case == "foreign_number":
        c.marisol.phone = "+525512345678"  # Mexico: an MMS from a US number does not arrive
        session.commit()
    teacher = auth("read,write,send", staff=c.teacher)
    photo = upload(client, teacher, "a.jpg", photo_with_gps(), "image/jpeg").json()
    ids = [photo["id"]]
    if case == "pdf":
        ids = [upload(client, teacher, "slip.pdf", PDF_BYTES, "application/pdf").json()["id"]]
    if case == "two_photos":
        ids.append(upload(client, teacher, "b.jpg", photo_with_gps(), "image/jpeg").json()["id"])
    _, message = post_note(
        client, auth, c, "Photos from today.", guardians=("marisol",), attachment_ids=ids
    )
    sent = _last_to(twilio, c.marisol.phone)
    assert sent.media_urls == [] and "MediaUrl" not in sent.params
    assert "/f/" in sent.body.rsplit("\n", 1)[1]
    row = _sms_row(session, message["id"])
    assert row.media_id is None and row.segments == count_segments(sent.body).segments


def test_the_previews_say_mms_and_count_it_once(
    client, auth, session, classroom, office, twilio, signed_in
):
    c = classroom
    _school(client, auth, c.school, mms_images=True)
    # The teacher's preview (it is sent the chosen file's name).
    thread, _ = post_note(client, auth, c, "Hello.", guardians=("marisol",))
    page = signed_in(c.teacher)
    preview = page.post(
        f"/threads/{thread['id']}/preview", data={"body": LONG, "attachments": "IMG_1.jpg"}
    )
    assert preview.status_code == 200, preview.text
    assert 'data-segments="1" data-mms="1"' in preview.text and "1 MMS" in preview.text
    pdf = page.post(
        f"/threads/{thread['id']}/preview", data={"body": "Hi.", "attachments": "slip.pdf"}
    )
    assert "data-mms" not in pdf.text and "/f/x" in pdf.text  # the sample link

    # The office's broadcast preview: MMS counted per message, the text as it goes.
    headers = auth("read,send", staff=office)
    photo = upload(client, headers, "a.jpg", photo_with_gps(), "image/jpeg").json()
    draft = {
        "school_id": c.school.id,
        "audience": {"whole_school": True},
        "title": "Photo",
        "body": "Our garden is growing!",
        "attachment_ids": [photo["id"]],
    }
    shown = client.post("/api/v1/broadcasts/preview", headers=headers, json=draft)
    assert shown.status_code == 200, shown.text
    es = {lang["language"]: lang for lang in shown.json()["languages"]}["es"]
    assert es["mms"] == es["sms"] == 1 and es["total_segments"] == 0
    assert shown.json()["mms"] >= 1
    settings = get_settings()
    assert es["cost"] == pytest.approx(settings.mms_price_per_message)
    created = client.post("/api/v1/broadcasts", headers=headers, json=draft)
    assert created.status_code == 201, created.text
    sent = _last_to(twilio, c.marisol.phone)
    assert sent.media_urls and sent.body == es["mms_text"]


# Summaries -------------------------------------------------------------------------------------


def test_a_long_note_goes_as_its_summary_and_the_link_and_a_short_one_whole(
    client, auth, session, classroom, twilio, smtp, signed_in
):
    c = classroom
    c.lan.channels = ["sms", "email"]
    session.commit()
    _school(client, auth, c.school, family_link="summary")
    _, message = post_note(client, auth, c, LONG, guardians=("lan",))
    sent = _last_to(twilio, c.lan.phone)
    summary, link = sent.body.rsplit("\n", 1)
    assert link.startswith(get_settings().public_url.rstrip("/") + "/f/")
    # Vietnamese is UCS-2: the summary alone fits one segment of 67 units; with the link, two.
    assert summary.endswith("\u2026") and count_segments(summary).units <= UCS2_PART_LIMIT
    assert count_segments(sent.body).encoding == "UCS-2"
    assert count_segments(sent.body).segments == 2
    whole = session.scalar(
        select(MessageTranslation.text).where(
            MessageTranslation.message_id == message["id"], MessageTranslation.language == "vi"
        )
    )
    assert count_segments(whole).segments > 2
    assert whole.startswith(summary.removesuffix("\u2026").split(": ", 1)[1])
    assert _sms_row(session, message["id"]).segments == 2
    # The whole note is on the family page, and in the email.
    page = client.get(_path(link))
    assert page.status_code == 200 and whole in page.text
    assert whole in smtp.messages[-1].get_body(("plain",)).get_content()

    # A short note goes whole, with no link.
    post_note(client, auth, c, "See you tomorrow.", guardians=("lan",))
    short = _last_to(twilio, c.lan.phone).body
    assert "/f/" not in short and "\u2026" not in short

    # The teacher's preview shows and counts the very text the phone gets.
    thread, _ = post_note(client, auth, c, "Hello.", guardians=("lan",))
    page = signed_in(c.teacher)
    preview = page.post(f"/threads/{thread['id']}/preview", data={"body": LONG})
    assert preview.status_code == 200, preview.text
    counted = int(re.search(r'data-segments="(\d+)"', preview.text).group(1))
    page.post(f"/threads/{thread['id']}/reply", data={"body": LONG})
    sent = _last_to(twilio, c.lan.phone)
    assert "\u2026\n" in sent.body
    assert counted == count_segments(sent.body).segments == 2


def test_a_broadcast_preview_shows_the_summary_it_sends(
    client, auth, session, classroom, office, twilio
):
    c = classroom
    _school(client, auth, c.school, family_link="summary")
    headers = auth("read,send", staff=office)
    draft = {
        "school_id": c.school.id,
        "audience": {"whole_school": True},
        "title": "Picnic",
        "body": LONG,
    }
    shown = client.post("/api/v1/broadcasts/preview", headers=headers, json=draft)
    per_language = {lang["language"]: lang for lang in shown.json()["languages"]}
    assert client.post("/api/v1/broadcasts", headers=headers, json=draft).status_code == 201
    for code, guardian in (("es", c.marisol), ("vi", c.lan)):
        sent = _last_to(twilio, guardian.phone)
        assert per_language[code]["segments"] == count_segments(sent.body).segments
        shown_text = per_language[code]["sms_text"]
        assert shown_text.rsplit("\n", 1)[0] == sent.body.rsplit("\n", 1)[0]


SPANISH = (
    "La excursión es el viernes. Traigan almuerzo y agua. Los autobuses salen a las ocho. "
    "Volvemos a las tres de la tarde. Gracias por su ayuda con los permisos de esta semana, "
    "y por recordar que los niños necesitan zapatos cómodos y una gorra para el sol."
)
ENGLISH = LONG
CHINESE = "学校野餐定在星期六在河边的公园举行。请带帽子、水和防晒霜。每个孩子都有午餐。" * 5
ARABIC = "نزهة المدرسة يوم السبت في الحديقة بجانب النهر. من فضلكم أحضروا قبعة وماء. " * 3


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "ellipsis"),
    [
        (ENGLISH, "GSM-7", 1, "..."),
        (SPANISH, "UCS-2", 2, "\u2026"),  # ó, ú are not GSM-7
        (CHINESE, "UCS-2", 2, "\u2026"),
        (ARABIC, "UCS-2", 2, "\u2026"),
    ],
)
def test_a_summary_is_cut_on_a_boundary_by_its_own_segment_size(text, encoding, segments, ellipsis):
    url = family_links.url_for("y" * 43)
    assert count_segments(text).segments > 2
    sms = family_links.render("summary", text, url)
    summary, link = sms.rsplit("\n", 1)
    assert link == url and summary.endswith(ellipsis)
    count = count_segments(sms)
    assert (count.encoding, count.segments) == (encoding, segments)
    cut = summary.removesuffix(ellipsis)
    assert text.startswith(cut) and len(cut) >= 20
    following = text[len(cut) :]
    # Cut after a sentence, between words, or (Chinese) between characters.
    assert cut[-1] in ".!?。" or following[:1].isspace() or encoding == "UCS-2" and text is CHINESE
    if segments == 2:  # the summary alone fits one UCS-2 segment
        assert count_segments(summary).units <= UCS2_PART_LIMIT
    # The preview's sample link has the length of a family's: the same text, the same count.
    assert count_segments(family_links.sample("summary", text)).segments == segments
    # Short texts go whole; `long` adds the link to the whole text.
    assert family_links.render("summary", "Hello.", url) == "Hello."
    assert family_links.render("long", text, url) == f"{text}\n{url}"


def test_the_dev_phone_shows_the_photo_of_an_mms(client, auth, session, classroom):
    # No Twilio: the dev backend keeps the photo's URL, and the dev phone shows the picture.
    c = classroom
    _school(client, auth, c.school, mms_images=True)
    teacher = auth("read,write,send", staff=c.teacher)
    photo = upload(client, teacher, "a.jpg", photo_with_gps(), "image/jpeg").json()
    post_note(client, auth, c, "Look!", guardians=("marisol",), attachment_ids=[photo["id"]])
    page = client.get(f"/dev/phone/{c.marisol.id}")
    assert page.status_code == 200
    src = re.search(r'<img src="([^"]+)" alt="MMS"', page.text).group(1)
    assert src.startswith(f"/mms/{photo['id']}?")
    shown = client.get(src.replace("&amp;", "&"))
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"


def test_only_an_admin_changes_the_settings_and_the_school_page_sets_them(
    client, auth, session, classroom, signed_in
):
    from tests.factories import StaffFactory

    c = classroom
    refused = client.patch(
        f"/api/v1/schools/{c.school.id}",
        headers=auth("read,write", staff=c.teacher),
        json={"mms_images": True},
    )
    assert refused.status_code == 403
    bad = client.patch(
        f"/api/v1/schools/{c.school.id}", headers=auth("admin"), json={"mms_images": None}
    )
    assert bad.status_code in (400, 422)
    session.refresh(c.school)
    assert c.school.mms_images is False  # off by default
    admin = StaffFactory(role="admin", name="Kwame Mensah")
    session.commit()
    web = signed_in(admin)
    page = web.get(f"/admin/schools/{c.school.id}")
    assert '<option value="summary">' in page.text and 'name="mms_images"' in page.text
    saved = web.post(
        f"/admin/schools/{c.school.id}",
        {
            "name": c.school.name,
            "timezone": c.school.timezone,
            "default_language": c.school.default_language,
            "sms_sender": c.school.sms_sender,
            "interpreter_hours": "24",
            "mark_machine_translation": "1",
            "family_link": "summary",
            "mms_images": "1",
        },
    )
    assert saved.status_code == 303, saved.text
    session.refresh(c.school)
    assert c.school.family_link == "summary" and c.school.mms_images is True
    again = web.get(f"/admin/schools/{c.school.id}")
    assert '<option value="summary" selected>' in again.text
    assert re.search(r'name="mms_images" value="1"[^>]*checked', again.text)
