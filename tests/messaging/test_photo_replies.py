# ruff: noqa: F401, F811  (fixtures shared with the delivery tests)
"""A family sends a photo back: by MMS (the webhook notes Twilio's media URLs, a job fetches
them from the Twilio double with the account's credentials and stores them as attachments of
the reply, metadata stripped) and from the family page (a file with the reply). Staff see them
in the thread, the API and the email; a refused one is said, not silently dropped; erasure
takes them with the rest."""

import io
import os
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.core.config import get_settings
from app.core.queue import run_job
from app.delivery import attachments as files
from app.delivery.models import Attachment, InboundMedia, InboundSms
from app.messaging import replies
from app.messaging.models import Message
from tests.delivery.conftest import smtp, twilio
from tests.delivery.test_family_page import form_secret, link_for
from tests.delivery.test_two_way import SENDER, post_note
from tests.messaging.test_attachments import PDF_BYTES, photo_with_gps, screen_gif, stored_files
from tests.web.conftest import signed_in

WEBHOOK = "/webhooks/twilio/sms"


def _webhook_url() -> str:
    return get_settings().public_url.rstrip("/") + WEBHOOK


def send_mms(client, twilio, from_: str, body: str, media: list[tuple[bytes, str]]):
    params, headers = twilio.inbound_mms_request(_webhook_url(), from_, SENDER, body, media)
    response = client.post(WEBHOOK, data=params, headers=headers)
    assert response.status_code == 200, response.text
    return params, headers


def latest_reply(session) -> Message:
    return session.scalar(
        select(Message)
        .where(Message.direction == "inbound")
        .order_by(Message.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )


def media_rows(session, message_id: int) -> list[InboundMedia]:
    return list(
        session.scalars(
            select(InboundMedia)
            .where(InboundMedia.message_id == message_id)
            .order_by(InboundMedia.position)
            .execution_options(populate_existing=True)
        )
    )


def attachments_of(session, message_id: int) -> list[Attachment]:
    return list(
        session.scalars(
            select(Attachment)
            .where(Attachment.message_id == message_id)
            .execution_options(populate_existing=True)
        )
    )


@pytest.fixture
def small_limit():
    previous = os.environ.get("HEARTH_ATTACHMENT_MAX_MB")
    os.environ["HEARTH_ATTACHMENT_MAX_MB"] = "1"
    get_settings.cache_clear()
    yield 1
    if previous is None:
        os.environ.pop("HEARTH_ATTACHMENT_MAX_MB", None)
    else:
        os.environ["HEARTH_ATTACHMENT_MAX_MB"] = previous
    get_settings.cache_clear()


def big_png(min_bytes: int) -> bytes:
    """A PNG of noise at least `min_bytes` long (noise does not compress)."""
    side = 1
    while side * side * 3 < min_bytes * 1.1:
        side *= 2
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# Inbound MMS -----------------------------------------------------------------------------------


def test_an_mms_photo_is_fetched_after_the_webhook_stored_clean_and_shown_to_staff(
    client, auth, session, classroom, twilio, smtp, signed_in
):
    c = classroom
    thread, _ = post_note(client, auth, c, "Mateo will be absent tomorrow.")
    original = photo_with_gps()
    params, headers = send_mms(
        client, twilio, c.marisol.phone, "Aquí está la nota.", [(original, "image/jpeg")]
    )

    reply = latest_reply(session)
    assert reply.thread_id == thread["id"] and reply.body == "Aquí está la nota."
    [row] = media_rows(session, reply.id)
    assert row.status == "stored" and row.attempts == 1
    # Fetched once, from the URL the double handed out, with the account's credentials.
    assert twilio.media_fetches == [(params["MediaUrl0"].removeprefix(twilio.url), True)]
    [photo] = attachments_of(session, reply.id)
    assert photo.content_type == "image/jpeg" and photo.filename == "photo.jpg"
    assert photo.uploaded_by == f"guardian:{c.marisol.id}"
    stored = files.read(photo)
    assert b"SecretCam" not in stored and b"Exif" not in stored
    assert Image.open(io.BytesIO(stored)).size == (64, 48)

    # Twilio retries the same MessageSid: nothing new is stored or fetched.
    again = client.post(WEBHOOK, data=params, headers=headers)
    assert again.status_code == 200
    assert session.scalar(select(func.count()).select_from(InboundSms)) == 1
    assert len(attachments_of(session, reply.id)) == 1
    assert len(twilio.media_fetches) == 1
    # ... nor does the job run again.
    run_job("messaging.fetch_media", reply.id)
    assert len(attachments_of(session, reply.id)) == 1 and len(twilio.media_fetches) == 1

    # The API's message JSON lists it as an outbound message's files are listed.
    teacher = auth("read", staff=c.teacher)
    detail = client.get(f"/api/v1/threads/{thread['id']}", headers=teacher).json()
    shown = next(m for m in detail["messages"] if m["id"] == reply.id)
    assert [a["id"] for a in shown["attachments"]] == [photo.id]
    assert shown["attachments"][0]["url"] == f"/api/v1/attachments/{photo.id}"
    assert shown["inbound_media"][0]["status"] == "stored"
    got = client.get(f"/api/v1/attachments/{photo.id}", headers=teacher)
    assert got.status_code == 200 and got.content == stored

    # The teacher's thread page shows it in the family's bubble.
    page = signed_in(c.teacher).get(f"/threads/{thread['id']}")
    assert page.status_code == 200
    bubble = page.text.split(f'id="m{reply.id}"', 1)[1].split("</article>", 1)[0]
    assert f'<img src="/attachments/{photo.id}"' in bubble

    # The teacher's email says photos came, with the link to see them.
    mail = smtp.messages[-1]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "photo(s)" in text and f"/threads/{thread['id']}" in text


def test_an_mms_with_only_a_photo_is_a_reply_and_a_pdf_is_kept_as_sent(
    client, auth, session, classroom, twilio, signed_in
):
    c = classroom
    thread, _ = post_note(client, auth, c, "Please send the signed form.")
    send_mms(client, twilio, c.marisol.phone, "", [(PDF_BYTES, "application/pdf")])
    reply = latest_reply(session)
    assert reply.thread_id == thread["id"] and reply.body == ""
    [pdf] = attachments_of(session, reply.id)
    assert pdf.content_type == "application/pdf" and files.read(pdf) == PDF_BYTES
    page = signed_in(c.teacher).get(f"/threads/{thread['id']}")
    bubble = page.text.split(f'id="m{reply.id}"', 1)[1].split("</article>", 1)[0]
    assert f'href="/attachments/{pdf.id}" download=' in bubble


def test_a_too_large_or_not_a_photo_mms_file_is_refused_and_staff_are_told(
    client, auth, session, classroom, twilio, small_limit, signed_in
):
    c = classroom
    thread, _ = post_note(client, auth, c, "Mateo will be absent tomorrow.")
    before = stored_files()
    send_mms(
        client,
        twilio,
        c.marisol.phone,
        "Fotos",
        [
            (big_png(1024 * 1024 + 1), "image/png"),
            (b"<html>not a photo</html>", "image/jpeg"),
            (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic"),
        ],
    )
    reply = latest_reply(session)
    rows = media_rows(session, reply.id)
    assert [(r.status, r.reason) for r in rows] == [
        ("refused", "too_large"),
        ("refused", "unsupported"),
        ("refused", "heic"),
    ]
    assert attachments_of(session, reply.id) == [] and stored_files() == before
    page = signed_in(c.teacher).get(f"/threads/{thread['id']}")
    bubble = page.text.split(f'id="m{reply.id}"', 1)[1].split("</article>", 1)[0]
    assert "A photo could not be received (too large)." in bubble
    assert "A photo could not be received (not a photo or PDF)." in bubble
    assert "A photo could not be received (HEIC" in bubble
    detail = client.get(
        f"/api/v1/threads/{thread['id']}", headers=auth("read", staff=c.teacher)
    ).json()
    shown = next(m for m in detail["messages"] if m["id"] == reply.id)
    assert [m["reason"] for m in shown["inbound_media"]] == ["too_large", "unsupported", "heic"]


def test_an_mms_gif_too_large_to_unpack_is_refused_and_the_reply_kept(
    client, auth, session, classroom, twilio
):
    c = classroom
    post_note(client, auth, c, "Mateo will be absent tomorrow.")
    before = stored_files()
    send_mms(client, twilio, c.marisol.phone, "Mire", [(screen_gif(2000, 2000, 40), "image/gif")])
    reply = latest_reply(session)
    assert reply.body == "Mire"
    assert [(r.status, r.reason) for r in media_rows(session, reply.id)] == [
        ("refused", "too_large")
    ]
    assert attachments_of(session, reply.id) == [] and stored_files() == before


def test_a_failed_fetch_is_tried_again_and_stored_once(
    client, auth, session, classroom, twilio, signed_in
):
    c = classroom
    thread, _ = post_note(client, auth, c, "Mateo will be absent tomorrow.")
    twilio.fail_media(1)
    send_mms(client, twilio, c.marisol.phone, "Foto", [(photo_with_gps(), "image/jpeg")])
    reply = latest_reply(session)
    [row] = media_rows(session, reply.id)
    assert row.status == "pending" and row.attempts == 1
    page = signed_in(c.teacher).get(f"/threads/{thread['id']}")
    assert "A photo is arriving…" in page.text

    # The retry (scheduled by the job; run here as the queue would run it).
    run_job("messaging.fetch_media", reply.id)
    [row] = media_rows(session, reply.id)
    assert row.status == "stored" and row.attempts == 2
    run_job("messaging.fetch_media", reply.id)
    assert len(attachments_of(session, reply.id)) == 1
    assert len(twilio.media_fetches) == 2

    # A file that never comes is given up on after every try, and said so.
    twilio.fail_media(10)
    send_mms(client, twilio, c.marisol.phone, "Otra", [(photo_with_gps(), "image/jpeg")])
    other = latest_reply(session)
    for _ in range(10):
        run_job("messaging.fetch_media", other.id)
    [row] = media_rows(session, other.id)
    assert (row.status, row.reason, row.attempts) == ("failed", "failed", 5)
    page = signed_in(c.teacher).get(f"/threads/{thread['id']}")
    assert "A photo could not be received (it could not be downloaded)." in page.text


def test_erasing_a_family_takes_the_photos_it_sent(client, auth, session, classroom, twilio):
    c = classroom
    post_note(client, auth, c, "Mateo will be absent tomorrow.")
    send_mms(client, twilio, c.marisol.phone, "Foto", [(photo_with_gps(), "image/jpeg")])
    reply = latest_reply(session)
    [photo] = attachments_of(session, reply.id)
    path = files.path_of(photo)
    assert path.exists()
    erased = client.delete(f"/api/v1/guardians/{c.marisol.id}?confirm=true", headers=auth("admin"))
    assert erased.status_code == 200, erased.text
    assert erased.json()["attachments_deleted"] == 1
    assert attachments_of(session, reply.id) == [] and media_rows(session, reply.id) == []
    assert not path.exists()


# The family page ---------------------------------------------------------------------------


def post_from_page(client, path: str, body: str, photo: tuple[str, bytes, str] | None, secret=None):
    page = client.get(path)
    assert page.status_code == 200
    return client.post(
        path,
        data={
            "body": body,
            "form_secret": secret if secret is not None else form_secret(page.text),
        },
        files={"photo": photo} if photo else {"photo": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )


def test_a_photo_sent_from_the_family_page_reaches_the_teacher(
    client, auth, session, classroom, smtp, signed_in
):
    c = classroom
    thread, _ = post_note(client, auth, c, "Mateo will be absent tomorrow.")
    path = link_for(client, auth, c.marisol)
    page = client.get(path)
    assert 'enctype="multipart/form-data"' in page.text and 'name="photo"' in page.text
    sent = post_from_page(client, path, "", ("IMG_1.jpg", photo_with_gps(), "image/jpeg"))
    assert sent.status_code == 303, sent.text
    reply = latest_reply(session)
    assert reply.thread_id == thread["id"] and reply.body == ""
    [photo] = attachments_of(session, reply.id)
    stored = files.read(photo)
    assert b"SecretCam" not in stored and photo.filename == "IMG_1.jpg"

    # The family sees its own photo on its page; the teacher sees it in the thread.
    mine = client.get(path)
    assert f'<img src="{path}/attachments/{photo.id}"' in mine.text
    assert client.get(f"{path}/attachments/{photo.id}").content == stored
    thread_page = signed_in(c.teacher).get(f"/threads/{thread['id']}")
    assert f'<img src="/attachments/{photo.id}"' in thread_page.text
    # The teacher's email carries it as a file.
    mail = smtp.messages[-1]
    [part] = list(mail.iter_attachments())
    assert part.get_filename() == "IMG_1.jpg" and part.get_content() == stored


def test_a_fake_photo_from_the_page_is_refused_in_the_familys_language(
    client, auth, session, classroom
):
    c = classroom
    post_note(client, auth, c, "Mateo will be absent tomorrow.")
    path = link_for(client, auth, c.marisol)
    before_rows = session.scalar(select(func.count()).select_from(Attachment))
    before_files = stored_files()
    before_replies = session.scalar(
        select(func.count()).select_from(Message).where(Message.direction == "inbound")
    )
    refused = post_from_page(
        client, path, "Mire la foto", ("foto.jpg", b"MZ\x90\x00 not a photo", "image/jpeg")
    )
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text
    assert "Solo se puede enviar una foto (JPEG, PNG, WebP, GIF) o un PDF." in refused.text
    assert "Mire la foto" in refused.text  # what was written is kept for another try
    assert session.scalar(select(func.count()).select_from(Attachment)) == before_rows
    assert stored_files() == before_files
    assert (
        session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "inbound")
        )
        == before_replies
    )


def test_a_gif_too_large_to_unpack_from_the_page_is_refused(client, auth, session, classroom):
    c = classroom
    post_note(client, auth, c, "Mateo will be absent tomorrow.")
    path = link_for(client, auth, c.marisol)
    before_rows = session.scalar(select(func.count()).select_from(Attachment))
    before_files = stored_files()
    refused = post_from_page(
        client, path, "Mire", ("hola.gif", screen_gif(2000, 2000, 40), "image/gif")
    )
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text
    assert "No se pudo leer esta foto. Pruebe con otra. No se envió nada." in refused.text
    assert session.scalar(select(func.count()).select_from(Attachment)) == before_rows
    assert stored_files() == before_files


def test_a_photo_from_the_page_needs_the_forms_secret(client, auth, session, classroom):
    c = classroom
    path = link_for(client, auth, c.marisol)
    before = session.scalar(select(func.count()).select_from(Attachment))
    forged = post_from_page(
        client, path, "", ("IMG_1.jpg", photo_with_gps(), "image/jpeg"), secret="forged"
    )
    assert forged.status_code == 403
    assert session.scalar(select(func.count()).select_from(Attachment)) == before


def test_a_too_large_photo_from_the_page_is_refused(client, auth, session, classroom, small_limit):
    c = classroom
    path = link_for(client, auth, c.marisol)
    refused = post_from_page(client, path, "", ("big.png", big_png(1024 * 1024 + 1), "image/png"))
    assert refused.status_code == 422
    assert re.search(r"1\s*MB", refused.text)
    assert 'role="alert"' in refused.text


def test_retention_takes_the_photos_families_sent(client, auth, session, classroom, twilio):
    from datetime import timedelta

    from app.core.db import utcnow
    from app.records import service as records

    c = classroom
    post_note(client, auth, c, "Mateo will be absent tomorrow.")
    send_mms(
        client,
        twilio,
        c.marisol.phone,
        "Fotos",
        [(photo_with_gps(), "image/jpeg"), (b"not a photo", "image/jpeg")],
    )
    reply = latest_reply(session)
    [photo] = attachments_of(session, reply.id)
    path = files.path_of(photo)
    report = records.purge(session, days=30, now=utcnow() + timedelta(days=60))
    assert report["attachments"] == 1
    assert attachments_of(session, reply.id) == [] and media_rows(session, reply.id) == []
    assert not path.exists()


def test_the_dev_phone_sends_a_photo_as_an_mms(client, auth, session, classroom):
    c = classroom
    thread, _ = post_note(client, auth, c, "Mateo will be absent tomorrow.")
    sent = client.post(
        f"/dev/phone/{c.marisol.id}/reply",
        data={"body": ""},
        files={"photo": ("IMG_7.jpg", photo_with_gps(), "image/jpeg")},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    reply = latest_reply(session)
    assert reply.thread_id == thread["id"] and reply.body == ""
    text = session.scalar(select(InboundSms).where(InboundSms.message_id == reply.id))
    assert text.params["NumMedia"] == "1" and text.params["MediaUrl0"].startswith(
        "http://127.0.0.1:"
    )
    [photo] = attachments_of(session, reply.id)
    assert b"SecretCam" not in files.read(photo)
    phone = client.get(f"/dev/phone/{c.marisol.id}")
    assert 'enctype="multipart/form-data"' in phone.text and "photo (MMS)" in phone.text


def test_the_inbox_says_a_reply_is_a_photo(client, auth, session, classroom, twilio, signed_in):
    c = classroom
    post_note(client, auth, c, "Please send the signed form.")
    send_mms(client, twilio, c.marisol.phone, "", [(photo_with_gps(), "image/jpeg")])
    inbox = signed_in(c.teacher).get("/inbox")
    assert inbox.status_code == 200
    assert "A photo from the family" in inbox.text


def test_a_photo_whose_job_was_lost_is_fetched_by_the_sweep(session, classroom, twilio):
    from datetime import timedelta

    from app.core.db import utcnow
    from tests.factories import InboundMediaFactory, MessageFactory, ThreadFactory

    c = classroom
    params, _ = twilio.inbound_mms_request(
        _webhook_url(), c.marisol.phone, SENDER, "", [(PDF_BYTES, "application/pdf")]
    )
    reply = MessageFactory(
        thread=ThreadFactory(school=c.school),
        direction="inbound",
        kind="reply",
        body="",
        author_guardian_id=c.marisol.id,
    )
    long_ago = utcnow() - timedelta(minutes=20)
    lost = InboundMediaFactory(
        message=reply, url=params["MediaUrl0"], created_at=long_ago, updated_at=long_ago
    )
    waiting = InboundMediaFactory(
        message=MessageFactory(thread=ThreadFactory(school=c.school), direction="inbound"),
        url=params["MediaUrl0"],
    )
    session.commit()
    run_job("messaging.sweep")
    [row] = media_rows(session, reply.id)
    assert row.id == lost.id and row.status == "stored"
    assert files.read(attachments_of(session, reply.id)[0]) == PDF_BYTES
    # One tried a moment ago (its retry is scheduled) is left to its own job.
    assert media_rows(session, waiting.message_id)[0].status == "pending"
