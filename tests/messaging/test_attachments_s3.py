# ruff: noqa: F401, F811  (fixtures shared with the delivery tests)
"""Attachments kept in an S3-compatible store (HEARTH_ATTACHMENT_STORE=s3), against a real
local S3 server: what staff upload and families send lands in the bucket and nowhere on disk,
is served, emailed and deleted from there; a bad configuration and a missing bucket say so."""

import hashlib
import io
import os
import secrets
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from pydantic import ValidationError
from sqlalchemy import func, select, update

from app.core.config import Settings, get_settings, settings_error_line
from app.delivery import attachments as files
from app.delivery import filestore
from app.delivery.models import Attachment, Delivery
from app.messaging.models import Message
from app.records import service as records
from tests.conftest import S3_KEYS, run_hearth
from tests.delivery.conftest import smtp, twilio
from tests.delivery.test_two_way import post_note
from tests.messaging.test_attachments import PDF_BYTES, stored_files, upload
from tests.messaging.test_mms_and_summary import _last_to, _path, _school
from tests.messaging.test_photo_replies import (
    attachments_of,
    latest_reply,
    link_for,
    post_from_page,
    send_mms,
)


def unique_photo() -> bytes:
    """A phone's JPEG (camera and GPS in its EXIF) of pixels no other test stores."""
    image = Image.new("RGB", (64, 48), tuple(secrets.randbelow(256) for _ in range(3)))
    image.putpixel((0, 0), tuple(secrets.randbelow(256) for _ in range(3)))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def unique_pdf() -> bytes:
    return PDF_BYTES + f"% {secrets.token_hex(8)}\n".encode()


def test_a_staff_upload_lands_in_the_bucket_and_is_served_and_emailed_from_there(
    client, auth, session, classroom, twilio, smtp, s3_bucket
):
    c = classroom
    c.marisol.channels = ["sms", "email"]
    session.commit()
    on_disk = stored_files()
    teacher = auth("read,write,send", staff=c.teacher)
    original = unique_photo()
    assert b"SecretCam" in original
    photo = upload(client, teacher, "IMG_0042.jpg", original, "image/jpeg")
    assert photo.status_code == 201, photo.text
    slip = unique_pdf()
    pdf = upload(client, teacher, "slip.pdf", slip, "application/pdf")
    assert pdf.status_code == 201, pdf.text

    # In the bucket, under <prefix><sha256>, the re-encoded photo (no EXIF); not on disk.
    row = session.get(Attachment, photo.json()["id"])
    assert s3_bucket.keys() == {
        f"attachments/{row.sha256}",
        f"attachments/{hashlib.sha256(slip).hexdigest()}",
    }
    stored = s3_bucket.read(row.sha256)
    assert hashlib.sha256(stored).hexdigest() == row.sha256 and len(stored) == row.size
    assert b"SecretCam" not in stored and stored.startswith(b"\xff\xd8\xff")
    assert stored_files() == on_disk
    assert not files.path_of(row).exists()

    _, message = post_note(
        client,
        auth,
        c,
        "Photos from the field trip.",
        guardians=("marisol",),
        attachment_ids=[photo.json()["id"], pdf.json()["id"]],
    )

    # Staff download it, the family page shows it, the email carries it: all from the bucket.
    mine = client.get(f"/api/v1/attachments/{photo.json()['id']}", headers=teacher)
    assert mine.status_code == 200 and mine.content == stored
    assert mine.headers["content-type"] == "image/jpeg"
    assert mine.headers["content-disposition"] == 'inline; filename="IMG_0042.jpg"'
    got = client.get(f"/api/v1/attachments/{pdf.json()['id']}", headers=teacher)
    assert got.content == slip and got.headers["content-disposition"].startswith("attachment;")
    path = link_for(client, auth, c.marisol)
    shown = client.get(f"{path}/attachments/{photo.json()['id']}")
    assert shown.status_code == 200 and shown.content == stored
    assert shown.headers["content-security-policy"] == "default-src 'none'; sandbox"
    email = smtp.messages[-1]
    parts = {p.get_filename(): p.get_content() for p in email.iter_attachments()}
    assert parts == {"IMG_0042.jpg": stored, "slip.pdf": slip}

    # An object gone from the bucket is "not found", as a missing file is.
    s3_bucket.client.remove_object(s3_bucket.name, f"attachments/{row.sha256}")
    assert client.get(f"/api/v1/attachments/{row.id}", headers=teacher).status_code == 404
    assert client.get(f"{path}/attachments/{row.id}").status_code == 404


def test_an_email_whose_store_fails_is_tried_again_with_the_reason(
    client, auth, session, classroom, twilio, smtp, s3_bucket
):
    c = classroom
    c.marisol.channels = ["email"]
    session.commit()
    teacher = auth("read,write,send", staff=c.teacher)
    slip = unique_pdf()
    pdf = upload(client, teacher, "slip.pdf", slip, "application/pdf").json()
    s3_bucket.client.remove_object(s3_bucket.name, f"attachments/{pdf['sha256']}")
    s3_bucket.client.remove_bucket(s3_bucket.name)
    sent = len(smtp.messages)
    _, message = post_note(
        client, auth, c, "The slip.", guardians=("marisol",), attachment_ids=[pdf["id"]]
    )
    email = session.scalar(
        select(Delivery)
        .where(Delivery.message_id == message["id"], Delivery.channel == "email")
        .execution_options(populate_existing=True)
    )
    assert email.status == "queued" and email.error_code == "attachment"
    assert email.error_text == (
        f"The attachment store (bucket {s3_bucket.name}) failed to read a file (NoSuchBucket): "
        "try again in a moment."
    )
    assert len(smtp.messages) == sent


def test_retention_deletes_the_object_but_not_one_another_message_uses(
    client, auth, session, classroom, twilio, s3_bucket
):
    c = classroom
    teacher = auth("read,write,send", staff=c.teacher)
    first = upload(client, teacher, "slip.pdf", PDF_BYTES, "application/pdf").json()
    second = upload(client, teacher, "slip again.pdf", PDF_BYTES, "application/pdf").json()
    sha256 = hashlib.sha256(PDF_BYTES).hexdigest()
    assert s3_bucket.keys() == {f"attachments/{sha256}"}  # one object for the same bytes
    _, old = post_note(
        client, auth, c, "Old.", guardians=("marisol",), attachment_ids=[first["id"]]
    )
    _, new = post_note(client, auth, c, "New.", guardians=("lan",), attachment_ids=[second["id"]])

    def age(message_id: int) -> None:
        session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(created_at=datetime.now(UTC) - timedelta(days=800))
        )
        session.commit()

    age(old["id"])
    assert records.purge(session, days=730)["attachments"] == 1
    session.commit()
    assert s3_bucket.has(sha256)  # the new note still carries it
    assert client.get(f"/api/v1/attachments/{second['id']}", headers=teacher).content == PDF_BYTES

    age(new["id"])
    assert records.purge(session, days=730)["attachments"] == 1
    session.commit()
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert s3_bucket.keys() == set()


def test_erasing_a_family_deletes_its_objects(client, auth, session, classroom, twilio, s3_bucket):
    c = classroom
    teacher = auth("read,write,send", staff=c.teacher)
    pdf = upload(client, teacher, "slip.pdf", PDF_BYTES, "application/pdf").json()
    post_note(client, auth, c, "The slip.", guardians=("marisol",), attachment_ids=[pdf["id"]])
    assert s3_bucket.has(hashlib.sha256(PDF_BYTES).hexdigest())
    response = client.delete(
        f"/api/v1/guardians/{c.marisol.id}?confirm=true", headers=auth("admin")
    )
    assert response.status_code == 200, response.text
    assert response.json()["attachments_deleted"] == 1
    assert s3_bucket.keys() == set()


def test_an_unused_upload_is_swept_from_the_bucket(client, auth, session, classroom, s3_bucket):
    teacher = auth("read,write,send", staff=classroom.teacher)
    assert upload(client, teacher, "a.pdf", PDF_BYTES, "application/pdf").status_code == 201
    assert files.sweep_unused(session, now=datetime.now(UTC) + timedelta(days=2)) == 1
    assert s3_bucket.keys() == set()


def test_a_photo_from_the_family_page_lands_in_the_bucket_and_reaches_the_teacher(
    client, auth, session, classroom, smtp, s3_bucket
):
    c = classroom
    post_note(client, auth, c, "Mateo will be absent tomorrow.")
    on_disk = stored_files()
    path = link_for(client, auth, c.marisol)
    sent = post_from_page(client, path, "", ("IMG_1.jpg", unique_photo(), "image/jpeg"))
    assert sent.status_code == 303, sent.text
    [photo] = attachments_of(session, latest_reply(session).id)
    stored = s3_bucket.read(photo.sha256)
    assert b"SecretCam" not in stored and stored_files() == on_disk
    assert not files.path_of(photo).exists()
    assert client.get(f"{path}/attachments/{photo.id}").content == stored
    [part] = list(smtp.messages[-1].iter_attachments())  # the teacher's email
    assert part.get_filename() == "IMG_1.jpg" and part.get_content() == stored


def test_an_mms_photo_lands_in_the_bucket(client, auth, session, classroom, twilio, s3_bucket):
    c = classroom
    post_note(client, auth, c, "Mateo will be absent tomorrow.")
    sent = unique_pdf()
    send_mms(client, twilio, c.marisol.phone, "", [(sent, "application/pdf")])
    [pdf] = attachments_of(session, latest_reply(session).id)
    assert s3_bucket.read(pdf.sha256) == sent
    assert not files.path_of(pdf).exists()


def test_an_mms_to_a_family_is_fetched_by_twilio_from_the_bucket(
    client, auth, session, classroom, twilio, s3_bucket
):
    c = classroom
    _school(client, auth, c.school, mms_images=True)
    teacher = auth("read,write,send", staff=c.teacher)
    photo = upload(client, teacher, "IMG_0042.jpg", unique_photo(), "image/jpeg").json()
    post_note(
        client, auth, c, "Our class photo!", guardians=("marisol",), attachment_ids=[photo["id"]]
    )
    [url] = _last_to(twilio, c.marisol.phone).media_urls
    fetched = client.get(_path(url))
    assert fetched.status_code == 200 and fetched.content == s3_bucket.read(photo["sha256"])

    # The store down: 503 for Twilio to try again, not "no such image".
    s3_bucket.client.remove_object(s3_bucket.name, f"attachments/{photo['sha256']}")
    s3_bucket.client.remove_bucket(s3_bucket.name)
    assert client.get(_path(url)).status_code == 503


def test_a_store_that_fails_refuses_the_upload_clearly_and_keeps_nothing(
    client, auth, session, classroom, s3_bucket
):
    s3_bucket.client.remove_bucket(s3_bucket.name)
    before = session.scalar(select(func.count()).select_from(Attachment))
    teacher = auth("read,write,send", staff=classroom.teacher)
    response = upload(client, teacher, "a.pdf", PDF_BYTES, "application/pdf")
    assert response.status_code == 503, response.text
    message = response.json()["error"]["message"]
    assert message.startswith(f"The attachment store (bucket {s3_bucket.name}) failed")
    assert S3_KEYS[1] not in response.text and S3_KEYS[0] not in response.text
    assert session.scalar(select(func.count()).select_from(Attachment)) == before


def test_readiness_reports_the_bucket_and_fails_clearly_when_it_is_missing(client, s3_bucket):
    ready = client.get("/api/v1/ready").json()
    assert ready["checks"]["attachment_store"] == {"status": "ok", "kind": "s3"}
    s3_bucket.client.remove_bucket(s3_bucket.name)
    response = client.get("/api/v1/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["attachment_store"] == {"status": "failed", "kind": "s3"}
    assert f"the attachment store has no bucket {s3_bucket.name}" in body["error"]["message"]
    assert S3_KEYS[1] not in response.text and S3_KEYS[0] not in response.text


def test_the_local_store_has_no_readiness_check(client):
    assert "attachment_store" not in client.get("/api/v1/ready").json()["checks"]


@pytest.mark.parametrize(
    ("settings", "line"),
    [
        (
            {"attachment_store": "s3", "s3_endpoint": "s3.example.org"},
            "configuration refused: HEARTH_ATTACHMENT_STORE=s3 needs HEARTH_S3_BUCKET, "
            "HEARTH_S3_ACCESS_KEY, HEARTH_S3_SECRET_KEY (the store's address, its bucket and "
            "the keys that may read and write it)",
        ),
        (
            {
                "attachment_store": "s3",
                "s3_endpoint": "ftp://s3.example.org",
                "s3_bucket": "hearth",
                "s3_access_key": "a",
                "s3_secret_key": "very-secret",
            },
            "configuration refused: HEARTH_S3_ENDPOINT must be host:port or an http(s):// URL "
            "with no path (the bucket is HEARTH_S3_BUCKET)",
        ),
        (
            {
                "attachment_store": "s3",
                "s3_endpoint": "s3.example.org",
                "s3_bucket": "Not a bucket!",
                "s3_access_key": "a",
                "s3_secret_key": "very-secret",
            },
            "configuration refused: HEARTH_S3_BUCKET must be a bucket's name: 3 to 63 letters, "
            "digits, dots or hyphens, starting and ending with a letter or digit",
        ),
    ],
)
def test_a_bad_s3_configuration_is_refused_in_one_clear_line(settings, line):
    with pytest.raises(ValidationError) as refused:
        Settings(**settings)
    assert settings_error_line(refused.value) == line


def test_hearth_will_not_start_with_s3_and_no_keys(tmp_path):
    done = run_hearth(
        tmp_path / "data",
        "serve",
        settings={
            "HEARTH_ATTACHMENT_STORE": "s3",
            "HEARTH_S3_ENDPOINT": "minio.internal:9000",
            "HEARTH_S3_BUCKET": "hearth",
            "HEARTH_S3_SECRET_KEY": "very-secret-value",
        },
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: configuration refused: HEARTH_ATTACHMENT_STORE=s3 needs HEARTH_S3_ACCESS_KEY "
        "(the store's address, its bucket and the keys that may read and write it)"
    )


def test_readiness_finds_the_buckets_region_itself(client, s3_bucket, monkeypatch):
    monkeypatch.setenv("HEARTH_S3_REGION", "")
    get_settings.cache_clear()
    assert get_settings().s3_region == ""
    ready = client.get("/api/v1/ready").json()
    assert ready["checks"]["attachment_store"] == {"status": "ok", "kind": "s3"}
    s3_bucket.client.remove_bucket(s3_bucket.name)
    body = client.get("/api/v1/ready").json()
    assert f"the attachment store has no bucket {s3_bucket.name}" in body["error"]["message"]


def test_the_secret_key_is_never_shown():
    settings = Settings(
        attachment_store="s3",
        s3_endpoint="https://s3.example.org",
        s3_bucket="hearth",
        s3_access_key="a",
        s3_secret_key="very-secret-value",
    )
    assert "very-secret-value" not in repr(settings) and "very-secret-value" not in str(settings)
    store = filestore.current(settings)
    assert isinstance(store, filestore.S3Store)
    assert store.endpoint == "s3.example.org" and store.client._base_url.is_https


def _tiny_hearth_database(data_dir) -> None:
    data_dir.mkdir()
    with sqlite3.connect(data_dir / "hearth.db") as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        db.execute("INSERT INTO alembic_version VALUES ('9d4e6b2a1f57')")
    (data_dir / "attachments").mkdir()
    (data_dir / "attachments" / ("0" * 64)).write_bytes(b"left from the local store")


def test_backup_and_restore_say_the_files_are_in_the_bucket_and_copy_none(tmp_path, s3_bucket):
    data = tmp_path / "data"
    _tiny_hearth_database(data)
    store = {k: v for k, v in os.environ.items() if k.startswith("HEARTH_S3")}
    store["HEARTH_ATTACHMENT_STORE"] = "s3"
    backup = tmp_path / "backup.db"
    done = run_hearth(data, "backup", str(backup), settings=store)
    assert done.returncode == 0, done.stderr
    assert (
        "no attachment files copied: they are kept in the S3 bucket "
        f"{s3_bucket.name} ({s3_bucket.endpoint}), not on this server" in done.stdout
    )
    assert backup.is_file() and not (tmp_path / "backup.db.attachments").exists()
    assert S3_KEYS[1] not in done.stdout + done.stderr

    s3_bucket.client.put_object(s3_bucket.name, "attachments/x", io.BytesIO(b""), 0)
    fresh = tmp_path / "fresh"
    restored = run_hearth(fresh, "restore", str(backup), settings=store)
    assert restored.returncode == 0, restored.stderr
    assert "no attachment files restored: they are kept in the S3 bucket" in restored.stdout
    assert (fresh / "hearth.db").is_file() and not (fresh / "attachments").exists()
    assert s3_bucket.keys() == {"attachments/x"}  # nothing written to the store
