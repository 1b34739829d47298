"""The dev phone and dev mail pages (dev mode only): the whole two-way loop with no Twilio and no
mail server. A reply typed here is a correctly signed Twilio webhook through the real path."""

import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from app.channels.models import DevOutbox
from app.channels.twilio_http import media_credentials
from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.errors import Invalid, NotFound
from app.core.schema import Id
from app.delivery import mms
from app.delivery.models import InboundSms, OptOut
from app.devtools.twilio_double import TwilioDouble
from app.messaging import replies
from app.messaging.attachments import read_limit
from app.people import search
from app.people.models import Guardian, Student, StudentGuardian
from app.schools.models import School

router = APIRouter(prefix="/dev", include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


@router.get("/phone", response_class=HTMLResponse)
def phones(request: Request, session: SessionDep, q: str = ""):
    received = dict(
        session.execute(
            select(DevOutbox.to, func.count())
            .where(DevOutbox.channel == "sms")
            .group_by(DevOutbox.to)
        ).all()
    )
    stmt = (
        select(Guardian)
        .where(Guardian.phone.is_not(None))
        .order_by(Guardian.family_name, Guardian.given_name)
    )
    if q:
        stmt = stmt.where(search.matches(Guardian.search_key, q))
    guardians = list(session.scalars(stmt.limit(500)))
    guardians.sort(key=lambda g: -received.get(g.phone or "", 0))
    return templates.TemplateResponse(
        request, "phones.html", {"guardians": guardians, "received": received, "q": q}
    )


def _school_of(session: SessionDep, guardian: Guardian) -> School | None:
    return session.scalar(
        select(School)
        .join(Student, Student.school_id == School.id)
        .join(StudentGuardian, StudentGuardian.student_id == Student.id)
        .where(StudentGuardian.guardian_id == guardian.id)
        .limit(1)
    )


_FAMILY_LINK = re.compile(r"https?://\S+/f/[A-Za-z0-9_-]+")
_MMS_IMAGE = re.compile(r"/mms/(\d+)\?")


def _image_path(media_url: str | None) -> str | None:
    """Where the dev phone shows an MMS's photo from: its URL signed afresh (the one sent
    expires), relative to this server."""
    found = _MMS_IMAGE.search(media_url or "")
    if found is None:
        return None
    fresh = urlsplit(mms.url(int(found.group(1))))
    return f"{fresh.path}?{fresh.query}"


@router.get("/phone/{guardian_id}", response_class=HTMLResponse)
def phone(guardian_id: Id, request: Request, session: SessionDep):
    guardian = session.get(Guardian, guardian_id)
    if guardian is None or not guardian.phone:
        raise NotFound("No guardian with a phone has that id.")
    school = _school_of(session, guardian)
    bubbles: list[dict[str, Any]] = [
        {
            "at": m.created_at,
            "mine": False,
            "text": m.body,
            "sender": m.sender,
            "image": _image_path(m.media_url),
        }
        for m in session.scalars(
            select(DevOutbox).where(DevOutbox.channel == "sms", DevOutbox.to == guardian.phone)
        )
    ]
    bubbles += [
        {
            "at": m.received_at,
            "mine": True,
            "text": m.body,
            "sender": m.from_number,
            "media": m.params.get("NumMedia", "0") not in ("", "0"),
        }
        for m in session.scalars(select(InboundSms).where(InboundSms.from_number == guardian.phone))
    ]
    bubbles.sort(key=lambda b: b["at"])
    for b in bubbles:  # a family's link to the family page opens, as on a phone
        found = _FAMILY_LINK.search(b["text"]) if not b["mine"] else None
        b["parts"] = (
            (b["text"][: found.start()], found.group(0), b["text"][found.end() :])
            if found
            else None
        )
    # Calls the dev backend "placed" to this phone: what the family would have heard.
    calls = list(
        session.scalars(
            select(DevOutbox)
            .where(DevOutbox.channel == "voice", DevOutbox.to == guardian.phone)
            .order_by(DevOutbox.id.desc())
            .limit(50)
        )
    )
    opted_out = bool(
        school
        and session.scalar(
            select(OptOut.id).where(
                OptOut.phone == guardian.phone,
                OptOut.sender == school.sms_sender,
                OptOut.active.is_(True),
            )
        )
    )
    return templates.TemplateResponse(
        request,
        "phone.html",
        {
            "guardian": guardian,
            "school": school,
            "bubbles": bubbles,
            "calls": calls,
            "opted_out": opted_out,
        },
    )


# The phone's photos are served as Twilio serves an MMS's media: by a Twilio double on a
# loopback port, at the MediaUrl the webhook names, for the account's credentials.
_MEDIA: TwilioDouble | None = None


def _media_double() -> TwilioDouble:
    global _MEDIA
    account, token = media_credentials(get_settings())
    if _MEDIA is None or (_MEDIA.account_sid, _MEDIA.auth_token) != (account, token):
        if _MEDIA is not None:
            _MEDIA.stop()
        _MEDIA = TwilioDouble(account_sid=account, auth_token=token).start()
    return _MEDIA


@router.post("/phone/{guardian_id}/reply")
def reply(
    guardian_id: Id,
    session: SessionDep,
    body: str = Form("", max_length=1600),
    photo: UploadFile | None = File(None),
):
    guardian = session.get(Guardian, guardian_id)
    if guardian is None or not guardian.phone:
        raise NotFound("No guardian with a phone has that id.")
    school = _school_of(session, guardian)
    if school is None or not school.sms_sender:
        raise NotFound("This guardian's school has no SMS number.")
    settings = get_settings()
    url = settings.public_url.rstrip("/") + "/webhooks/twilio/sms"
    data = photo.file.read(read_limit()) if photo is not None and photo.filename else b""
    if data and photo is not None:
        # An MMS, as Twilio would post it: the photo is fetched afterwards from the double.
        params, headers = _media_double().inbound_mms_request(
            url,
            guardian.phone,
            school.sms_sender,
            body,
            [(data, photo.content_type or "application/octet-stream")],
        )
        replies.receive_sms(session, params, [url], headers["X-Twilio-Signature"])
        return RedirectResponse(f"/dev/phone/{guardian_id}", status_code=303)
    if not body:
        raise Invalid("Write a reply or choose a photo.")
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": guardian.phone,
        "To": school.sms_sender,
        "Body": body,
        "NumMedia": "0",
    }
    signature = RequestValidator(settings.webhook_auth_token()).compute_signature(url, params)
    replies.receive_sms(session, params, [url], signature)
    return RedirectResponse(f"/dev/phone/{guardian_id}", status_code=303)


@router.get("/mail", response_class=HTMLResponse)
def mail(request: Request, session: SessionDep):
    emails = list(
        session.scalars(
            select(DevOutbox)
            .where(DevOutbox.channel == "email")
            .order_by(DevOutbox.id.desc())
            .limit(200)
        )
    )
    return templates.TemplateResponse(request, "mail.html", {"emails": emails})
