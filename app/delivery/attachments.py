"""Photos and PDFs that go out with a note or a broadcast.

- What a file is comes from its bytes (their first "magic" bytes), never from its name or the
  type the browser sent: a file named `.pdf` that is not a PDF is refused, and so is anything
  but JPEG, PNG, WebP, GIF and PDF.
- Photos are decoded and encoded again with Pillow: what goes out is the picture only — no
  EXIF (camera, GPS position, time), no comments, no embedded thumbnails. A photo Pillow cannot
  read is refused, and so is one that would unpack to more than `MAX_PIXELS` or `MAX_FRAMES`
  (a tiny file can declare a huge picture). PDFs are kept as sent.
- A file is stored once, named by its SHA-256, in the attachment store (app/delivery/filestore.py:
  `<data dir>/attachments/<sha256>`, or an S3-compatible bucket); the `attachments` row says
  whose it is. Every read, write and removal of a file goes through that store.
  A refused file leaves nothing behind. The file goes when the last row naming it goes.
"""

import hashlib
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageOps, ImageSequence
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.core.config import Settings, get_settings
from app.core.db import utcnow
from app.core.errors import Conflict, Invalid, NotFound
from app.delivery import filestore
from app.delivery.models import Attachment, InboundMedia

PDF = "application/pdf"
IMAGE_TYPES = {
    "image/jpeg": ("JPEG", "JPEG"),
    "image/png": ("PNG", "PNG"),
    "image/webp": ("WEBP", "WebP"),
    "image/gif": ("GIF", "GIF"),
}
EXTENSIONS = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".pdf": PDF,
}
# At most this many files on one message.
MAX_PER_MESSAGE = 10
# What one photo may unpack to, read from its header before any pixel is decoded: pixels in
# all (width × height × frames), and frames. Decoded, each pixel takes 3-4 bytes, and a GIF's
# re-encode keeps every frame at the size of its whole screen, so a 1 KB GIF declaring a
# 2000×2000 screen and 40 one-pixel frames would take 640 MB. 50 megapixels is a phone's
# largest photo (8160×6120), or a 500×500 animation of 200 frames; Pillow's own limit
# (89 megapixels in one frame) costs about 1 GB to re-encode.
MAX_PIXELS = 50_000_000
# Every frame kept is an object of its own: a tiny screen is no excuse for thousands.
MAX_FRAMES = 500

NOT_A_PDF = "This file is not a PDF."
NOT_AN_IMAGE = "This file is not a %(kind)s image."
UNREADABLE_IMAGE = "This image could not be read: it may be damaged."
UNSUPPORTED = "Only photos (JPEG, PNG, WebP, GIF) and PDF files can be attached."
TOO_LARGE = "This file is larger than %(mb)s MB, the most an attachment may be."
EMPTY = "This file is empty."
IMAGE_TOO_BIG = (
    "This image is too large: at most %(megapixels)s megapixels (an animation's frames counted"
    " together) and %(frames)s frames. Send a smaller one."
)


class Refused(Invalid):
    """A file that cannot be attached, with the reason in plain words (its msgid for pages)."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message % values if values else message)
        self.msgid = message
        self.values = values


@dataclass(frozen=True)
class Cleaned:
    data: bytes
    content_type: str


def sniff(data: bytes) -> str | None:
    """The type the bytes say they are, of the ones Hearth takes; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def declared_type(filename: str, content_type: str | None) -> str | None:
    """What the sender said the file is: by its name's extension, else its declared type."""
    ext = Path(filename).suffix.lower()
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    if content_type:
        kind = content_type.split(";")[0].strip().lower()
        if kind == "image/jpg":
            return "image/jpeg"
        if kind in IMAGE_TYPES or kind == PDF:
            return kind
    return None


def _check_size(image: Image.Image, fmt: str) -> None:
    """`Refused` where the image would unpack to more than `MAX_PIXELS` or `MAX_FRAMES` (only
    a GIF keeps its frames; the others go out as their first)."""
    # Counted by reading the file's frame headers, without decoding one.
    frames: int = getattr(image, "n_frames", 1) if fmt == "GIF" else 1
    if frames > MAX_FRAMES or image.width * image.height * frames > MAX_PIXELS:
        raise Refused(IMAGE_TOO_BIG, megapixels=MAX_PIXELS // 1_000_000, frames=MAX_FRAMES)


def _reencode(data: bytes, content_type: str) -> bytes:
    fmt, _ = IMAGE_TYPES[content_type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
            _check_size(opened, fmt)
            opened.load()
            image: Image.Image = opened
            if fmt == "JPEG":
                # The camera's orientation is applied to the pixels before EXIF goes.
                image = ImageOps.exif_transpose(image)
            out = io.BytesIO()
            if fmt == "GIF":
                # Each frame copied with only what draws it: a comment (or any other
                # extension) read back from the file would be written out again.
                keep = ("transparency", "duration", "loop", "background", "disposal")
                frames = []
                for frame in ImageSequence.Iterator(image):
                    copy = frame.copy()
                    copy.info = {k: v for k, v in frame.info.items() if k in keep}
                    frames.append(copy)
                frames[0].save(
                    out,
                    format="GIF",
                    save_all=len(frames) > 1,
                    append_images=frames[1:],
                    comment=b"",
                )
            elif fmt == "JPEG":
                image = image.convert("RGB") if image.mode not in ("RGB", "L") else image
                image.save(out, format="JPEG", quality=90, optimize=True)
            elif fmt == "PNG":
                clean = Image.frombytes(image.mode, image.size, image.tobytes())
                if image.mode == "P":
                    palette = image.getpalette()
                    if palette is not None:
                        clean.putpalette(palette)
                    if "transparency" in image.info:
                        clean.info["transparency"] = image.info["transparency"]
                clean.save(out, format="PNG", optimize=True)
            else:
                clean = Image.frombytes(image.mode, image.size, image.tobytes())
                clean.save(out, format="WEBP", quality=90)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused(UNREADABLE_IMAGE) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise Refused(UNREADABLE_IMAGE) from None
    return out.getvalue()


def clean(filename: str, content_type: str | None, data: bytes) -> Cleaned:
    """The file as it will be stored and sent, or `Refused` with the reason."""
    max_mb = get_settings().attachment_max_mb
    if not data:
        raise Refused(EMPTY)
    if len(data) > max_mb * 1024 * 1024:
        raise Refused(TOO_LARGE, mb=max_mb)
    said = declared_type(filename, content_type)
    actual = sniff(data)
    if said == PDF and actual != PDF:
        raise Refused(NOT_A_PDF)
    if said in IMAGE_TYPES and actual not in IMAGE_TYPES:
        raise Refused(NOT_AN_IMAGE, kind=IMAGE_TYPES[said][1])
    if actual is None:
        raise Refused(UNSUPPORTED)
    if actual == PDF:
        return Cleaned(data, PDF)
    return Cleaned(_reencode(data, actual), actual)


def safe_filename(filename: str, content_type: str) -> str:
    """A name for the file as families see it: no folders, no control characters, and the
    extension of what the file really is."""
    name = Path(filename.replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f\x7f\"/<>:|?*]", "", name).strip(" .") or "attachment"
    stem = Path(name).stem[:150] or "attachment"
    ext = {v: k for k, v in EXTENSIONS.items() if k != ".jpeg"}[content_type]
    return f"{stem}{ext}"


def folder(settings: Settings | None = None) -> Path:
    """The folder of the local store (HEARTH_ATTACHMENT_STORE=local)."""
    return filestore.folder(settings)


def path_of(row: Attachment) -> Path:
    """Where the local store keeps this file (nothing in Hearth reads it from there but the
    store itself)."""
    return folder() / row.sha256


def _write(data: bytes, sha256: str, content_type: str) -> None:
    filestore.current().put(sha256, data, content_type)


def store(
    session: Session, uploaded_by: str, filename: str, content_type: str | None, data: bytes
) -> Attachment:
    """An uploaded file checked, cleaned and stored, not yet on any message."""
    return store_cleaned(session, uploaded_by, filename, clean(filename, content_type, data))


def store_cleaned(
    session: Session, uploaded_by: str, filename: str, cleaned: Cleaned
) -> Attachment:
    """A file `clean` already checked, stored, not yet on any message."""
    sha256 = hashlib.sha256(cleaned.data).hexdigest()
    _write(cleaned.data, sha256, cleaned.content_type)
    row = Attachment(
        uploaded_by=uploaded_by,
        filename=safe_filename(filename, cleaned.content_type),
        content_type=cleaned.content_type,
        size=len(cleaned.data),
        sha256=sha256,
    )
    session.add(row)
    session.flush()
    return row


def attach(
    session: Session,
    ids: list[int],
    uploaded_by: str,
    message_id: int | None,
    school_id: int,
    broadcast_id: int | None = None,
) -> list[Attachment]:
    """Files this uploader sent, not on any message yet, put on a new message (or held for a
    broadcast until it goes out: `message_id` None, `broadcast_id` set)."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    if len(ids) > MAX_PER_MESSAGE:
        raise Invalid(f"A message may carry at most {MAX_PER_MESSAGE} attachments.")
    rows = list(session.scalars(select(Attachment).where(Attachment.id.in_(ids))))
    found = {r.id: r for r in rows if r.uploaded_by == uploaded_by}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"No attachment {missing[0]} uploaded by you.")
    for row in rows:
        if row.message_id is not None or row.broadcast_id is not None:
            raise Conflict(f"Attachment {row.id} is already on a message: upload it again.")
        row.message_id = message_id
        row.school_id = school_id
        row.broadcast_id = broadcast_id
    session.flush()
    return [found[i] for i in ids]


def of_broadcast(session: Session, broadcast_id: int, message_id: int | None = None) -> int:
    """How many files a broadcast carries; with `message_id`, they are put on its message."""
    rows = list(session.scalars(select(Attachment).where(Attachment.broadcast_id == broadcast_id)))
    if message_id is not None:
        for row in rows:
            row.message_id = message_id
        session.flush()
    return len(rows)


def by_ids(session: Session, ids: list[int]) -> list[Attachment]:
    """These attachments (the ones that exist), in the order given."""
    if not ids:
        return []
    rows = {r.id: r for r in session.scalars(select(Attachment).where(Attachment.id.in_(ids)))}
    return [rows[i] for i in dict.fromkeys(ids) if i in rows]


def held_for_broadcast(session: Session, broadcast_id: int) -> list[Attachment]:
    """The files a broadcast carries, in the order they were uploaded."""
    return list(
        session.scalars(
            select(Attachment)
            .where(Attachment.broadcast_id == broadcast_id)
            .order_by(Attachment.id)
        )
    )


def for_message(session: Session, message_id: int) -> list[Attachment]:
    return list(
        session.scalars(
            select(Attachment).where(Attachment.message_id == message_id).order_by(Attachment.id)
        )
    )


def for_messages(session: Session, message_ids: list[int]) -> dict[int, list[Attachment]]:
    found: dict[int, list[Attachment]] = {}
    if not message_ids:
        return found
    for row in session.scalars(
        select(Attachment).where(Attachment.message_id.in_(message_ids)).order_by(Attachment.id)
    ):
        assert row.message_id is not None
        found.setdefault(row.message_id, []).append(row)
    return found


def read(row: Attachment) -> bytes:
    """The file's bytes (`FileNotFoundError` when it is gone, `filestore.StoreError` when the
    store fails)."""
    return filestore.current().get(row.sha256)


def reader(row: Attachment) -> Callable[[], bytes]:
    """Reads the file when called (by a sender, once the database work is done)."""
    sha256 = row.sha256
    return lambda: filestore.current().get(sha256)


def exists(row: Attachment) -> bool:
    return filestore.current().exists(row.sha256)


def remove_for_messages(session: Session, message_ids: list[int]) -> int:
    """The attachments of these messages go, rows and files (a file another row still names
    stays), and so do the media URLs of the photos a family sent by MMS (a file not fetched
    yet never will be). Returns how many attachment rows went."""
    if not message_ids:
        return 0
    session.execute(
        delete(InboundMedia)
        .where(InboundMedia.message_id.in_(message_ids))
        .execution_options(synchronize_session=False)
    )
    rows = list(session.scalars(select(Attachment).where(Attachment.message_id.in_(message_ids))))
    if not rows:
        return 0
    session.execute(
        delete(Attachment)
        .where(Attachment.id.in_([r.id for r in rows]))
        .execution_options(synchronize_session=False)
    )
    for row in rows:
        session.expunge(row)
    hashes = {r.sha256 for r in rows}
    still = set(session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(hashes))))
    _remove_files(hashes - still)
    return len(rows)


def _remove_files(hashes: set[str]) -> None:
    store = filestore.current()
    for sha256 in sorted(hashes):
        store.delete(sha256)


# An upload never put on a message (the note was not sent) goes after this long.
UNUSED_FOR = timedelta(days=1)


def sweep_unused(session: Session, now: datetime | None = None) -> int:
    """Uploads on no message and no broadcast, older than `UNUSED_FOR`, go (rows and files
    no other row names). Returns how many."""
    cutoff = (now or utcnow()) - UNUSED_FOR
    rows = list(
        session.scalars(
            select(Attachment).where(
                Attachment.message_id.is_(None),
                Attachment.broadcast_id.is_(None),
                Attachment.created_at < cutoff,
            )
        )
    )
    if not rows:
        return 0
    hashes = {r.sha256 for r in rows}
    for row in rows:
        session.delete(row)
    session.flush()
    still = set(session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(hashes))))
    _remove_files(hashes - still)
    return len(rows)
