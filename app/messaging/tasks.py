"""The conversation's jobs: translate a new message and release its deliveries, read a family's
text, and the sweep that finds what was lost."""

from datetime import timedelta

from huey import crontab
from sqlalchemy.orm import Session

from app.core.queue import PERIODIC_PRIORITY, enqueue_job, job
from app.delivery import inbound, inbound_media
from app.delivery import service as delivery
from app.messaging import family_links, interpreting, replies, translations
from app.messaging import service as messaging


@job("messaging.prepare", queue="translate", retries=3, retry_delay=30)
def prepare_message(session: Session, message_id: int) -> None:
    """Translate a new message once per language, then hand each delivery its body and queue
    it for sending."""
    translations.fill_translations(
        session,
        message_id,
        messaging.protection_for(session, message_id),
        urgent=delivery.is_urgent(session, message_id),
    )
    texts = translations.texts_for_delivery(session, message_id)
    links = family_links.linker_for_message(session, message_id)
    for delivery_id in delivery.release(session, message_id, texts, links):
        enqueue_job(session, "delivery.send", delivery_id)


@job("messaging.route_sms", queue="translate", retries=5, retry_delay=10)
def route_sms(session: Session, inbound_id: int) -> None:
    """Read a family's stored text: a keyword, or a reply routed to its thread."""
    replies.route_sms(session, inbound_id)


@job("messaging.fetch_media", queue="send")
def fetch_media(session: Session, message_id: int) -> None:
    """Fetch the photos of a family's MMS reply and attach them; what failed is tried again
    later (a job scheduled by replies.fetch_media), never stored twice."""
    replies.fetch_media(session, message_id)


@job("messaging.sweep", periodic=crontab(minute="*"), priority=PERIODIC_PRIORITY)
def sweep(session: Session) -> None:
    """Every minute (HEARTH_OUTBOX_SWEEP_SECONDS): messages whose translation job was lost are
    translated, then sent; texts from families stored but never read are read."""
    for message_id in delivery.awaiting_translation(session):
        enqueue_job(session, "messaging.prepare", message_id)
    for inbound_id in inbound.unprocessed(session):
        enqueue_job(session, "messaging.route_sms", inbound_id)
    for message_id in inbound_media.stalled(session):
        enqueue_job(session, "messaging.fetch_media", message_id)


@job("messaging.recover", recovers=True, priority=PERIODIC_PRIORITY)
def recover(session: Session, owner: str) -> None:
    """A process died, perhaps mid-translation or mid-read: what waits for a translation is
    translated, and what families sent is read, now rather than after the grace period."""
    for message_id in delivery.awaiting_translation(session, grace=timedelta(0)):
        enqueue_job(session, "messaging.prepare", message_id)
    for inbound_id in inbound.unprocessed(session, grace=timedelta(0)):
        enqueue_job(session, "messaging.route_sms", inbound_id)


@job(
    "messaging.escalate_interpretation",
    periodic=crontab(minute="*/5"),
    priority=PERIODIC_PRIORITY,
)
def escalate_interpretation(session: Session) -> None:
    """Every five minutes: interpretation tasks past their school's deadline go to the office."""
    interpreting.escalate_overdue(session)
