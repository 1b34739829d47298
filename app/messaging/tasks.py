from app.core.db import get_sessionmaker
from app.core.queue import enqueue_after_commit, translation_huey


@translation_huey.task(retries=3, retry_delay=30)
def prepare_message(message_id: int) -> None:
    """Translate a new message once per language, then hand each delivery its body and queue
    it for sending."""
    from app.delivery import service as delivery
    from app.delivery import tasks as delivery_tasks
    from app.messaging import service as messaging
    from app.translation import service as translation

    with get_sessionmaker()() as session:
        translation.fill_message(session, message_id, messaging.protection_for(session, message_id))
        texts = messaging.translated_texts(session, message_id)
        for delivery_id in delivery.release(session, message_id, texts):
            enqueue_after_commit(session, delivery_tasks.send_delivery, delivery_id)
        session.commit()
