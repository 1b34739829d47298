"""The outbox's webhooks: Twilio's status callbacks, and one-click email unsubscribe."""

from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.metrics import webhook_timer
from app.core.proxy import signed_urls
from app.delivery import inbound, optouts, service
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
