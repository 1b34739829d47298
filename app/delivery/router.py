"""Webhooks: Twilio's inbound SMS and status callbacks, and inbound email (raw MIME)."""

from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.errors import Forbidden, NotFound
from app.core.metrics import webhook_timer
from app.core.proxy import signed_urls
from app.core.security import constant_time_equal
from app.delivery import inbound, optouts, service

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
            inbound.receive_sms, session, params, signed_urls(request), signature
        )
    return Response(EMPTY_TWIML, media_type="text/xml")


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
        message = await run_in_threadpool(inbound.receive_email, session, await request.body())
    return {"message_id": message.id, "thread_id": message.thread_id}


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
    if optouts.unsubscribe_email(session, token) is None:
        raise NotFound("This unsubscribe link is not valid.")
    return Response(
        "<!doctype html><p style='font:18px sans-serif;margin:2rem'>"
        "Done: no more email. Texts, if you get them, continue.</p>",
        media_type="text/html",
    )
