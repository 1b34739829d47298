"""The outbox's webhooks: Twilio's status callbacks (texts and calls), what a call says (its
TwiML and audio, at URLs signed per delivery), the photo an MMS carries (at a URL signed for
it), and one-click email unsubscribe."""

from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.metrics import webhook_timer
from app.core.proxy import signed_urls
from app.delivery import attachments, inbound, mms, optouts, service, voice
from app.delivery.models import Attachment, Delivery
from app.people import service as people

router = APIRouter(tags=["webhooks"])


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.multi_items()}


@router.post("/webhooks/twilio/status", include_in_schema=False)
async def twilio_status(request: Request, session: SessionDep) -> Response:
    with webhook_timer("twilio_status"):
        params = await _form(request)
        inbound.verify_twilio(
            params, signed_urls(request), request.headers.get("x-twilio-signature", "")
        )
        inbound.refuse_nul(params)
        sid = params.get("MessageSid") or params.get("SmsSid")
        status = params.get("MessageStatus") or params.get("SmsStatus")
        if sid and status:
            await run_in_threadpool(
                service.apply_status, session, sid, status.lower(), params.get("ErrorCode") or None
            )
    return Response(status_code=204)


@router.post("/webhooks/twilio/voice/status", include_in_schema=False)
async def twilio_voice_status(request: Request, session: SessionDep) -> Response:
    with webhook_timer("twilio_voice_status"):
        params = await _form(request)
        inbound.verify_twilio(
            params, signed_urls(request), request.headers.get("x-twilio-signature", "")
        )
        inbound.refuse_nul(params)
        sid, status = params.get("CallSid"), params.get("CallStatus")
        if sid and status:
            await run_in_threadpool(
                service.apply_call_status,
                session,
                sid,
                status.lower(),
                params.get("AnsweredBy") or None,
            )
    return Response(status_code=204)


NOT_A_CALL = "No such call."


def _call(session: SessionDep, delivery_id: int, signature: str, expires: int) -> Delivery:
    """The call a signed URL names; 404 for a wrong, missing or expired signature, as for no
    call."""
    signed = voice.check(delivery_id, signature, expires)
    row = service.voice_call(session, delivery_id) if signed else None
    if row is None:
        raise NotFound(NOT_A_CALL)
    return row


def _twiml(xml: str) -> Response:
    return Response(xml, media_type="text/xml")


@router.api_route("/voice/{delivery_id}/twiml", methods=["GET", "POST"], include_in_schema=False)
async def call_twiml(
    request: Request, delivery_id: int, session: SessionDep, s: str = "", e: int = 0
) -> Response:
    row = _call(session, delivery_id, s, e)
    params = await _form(request) if request.method == "POST" else dict(request.query_params)
    answered_by = params.get("AnsweredBy") or None
    if answered_by and answered_by.startswith("machine"):
        service.mark_voicemail(row)
    return _twiml(voice.twiml_call(row, answered_by))


@router.post("/voice/{delivery_id}/gather", include_in_schema=False)
async def call_gather(
    request: Request, delivery_id: int, session: SessionDep, s: str = "", e: int = 0
) -> Response:
    row = _call(session, delivery_id, s, e)
    params = await _form(request)
    return _twiml(voice.twiml_digits(row, params.get("Digits", "").strip()))


@router.post("/voice/{delivery_id}/recorded", include_in_schema=False)
def call_recorded(delivery_id: int, session: SessionDep, s: str = "", e: int = 0) -> Response:
    return _twiml(voice.twiml_recorded(_call(session, delivery_id, s, e)))


@router.get("/voice/{delivery_id}/{part}.wav", include_in_schema=False)
def call_audio(
    delivery_id: int, part: str, session: SessionDep, s: str = "", e: int = 0
) -> Response:
    row = _call(session, delivery_id, s, e)
    try:
        data = voice.audio(row, part)
    except LookupError:
        raise NotFound(voice.NO_VOICE) from None
    return Response(
        data, media_type="audio/wav", headers={"Cache-Control": "private, max-age=3600"}
    )


@router.get("/mms/{attachment_id}", include_in_schema=False)
def mms_image(attachment_id: int, session: SessionDep, e: str = "", s: str = "") -> Response:
    """The photo of an MMS, for Twilio to fetch: only at a URL signed for it, until it expires."""
    row = session.get(Attachment, attachment_id) if mms.check(attachment_id, e, s) else None
    if row is None or row.message_id is None or not row.is_image:
        raise NotFound("No such image.")
    try:
        data = attachments.read(row)
    except FileNotFoundError:  # a store that fails answers 503 (Twilio tries again)
        raise NotFound("No such image.") from None
    return Response(
        data,
        media_type=row.content_type,
        headers={
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
            "X-Robots-Tag": "noindex, nofollow",
        },
    )


@router.get("/unsubscribe/{token}", include_in_schema=False)
def unsubscribe_page(token: str) -> Response:
    # The token comes from the address bar: quoted, so that it cannot close the attribute.
    action = f"/unsubscribe/{quote(token, safe='')}"
    form = (
        f'<!doctype html><meta name="viewport" content="width=device-width">'
        f'<form method="post" action="{action}" style="font:18px sans-serif;'
        f'margin:2rem"><p>Stop email from your school?</p><button>Unsubscribe</button>'
        f"</form>"
    )
    return Response(form, media_type="text/html")


@router.post("/unsubscribe/{token}", include_in_schema=False)
def unsubscribe(token: str, session: SessionDep) -> Response:
    # That family gets no more email; texts, if chosen, go on.
    guardian_id = optouts.unsubscribed_guardian(token)
    if guardian_id is None or people.stop_email(session, guardian_id, actor="family") is None:
        raise NotFound("This unsubscribe link is not valid.")
    return Response(
        "<!doctype html><p style='font:18px sans-serif;margin:2rem'>"
        "Done: no more email. Texts, if you get them, continue.</p>",
        media_type="text/html",
    )
