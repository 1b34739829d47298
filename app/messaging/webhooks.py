"""What families send, arriving: Twilio's inbound SMS webhook, a reply recorded on a call, and
inbound email (raw MIME)."""

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.errors import Forbidden, Invalid, NotFound
from app.core.metrics import webhook_timer
from app.core.proxy import signed_urls
from app.core.security import constant_time_equal
from app.delivery import inbound
from app.delivery import voice as calls
from app.messaging import replies

router = APIRouter(tags=["webhooks"])

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.multi_items()}


@router.post("/webhooks/twilio/sms", include_in_schema=False)
async def twilio_sms(request: Request, session: SessionDep) -> Response:
    with webhook_timer("twilio_sms"):
        params = await _form(request)
        signature = request.headers.get("x-twilio-signature", "")
        await run_in_threadpool(
            replies.receive_sms, session, params, signed_urls(request), signature
        )
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/webhooks/twilio/voice/{delivery_id}/recording", include_in_schema=False)
async def twilio_voice_recording(
    request: Request, delivery_id: int, session: SessionDep, s: str = "", e: int = 0
) -> Response:
    """Twilio's recording callback: a reply the family left on a call. Both signed: the URL
    by Hearth (per call), the request by Twilio."""
    with webhook_timer("twilio_voice_recording"):
        if not calls.check(delivery_id, s, e):
            raise NotFound("No such call.")
        params = await _form(request)
        inbound.verify_twilio(
            params, signed_urls(request), request.headers.get("x-twilio-signature", "")
        )
        inbound.refuse_nul(params)
        recording_url = params.get("RecordingUrl", "")
        if recording_url and not recording_url.startswith(("https://", "http://")):
            raise Invalid("RecordingUrl must be an http(s) URL.")
        if params.get("RecordingStatus", "completed") == "completed" and recording_url:
            message = await run_in_threadpool(
                replies.receive_voice_reply, session, delivery_id, recording_url[:500]
            )
            if message is None:
                raise NotFound("No such call.")
    return Response(status_code=204)


@router.post("/webhooks/email/inbound", include_in_schema=False)
async def email_inbound(request: Request, session: SessionDep) -> dict[str, int]:
    with webhook_timer("email_inbound"):
        secret = get_settings().inbound_email_secret
        # A header only: a query string ends up in proxies' and servers' access logs.
        given = request.headers.get("x-hearth-secret", "")
        if not secret or not constant_time_equal(given, secret):
            raise Forbidden(
                "Inbound email needs the shared secret (HEARTH_INBOUND_EMAIL_SECRET) in the "
                "X-Hearth-Secret header."
            )
        message = await run_in_threadpool(replies.receive_email, session, await request.body())
    return {"message_id": message.id, "thread_id": message.thread_id}
