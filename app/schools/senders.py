"""The one rule for a school's SMS sender, wherever it is set (API, pages, `hearth schools
set-sender`): a Twilio phone number, stored in E.164, or a Messaging Service SID."""

import re

from app.core.contact import normalize_phone

_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
# What a person may type for a phone number: digits, spaces, ( ) . - and a leading +.
_PHONE_LIKE = re.compile(r"\+?[\d\s().-]{7,25}")


def normalize_sms_sender(raw: str, region: str) -> str:
    """`raw` as Hearth stores it: a number in E.164 (a national one read in `region`), or a
    Messaging Service SID (MG + 32 hex, lowercased); ValueError with a message a person
    understands otherwise."""
    text = raw.strip()
    if _SERVICE_SID.fullmatch(text):
        return "MG" + text[2:].lower()
    if text[:2].upper() == "MG":
        raise ValueError(
            f"'{raw}' is not a Messaging Service SID: those are MG followed by 32 hex characters"
        )
    if not _PHONE_LIKE.fullmatch(text):
        raise ValueError(
            f"'{raw}' is neither a phone number (E.164, e.g. +15125550100) nor a Messaging "
            "Service SID (MG followed by 32 hex characters)"
        )
    try:
        return normalize_phone(text, region)
    except ValueError:
        raise ValueError(
            f"'{raw}' is not a valid phone number (E.164, e.g. +15125550100)"
        ) from None
