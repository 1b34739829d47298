"""One photo as MMS: when a school allows it, a note or broadcast carrying exactly one photo
goes to US and Canadian numbers as MMS, the photo in the text, instead of a link to it.

- Twilio fetches the photo itself, so it is served at a URL of its own, with no staff session
  and no family link: signed (HMAC with the app's secret key) for that one attachment and an
  expiry an hour after the send. A guessed, altered or expired URL answers 404.
- What is served is the stored file: the photo as Hearth re-encoded it (no EXIF, no GPS).
- PDFs and several files keep the link to the family page; so do numbers outside the US and
  Canada, where an MMS from a US number does not arrive.
- Twilio bills an MMS per message, not per segment: such a text counts as one.
"""

from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import quote

import phonenumbers

from app.core.config import get_settings
from app.core.db import utcnow
from app.core.security import constant_time_equal, sign
from app.delivery.models import Attachment

# Where an MMS from a US number arrives.
MMS_REGIONS = frozenset({"US", "CA"})
# How long the signed URL of a photo opens: Twilio fetches it within seconds of the send.
URL_LIFETIME = timedelta(hours=1)


def image_for(enabled: bool, files: Sequence[Attachment]) -> int | None:
    """The photo a message's texts may carry as MMS: its only file, when that is a photo and
    the school sends MMS; else None (the texts carry the link)."""
    if enabled and len(files) == 1 and files[0].is_image:
        return files[0].id
    return None


def reaches(phone: str | None) -> bool:
    """Whether an MMS from the school's (US) number reaches this phone: US and Canada only."""
    if not phone:
        return False
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.region_code_for_number(number) in MMS_REGIONS


def _signature(attachment_id: int, expires: int) -> str:
    return sign(get_settings().signing_key(), f"mms-image:{attachment_id}:{expires}")[:40]


def url(attachment_id: int) -> str:
    """The signed, expiring public URL Twilio fetches the photo from."""
    expires = int((utcnow() + URL_LIFETIME).timestamp())
    base = get_settings().public_url.rstrip("/")
    signature = quote(_signature(attachment_id, expires))
    return f"{base}/mms/{attachment_id}?e={expires}&s={signature}"


def check(attachment_id: int, expires: str, given: str) -> bool:
    """A URL made by `url` for this attachment, not yet expired."""
    if not (expires.isascii() and expires.isdigit()) or len(expires) > 12 or not given:
        return False
    if int(expires) < utcnow().timestamp():
        return False
    return constant_time_equal(given, _signature(attachment_id, int(expires)))
