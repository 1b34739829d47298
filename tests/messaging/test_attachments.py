# ruff: noqa: F401, F811  (fixtures shared with the delivery tests)
"""Photos and PDFs on a note: checked from their bytes, photos stored without their metadata,
linked in the text (the segments the phone gets are the ones counted), attached to the email a
real SMTP server receives, shown on the family's page — and to nobody else."""

import hashlib
import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select, update

from app.channels.segments import count_segments
from app.core.config import get_settings
from app.delivery import attachments as files
from app.delivery.models import Attachment, Delivery
from app.messaging.models import Message
from app.records import service as records
from tests.delivery.conftest import smtp, twilio
from tests.delivery.test_family_page import link_for
from tests.delivery.test_two_way import post_note
from tests.factories import SchoolFactory
from tests.web.conftest import signed_in

PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


def photo_with_gps() -> bytes:
    """A JPEG as a phone makes one: the camera's name and where it was taken in its EXIF."""
    image = Image.new("RGB", (64, 48), (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0110] = "Model X"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (30.0, 16.0, 12.0)
    gps[3] = "W"
    gps[4] = (97.0, 44.0, 30.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def screen_gif(width: int, height: int, frames: int) -> bytes:
    """An animated GIF of one-pixel frames on a `width`×`height` screen: a few bytes a frame
    in the file, the whole screen for each once decoded."""
    pictures = [Image.new("L", (1, 1), 255 * (i % 2)) for i in range(frames)]
    out = io.BytesIO()
    pictures[0].save(out, format="GIF", save_all=True, append_images=pictures[1:], duration=100)
    data = bytearray(out.getvalue())
    data[6:10] = width.to_bytes(2, "little") + height.to_bytes(2, "little")  # the screen
    return bytes(data)


def upload(client, headers, name: str, data: bytes, content_type: str):
    return client.post(
        "/api/v1/attachments", headers=headers, files={"file": (name, data, content_type)}
    )


def stored_files() -> set[str]:
    folder = files.folder()
    return {p.name for p in folder.iterdir() if p.is_file()} if folder.exists() else set()


def test_a_note_carries_a_photo_and_a_pdf_to_text_email_and_family_page(
    client, auth, session, classroom, twilio, smtp
):
    c = classroom
    c.marisol.channels = ["sms", "email"]
    session.commit()
    teacher = auth("read,write,send", staff=c.teacher)
    original = photo_with_gps()
    assert b"SecretCam" in original
    photo = upload(client, teacher, "IMG_0042.jpg", original, "image/jpeg")
    assert photo.status_code == 201, photo.text
    pdf = upload(client, teacher, "permission slip.pdf", PDF_BYTES, "application/pdf")
    assert pdf.status_code == 201, pdf.text
    assert photo.json()["content_type"] == "image/jpeg"
    assert pdf.json()["filename"] == "permission slip.pdf"

    # The stored photo is the picture only: no EXIF, no GPS, no camera.
    row = session.get(Attachment, photo.json()["id"])
    stored = files.path_of(row).read_bytes()
    assert row.sha256 == hashlib.sha256(stored).hexdigest() == files.path_of(row).name
    assert files.path_of(row).parent == (get_settings().data_dir / "attachments").resolve()
    assert b"SecretCam" not in stored and b"Exif" not in stored
    cleaned = Image.open(io.BytesIO(stored))
    assert cleaned.size == (64, 48) and not cleaned.getexif()

    # A short note: without files the school's "long" policy would send no link.
    _, message = post_note(
        client,
        auth,
        c,
        "Photos from the field trip.",
        guardians=("marisol",),
        attachment_ids=[photo.json()["id"], pdf.json()["id"]],
    )
    names = [a["filename"] for a in message["attachments"]]
    assert names == ["IMG_0042.jpg", "permission slip.pdf"]

    # The text carries the family's link, and the segments recorded are the phone's.
    text = [m for m in twilio.messages if m.to == c.marisol.phone][-1]
    link = text.body.rsplit("\n", 1)[1]
    assert link.startswith(get_settings().public_url.rstrip("/") + "/f/")
    sms = session.scalar(
        select(Delivery)
        .where(Delivery.message_id == message["id"], Delivery.channel == "sms")
        .execution_options(populate_existing=True)
    )
    assert sms.segments == count_segments(text.body).segments

    # The email has both files attached, the photo without its metadata.
    email = smtp.messages[-1]
    parts = {p.get_filename(): p for p in email.iter_attachments()}
    assert set(parts) == {"IMG_0042.jpg", "permission slip.pdf"}
    assert parts["permission slip.pdf"].get_content_type() == "application/pdf"
    assert parts["permission slip.pdf"].get_content() == PDF_BYTES
    assert parts["IMG_0042.jpg"].get_content() == stored

    # The family page shows the photo inline and the PDF as a download, from its own address.
    path = link.removeprefix(get_settings().public_url.rstrip("/"))
    page = client.get(path)
    assert page.status_code == 200
    assert f'<img src="{path}/attachments/{photo.json()["id"]}"' in page.text
    assert f'href="{path}/attachments/{pdf.json()["id"]}" download=' in page.text
    assert "img-src 'self'" in page.headers["content-security-policy"]
    shown = client.get(f"{path}/attachments/{photo.json()['id']}")
    assert shown.status_code == 200 and shown.content == stored
    assert shown.headers["content-type"] == "image/jpeg"
    got = client.get(f"{path}/attachments/{pdf.json()['id']}")
    assert got.status_code == 200 and got.content == PDF_BYTES
    assert got.headers["content-disposition"].startswith("attachment;")

    # Staff who may read the thread get the files too.
    mine = client.get(f"/api/v1/attachments/{pdf.json()['id']}", headers=teacher)
    assert mine.status_code == 200 and mine.content == PDF_BYTES


def test_a_file_that_is_not_what_it_says_is_refused_and_nothing_is_kept(
    client, auth, session, classroom
):
    teacher = auth("read,write,send", staff=classroom.teacher)
    before_rows = session.scalar(select(func.count()).select_from(Attachment))
    before_files = stored_files()
    for name, data, kind, said in (
        ("slip.pdf", b"MZ\x90\x00 this is a program", "application/pdf", "This file is not a PDF."),
        ("slip.txt", b"just text", "application/pdf", "This file is not a PDF."),
        ("photo.png", PDF_BYTES, "image/png", "This file is not a PNG image."),
        ("notes.txt", b"hello", "text/plain", "Only photos (JPEG, PNG, WebP, GIF) and PDF"),
        ("broken.jpg", b"\xff\xd8\xff\xe0 not really", "image/jpeg", "could not be read"),
        ("empty.pdf", b"", "application/pdf", "This file is empty."),
    ):
        refused = upload(client, teacher, name, data, kind)
        assert refused.status_code == 422, (name, refused.text)
        assert said in refused.json()["error"]["message"], refused.text
    assert session.scalar(select(func.count()).select_from(Attachment)) == before_rows
    assert stored_files() == before_files


def test_a_file_over_the_limit_is_refused(client, auth, classroom, monkeypatch):
    monkeypatch.setenv("HEARTH_ATTACHMENT_MAX_MB", "1")
    get_settings.cache_clear()
    try:
        teacher = auth("read,write,send", staff=classroom.teacher)
        big = PDF_BYTES + b"0" * (1024 * 1024)
        refused = upload(client, teacher, "big.pdf", big, "application/pdf")
        assert refused.status_code == 422
        assert "larger than 1 MB" in refused.json()["error"]["message"]
    finally:
        monkeypatch.delenv("HEARTH_ATTACHMENT_MAX_MB")
        get_settings.cache_clear()


def test_a_tiny_gif_that_unpacks_to_gigabytes_is_refused_and_nothing_is_kept(
    client, auth, session, classroom
):
    teacher = auth("read,write,send", staff=classroom.teacher)
    bomb = screen_gif(2000, 2000, 40)  # 40 frames of 2000×2000: 160 megapixels
    assert len(bomb) < 2000 and Image.open(io.BytesIO(bomb)).n_frames == 40
    before_rows = session.scalar(select(func.count()).select_from(Attachment))
    before_files = stored_files()
    refused = upload(client, teacher, "hello.gif", bomb, "image/gif")
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["message"] == (
        "This image is too large: at most 50 megapixels (an animation's frames counted"
        " together) and 500 frames. Send a smaller one."
    )
    assert session.scalar(select(func.count()).select_from(Attachment)) == before_rows
    assert stored_files() == before_files


@pytest.mark.parametrize(
    ("width", "height", "frames"),
    [(7500, 7500, 1), (1, 1, files.MAX_FRAMES + 1)],
    ids=["one-huge-frame", "too-many-frames"],
)
def test_an_image_too_large_to_unpack_is_refused_before_it_is_decoded(width, height, frames):
    with pytest.raises(files.Refused) as refused:
        files.clean("photo.gif", None, screen_gif(width, height, frames))
    assert refused.value.msgid == files.IMAGE_TOO_BIG
    # Within the limits, the same kind of file goes through.
    assert files.clean("photo.gif", None, screen_gif(500, 500, 20)).content_type == "image/gif"


def test_other_families_and_other_teachers_cannot_read_it(client, auth, session, classroom, twilio):
    c = classroom
    office = c.office
    teacher = auth("read,write,send", staff=c.teacher)
    pdf = upload(client, teacher, "slip.pdf", PDF_BYTES, "application/pdf").json()
    # Nobody else may put the upload on their own message, nor read it before it is sent.
    colleague = auth("read,write,send", staff=c.colleague)
    assert client.get(f"/api/v1/attachments/{pdf['id']}", headers=colleague).status_code == 404
    thread = client.post(
        "/api/v1/threads",
        headers=colleague,
        json={"student_id": c.hao.id, "subject": "Hi", "guardian_ids": [c.wei.id]},
    ).json()
    stolen = client.post(
        f"/api/v1/threads/{thread['id']}/messages",
        headers=colleague,
        json={"body": "Hello", "attachment_ids": [pdf["id"]]},
    )
    assert stolen.status_code == 404
    _, message = post_note(
        client, auth, c, "The slip.", guardians=("marisol",), attachment_ids=[pdf["id"]]
    )
    assert message["attachments"][0]["id"] == pdf["id"]
    # Used once only: it is on that message now.
    twice = client.post(
        f"/api/v1/threads/{message['thread_id']}/messages",
        headers=teacher,
        json={"body": "Again", "attachment_ids": [pdf["id"]]},
    )
    assert twice.status_code == 409 and "already on a message" in twice.text
    # Another teacher of the school: not their thread.
    assert client.get(f"/api/v1/attachments/{pdf['id']}", headers=colleague).status_code == 404
    # The office sees the school's threads.
    office_key = auth("read", staff=office)
    assert client.get(f"/api/v1/attachments/{pdf['id']}", headers=office_key).status_code == 200
    # Marisol's page shows it; Lan's (not in that thread) and a made-up token do not.
    own = link_for(client, auth, c.marisol, office)
    other = link_for(client, auth, c.lan, office)
    assert client.get(f"{own}/attachments/{pdf['id']}").status_code == 200
    assert client.get(f"{other}/attachments/{pdf['id']}").status_code == 404
    assert client.get(f"/f/{'x' * 43}/attachments/{pdf['id']}").status_code == 404
    assert client.get(f"{own}/attachments/{pdf['id'] + 1000}").status_code == 404


def test_another_schools_file_looks_exactly_like_one_that_does_not_exist(
    client, auth, session, classroom, twilio
):
    c = classroom
    teacher = auth("read,write,send", staff=c.teacher)
    pdf = upload(client, teacher, "slip.pdf", PDF_BYTES, "application/pdf").json()
    post_note(client, auth, c, "The slip.", guardians=("marisol",), attachment_ids=[pdf["id"]])
    elsewhere = auth("read", school=SchoolFactory(name="Hillside Middle"))
    theirs = client.get(f"/api/v1/attachments/{pdf['id']}", headers=elsewhere)
    missing = client.get(f"/api/v1/attachments/{pdf['id'] + 1000}", headers=elsewhere)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert theirs.json()["error"]["message"] == "No such attachment."


@pytest.mark.parametrize("huge", ["99999999999999999999", str(2**31)])
def test_an_attachment_id_no_row_can_have_is_not_found(
    client, auth, session, classroom, signed_in, huge
):
    c = classroom
    staff = signed_in(c.teacher).client
    family = link_for(client, auth, c.marisol, c.office)
    for accept in ("text/html", "image/*"):
        for path in (f"/attachments/{huge}", f"{family}/attachments/{huge}"):
            response = staff.get(path, headers={"accept": accept})
            assert response.status_code == 404, (path, accept, response.text)


def test_erasing_a_family_removes_its_messages_files(client, auth, session, classroom, twilio):
    c = classroom
    teacher = auth("read,write,send", staff=c.teacher)
    pdf = upload(client, teacher, "slip.pdf", PDF_BYTES, "application/pdf").json()
    post_note(client, auth, c, "The slip.", guardians=("marisol",), attachment_ids=[pdf["id"]])
    row = session.get(Attachment, pdf["id"])
    path = files.path_of(row)
    assert path.exists()
    response = client.delete(
        f"/api/v1/guardians/{c.marisol.id}?confirm=true", headers=auth("admin")
    )
    assert response.status_code == 200, response.text
    assert response.json()["attachments_deleted"] == 1
    session.expire_all()
    assert session.get(Attachment, pdf["id"]) is None
    assert not path.exists()
    assert records.ERASABLE[-1] == "attachments"


def test_a_broadcast_carries_its_files_and_its_preview_counts_the_link(
    client, auth, session, classroom, twilio, smtp
):
    c = classroom
    c.ana.channels = ["email"]
    session.commit()
    headers = auth("read,send", staff=c.office)
    pdf = upload(client, headers, "menu.pdf", PDF_BYTES, "application/pdf").json()
    draft = {
        "school_id": c.school.id,
        "audience": {"whole_school": True},
        "title": "Lunch menu",
        "body": "The lunch menu for December.",
        "attachment_ids": [pdf["id"]],
    }
    preview = client.post("/api/v1/broadcasts/preview", headers=headers, json=draft)
    assert preview.status_code == 200, preview.text
    per_language = {lang["language"]: lang for lang in preview.json()["languages"]}
    # A short text: only its file makes it carry the link.
    assert "/f/" in per_language["es"]["sms_text"]
    created = client.post("/api/v1/broadcasts", headers=headers, json=draft)
    assert created.status_code == 201, created.text
    sent = [m for m in twilio.messages if m.to == c.marisol.phone][-1]
    link = sent.body.rsplit("\n", 1)[1]
    assert "/f/" in link
    assert per_language["es"]["segments"] == count_segments(sent.body).segments
    path = link.removeprefix(get_settings().public_url.rstrip("/"))
    got = client.get(f"{path}/attachments/{pdf['id']}")
    assert got.status_code == 200 and got.content == PDF_BYTES
    emailed = [m for m in smtp.messages if m["To"] == c.ana.email]
    assert emailed and [p.get_filename() for p in emailed[-1].iter_attachments()] == ["menu.pdf"]


def test_a_teacher_attaches_on_the_thread_page_and_the_preview_counts_what_is_sent(
    client, auth, session, classroom, twilio, signed_in
):
    c = classroom
    thread, _ = post_note(client, auth, c, "Hello.", guardians=("marisol",))
    page = signed_in(c.teacher)
    short = "Photos from today."
    # The preview is told there are files (it is not sent them) and counts the link.
    preview = page.post(
        f"/threads/{thread['id']}/preview", data={"body": short, "attachments": "photo.jpg"}
    )
    assert preview.status_code == 200, preview.text
    counted = int(re.search(r'data-segments="(\d+)"', preview.text).group(1))
    sent = page.post(
        f"/threads/{thread['id']}/reply",
        data={"body": short},
        files=[("attachments", ("trip.jpg", photo_with_gps(), "image/jpeg"))],
    )
    assert sent.status_code == 303, sent.text
    text = [m for m in twilio.messages if m.to == c.marisol.phone][-1]
    assert "/f/" in text.body
    assert counted == count_segments(text.body).segments
    # The thread shows the photo, served to the teacher without its metadata.
    shown = page.get(f"/threads/{thread['id']}")
    found = re.search(r'<img src="/attachments/(\d+)"', shown.text)
    assert found, shown.text
    photo = page.get(f"/attachments/{found.group(1)}")
    assert photo.status_code == 200 and b"SecretCam" not in photo.content
    assert photo.content[:3] == b"\xff\xd8\xff"
    # Another teacher of the school may not open it.
    other = signed_in(c.colleague)
    assert other.get(f"/attachments/{found.group(1)}").status_code == 404


def test_the_thread_page_refuses_a_fake_pdf_in_the_teachers_language(
    client, auth, session, classroom, twilio, signed_in
):
    c = classroom
    thread, _ = post_note(client, auth, c, "Hello.", guardians=("marisol",))
    c.teacher.ui_language = "es"
    session.commit()
    before_messages = session.scalar(select(func.count()).select_from(Delivery))
    before_rows = session.scalar(select(func.count()).select_from(Attachment))
    before_files = stored_files()
    page = signed_in(c.teacher)
    refused = page.post(
        f"/threads/{thread['id']}/reply",
        data={"body": "La hoja de permiso."},
        files=[
            ("attachments", ("ok.pdf", PDF_BYTES, "application/pdf")),
            ("attachments", ("slip.pdf", b"GIF89a not a pdf", "application/pdf")),
        ],
    )
    assert refused.status_code == 422
    assert "Este archivo no es un PDF." in refused.text
    assert session.scalar(select(func.count()).select_from(Attachment)) == before_rows
    assert session.scalar(select(func.count()).select_from(Delivery)) == before_messages
    assert stored_files() == before_files


def test_retention_deletes_old_messages_files(client, auth, session, classroom, twilio):
    c = classroom
    teacher = auth("read,write,send", staff=c.teacher)
    pdf = upload(client, teacher, "slip.pdf", PDF_BYTES, "application/pdf").json()
    _, message = post_note(
        client, auth, c, "The slip.", guardians=("marisol",), attachment_ids=[pdf["id"]]
    )
    path = files.path_of(session.get(Attachment, pdf["id"]))
    session.execute(
        update(Message)
        .where(Message.id == message["id"])
        .values(created_at=datetime.now(UTC) - timedelta(days=800))
    )
    session.commit()
    dry = records.purge(session, days=730, dry_run=True)
    assert dry["attachments"] == 1 and path.exists()
    report = records.purge(session, days=730)
    session.commit()
    assert report["attachments"] == 1
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert not path.exists()


def test_a_new_note_from_the_compose_page_carries_its_pdf(
    client, auth, session, classroom, twilio, signed_in
):
    c = classroom
    page = signed_in(c.teacher)
    form = {
        "student_id": str(c.mateo.id),
        "guardian_ids": [str(c.marisol.id)],
        "subject": "Permission slip",
        "body": "Please sign the slip.",
    }
    preview = page.post("/compose/preview", {**form, "attachments": "slip.pdf"})
    assert preview.status_code == 200, preview.text
    counted = int(re.search(r'data-segments="(\d+)"', preview.text).group(1))
    sent = page.post(
        "/compose", form, files=[("attachments", ("slip.pdf", PDF_BYTES, "application/pdf"))]
    )
    assert sent.status_code == 303, sent.text[:500]
    row = session.scalar(select(Attachment).order_by(Attachment.id.desc()))
    assert row.filename == "slip.pdf" and row.message_id is not None
    text = [m for m in twilio.messages if m.to == c.marisol.phone][-1]
    assert "/f/" in text.body and counted == count_segments(text.body).segments


def test_every_photo_type_is_stored_without_its_metadata():
    from PIL import PngImagePlugin

    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    base = Image.new("RGB", (20, 10), (10, 120, 200))
    made = {}
    png = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "SecretCam at home")
    base.save(png, format="PNG", pnginfo=info, exif=exif)
    made["image/png"] = png.getvalue()
    webp = io.BytesIO()
    base.save(webp, format="WEBP", exif=exif)
    made["image/webp"] = webp.getvalue()
    gif = io.BytesIO()
    frames = [base.convert("P"), Image.new("RGB", (20, 10), (200, 0, 0)).convert("P")]
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], comment=b"SecretCam")
    made["image/gif"] = gif.getvalue()
    for kind, data in made.items():
        assert b"SecretCam" in data, kind
        cleaned = files.clean(f"photo.{kind.split('/')[1]}", None, data)
        assert cleaned.content_type == kind
        assert b"SecretCam" not in cleaned.data, kind
        again = Image.open(io.BytesIO(cleaned.data))
        assert again.size == (20, 10) and not again.getexif(), kind
    assert Image.open(io.BytesIO(files.clean("a.gif", None, made["image/gif"]).data)).n_frames == 2


def test_an_upload_never_sent_is_swept_the_next_night(client, auth, session, classroom):
    teacher = auth("read,write,send", staff=classroom.teacher)
    pdf = upload(client, teacher, "draft.pdf", PDF_BYTES, "application/pdf").json()
    path = files.path_of(session.get(Attachment, pdf["id"]))
    assert files.sweep_unused(session) == 0 and path.exists()  # today's stays
    later = datetime.now(UTC) + timedelta(days=2)
    assert files.sweep_unused(session, now=later) == 1
    session.commit()
    assert session.get(Attachment, pdf["id"]) is None and not path.exists()


def test_the_office_attaches_a_pdf_to_a_broadcast_on_its_page(
    client, auth, session, classroom, twilio, signed_in
):
    c = classroom
    web = signed_in(c.office)
    form = {
        "school_id": str(c.school.id),
        "audience": "whole_school",
        "template": "",
        "body": "The lunch menu for December.",
        "language": "en",
        "when": "now",
        "urgent": "1",
    }
    refused = web.post(
        "/broadcasts/preview",
        form,
        files=[("attachments", ("menu.pdf", b"<html>not a pdf</html>", "application/pdf"))],
    )
    assert refused.status_code == 422
    assert "Este archivo no es un PDF." in html.unescape(refused.text)  # the office reads Spanish
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0
    preview = web.post(
        "/broadcasts/preview",
        form,
        files=[("attachments", ("menu.pdf", PDF_BYTES, "application/pdf"))],
    )
    assert preview.status_code == 200, preview.text
    draft = html.unescape(re.search(r'name="draft" value="([^"]*)"', preview.text).group(1))
    assert '"attachment_ids":[' in draft
    sent = web.post("/broadcasts", {"draft": draft})
    assert sent.status_code == 303, sent.text[:500]
    row = session.scalar(select(Attachment).execution_options(populate_existing=True))
    assert row.filename == "menu.pdf" and row.broadcast_id is not None
    assert row.message_id is not None
    text = [m for m in twilio.messages if m.to == c.marisol.phone][-1]
    assert "/f/" in text.body
