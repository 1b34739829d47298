"""Faults during a broadcast on the scale-out deployment (PostgreSQL, Redis, two `hearth worker`
processes, the Twilio double or a real SMTP server), each injected for real on loopback: a
worker killed with SIGKILL, Twilio answering 500 and 429, the SMTP server down, PostgreSQL
restarted, Redis flushed. After each, every family gets the notice exactly once. Each test
prints what it injected and what it counted.

The last two tests pin the two races behind those guarantees on any database, in-process."""

import contextlib
import socket
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import redis
from aiosmtpd.controller import Controller

from app.devtools.twilio_double import TwilioDouble
from tests.scaleout import harness

GUARDIANS = 1000
BODY = "School is closed today."
# Short clocks so that recovery takes seconds: sweep every 2 s, re-enqueue a queued row after
# 4 s, reconcile a row stuck `sending` after 8 s, retry a failed send after 1, 3 and 6 s. And
# at most 200 texts a second, shared by the workers through Redis, so that sending takes a few
# seconds at least and a fault lands mid-broadcast.
FAST = {
    "outbox_sweep_seconds": "2",
    "outbox_grace_seconds": "4",
    "sending_stale_seconds": "8",
    "send_retry_seconds": "[1, 3, 6]",
    "sms_segments_per_second": "200",
}
# Two threads per worker, so that some of the broadcast's sending jobs wait on the queue.
TWO_WORKERS = (("worker-1", ["--workers", "2"]), ("worker-2", ["--workers", "2"]))
SETTLE_TIMEOUT = 180


@contextlib.contextmanager
def broadcasting(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    settings: dict[str, str],
    channels: tuple[str, ...] = ("sms",),
) -> Iterator[tuple[dict, list[harness.Worker]]]:
    """GUARDIANS families and a broadcast to them all on the queue; two workers to send it."""
    env = harness.hearth_env(tmp_path, database_url, redis_url, **FAST, **settings)
    harness.seed_and_broadcast(env, GUARDIANS, BODY, channels=channels)
    with harness.workers(env, tmp_path, *TWO_WORKERS) as running:
        yield env, running


def assert_each_text_once(double: TwilioDouble, rows: Counter) -> None:
    per_number = harness.per_recipient(double)
    assert rows == Counter({"sent": GUARDIANS})
    assert len(per_number) == GUARDIANS, f"{GUARDIANS - len(per_number)} families got nothing"
    assert max(per_number.values()) == 1, "a family got the text twice"


def test_worker_killed_mid_broadcast_loses_nothing_and_doubles_nothing(
    tmp_path, database_url, redis_url
):
    # Latency: Twilio has the message a moment before the worker learns its sid, the window
    # in which a killed worker leaves a text sent but its row `sending`.
    with TwilioDouble(latency=0.02).start() as double:
        settings = harness.twilio_settings(double)
        with broadcasting(tmp_path, database_url, redis_url, settings) as (env, running):
            harness.wait_for(
                lambda: len(double.messages) >= GUARDIANS // 3, 120, "a third sent", running
            )
            running[0].kill()
            at_kill = len(double.messages)
            rows_at_kill = harness.delivery_statuses(database_url)
            running.append(harness.start_worker("worker-3", env, tmp_path, "--workers", "2"))
            rows = harness.wait_until_settled(database_url, GUARDIANS, SETTLE_TIMEOUT, running)
            sent_by = {w.name: w.outcomes()["sent"] for w in running}
    print(
        f"\ninjected: SIGKILL to worker-1 after {at_kill} of {GUARDIANS} texts reached Twilio "
        f"(rows then: {dict(rows_at_kill)}), then started worker-3\n"
        f"counted: {len(double.messages)} texts accepted by Twilio for "
        f"{len(harness.per_recipient(double))} numbers; rows: {dict(rows)}; sent per worker "
        f"(from their logs): {sent_by}"
    )
    assert 0 < at_kill < GUARDIANS
    assert sent_by["worker-2"] > 0 and sent_by["worker-3"] > 0
    assert_each_text_once(double, rows)


def test_twilio_500_then_429_every_text_sent_once_after_recovery(tmp_path, database_url, redis_url):
    errors_500, errors_429 = 100, 100
    with TwilioDouble().start() as double:
        settings = harness.twilio_settings(double)
        with broadcasting(tmp_path, database_url, redis_url, settings) as (_, running):
            harness.wait_for(
                lambda: len(double.messages) >= GUARDIANS // 4, 120, "a quarter sent", running
            )
            at_fault = len(double.messages)
            double.fail_next(*[(500, None)] * errors_500, *[(429, 20429)] * errors_429)
            rows = harness.wait_until_settled(database_url, GUARDIANS, SETTLE_TIMEOUT, running)
            attempts = harness.delivery_attempts(database_url)
    refused = Counter(a.http_status for a in double.attempts if a.status == "rejected")
    print(
        f"\ninjected: after {at_fault} texts, Twilio answered the next {errors_500} sends with "
        f"HTTP 500 and the {errors_429} after them with 429 (code 20429)\n"
        f"counted: {len(double.attempts)} send requests, refused {dict(refused)}, "
        f"{len(double.messages)} texts accepted for {len(harness.per_recipient(double))} "
        f"numbers; deliveries by attempts taken: {dict(sorted(attempts.items()))}; "
        f"rows: {dict(rows)}"
    )
    assert refused == Counter({500: errors_500, 429: errors_429})
    assert_each_text_once(double, rows)
    # Every refused send was tried again, and nothing else was: one claim per request.
    assert sum(n * count for n, count in attempts.items()) == len(double.attempts)


class Mailbox:
    """What a real SMTP server (aiosmtpd) accepted, across its restarts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def _smtp_port() -> int:
    with socket.socket() as probe:  # aiosmtpd checks its port by connecting, so not port 0
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_smtp_down_then_up_every_email_sent_once_after_recovery(tmp_path, database_url, redis_url):
    mailbox, port, down_seconds = Mailbox(), _smtp_port(), 3.0
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings = {"email_backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": str(port)}
    try:
        with broadcasting(tmp_path, database_url, redis_url, settings, ("email",)) as (
            _,
            running,
        ):
            harness.wait_for(
                lambda: len(mailbox.messages) >= GUARDIANS // 3, 120, "a third sent", running
            )
            controller.stop()
            at_stop = len(mailbox.messages)
            time.sleep(down_seconds)
            while_down = harness.delivery_statuses(database_url)
            controller = Controller(mailbox, hostname="127.0.0.1", port=port)
            controller.start()
            rows = harness.wait_until_settled(database_url, GUARDIANS, SETTLE_TIMEOUT, running)
            attempts = harness.delivery_attempts(database_url)
    finally:
        controller.stop()
    per_address = Counter(str(m["To"]) for m in mailbox.messages)
    print(
        f"\ninjected: SMTP server stopped after {at_stop} of {GUARDIANS} emails, down "
        f"{down_seconds:.0f} s (rows then: {dict(while_down)}), then started on the same port\n"
        f"counted: {len(mailbox.messages)} emails received for {len(per_address)} addresses; "
        f"deliveries by attempts taken: {dict(sorted(attempts.items()))}; rows: {dict(rows)}"
    )
    assert 0 < at_stop < GUARDIANS
    assert rows == Counter({"sent": GUARDIANS})
    assert len(per_address) == GUARDIANS and max(per_address.values()) == 1
    assert attempts.keys() - {1}, "no email was retried: the fault came too late"


def test_postgres_restarted_mid_broadcast_workers_recover_and_send_once(
    tmp_path, private_postgres, redis_url
):
    cluster, down_seconds = private_postgres, 2.0
    with TwilioDouble().start() as double:
        env = harness.hearth_env(tmp_path, cluster.url, redis_url)
        harness.migrate(env)
        settings = harness.twilio_settings(double)
        with broadcasting(tmp_path, cluster.url, redis_url, settings) as (_, running):
            harness.wait_for(
                lambda: len(double.messages) >= GUARDIANS // 3, 120, "a third sent", running
            )
            cluster.stop("immediate")  # as in a crash: no checkpoint, every connection cut
            at_stop = len(double.messages)
            time.sleep(down_seconds)
            while_down = len(double.messages)
            cluster.start()
            rows = harness.wait_until_settled(cluster.url, GUARDIANS, SETTLE_TIMEOUT, running)
            alive = [w.name for w in running if w.alive()]
            errors = sum(
                1 for w in running for r in w.records() if r.get("level") in ("error", "critical")
            )
    print(
        f"\ninjected: PostgreSQL stopped (immediate) after {at_stop} of {GUARDIANS} texts, "
        f"down {down_seconds:.0f} s ({while_down - at_stop} texts went out meanwhile), started "
        f"again\ncounted: {len(double.messages)} texts accepted by Twilio for "
        f"{len(harness.per_recipient(double))} numbers; rows: {dict(rows)}; workers alive: "
        f"{alive}; error lines in their logs: {errors}"
    )
    assert 0 < at_stop < GUARDIANS
    assert alive == ["worker-1", "worker-2"]
    assert_each_text_once(double, rows)


def test_redis_flushed_mid_broadcast_sweeper_requeues_and_sends_once(
    tmp_path, database_url, redis_url
):
    with TwilioDouble().start() as double:
        settings = harness.twilio_settings(double)
        with broadcasting(tmp_path, database_url, redis_url, settings) as (_, running):
            harness.wait_for(
                lambda: len(double.messages) >= GUARDIANS // 5, 120, "a fifth sent", running
            )
            client = redis.Redis.from_url(redis_url)
            waiting = sum(client.zcard(key) for key in client.scan_iter("huey.redis.*"))
            client.flushall()
            at_flush = len(double.messages)
            client.close()
            rows = harness.wait_until_settled(database_url, GUARDIANS, SETTLE_TIMEOUT, running)
    print(
        f"\ninjected: FLUSHALL after {at_flush} of {GUARDIANS} texts, with {waiting} jobs "
        f"waiting on the queue\ncounted: {len(double.messages)} texts accepted by Twilio for "
        f"{len(harness.per_recipient(double))} numbers; rows: {dict(rows)}"
    )
    assert waiting > 0, "nothing was waiting on the queue: the flush lost nothing"
    assert 0 < at_flush < GUARDIANS
    assert_each_text_once(double, rows)


# The races, pinned in-process (any database) -------------------------------------------------


def test_fan_out_cut_short_leaves_the_broadcast_to_its_retry(session, monkeypatch):
    from sqlalchemy import func, select

    from app.auth.service import AuthSubject
    from app.broadcasts import service
    from app.broadcasts.models import Broadcast
    from app.broadcasts.schemas import BroadcastDraft
    from app.core.queue import run_job
    from app.delivery.models import Delivery
    from tests.factories import GuardianFactory, SchoolFactory, StudentFactory

    school = SchoolFactory(sms_sender="+15125550100")
    student = StudentFactory(school=school)
    for i in range(3):
        GuardianFactory(
            phone=f"+1512557{i:04d}", language="en", channels=["sms"], students=[student]
        )
    session.commit()
    office = AuthSubject(
        role="office", scopes=frozenset({"read", "send"}), school_ids=frozenset({school.id})
    )
    planned = service.delivery.plan_many

    def database_gone(*args, **kwargs):
        raise ConnectionError("the database went away mid fan-out")

    # The fan-out job runs at create's commit (jobs run at once in tests) and dies midway.
    monkeypatch.setattr(service.delivery, "plan_many", database_gone)
    broadcast = service.create(
        session, office, BroadcastDraft(school_id=school.id, audience={"whole_school": True},
                                        urgent=True, body=BODY)
    )  # fmt: skip
    session.commit()  # as the request does: the fan-out job runs now, and dies
    session.refresh(broadcast)
    assert broadcast.status == "scheduled" and broadcast.message_id is None

    monkeypatch.setattr(service.delivery, "plan_many", planned)
    assert run_job("broadcasts.fan_out", broadcast.id) == 3  # its retry does the whole fan-out
    assert run_job("broadcasts.fan_out", broadcast.id) == 0  # once
    session.expire_all()
    assert session.get(Broadcast, broadcast.id).status == "sent"
    assert session.scalar(select(func.count()).select_from(Delivery)) == 3


def test_reconcile_leaves_alone_a_row_claimed_again_while_it_asked(session, monkeypatch):
    from sqlalchemy import update

    from app.channels import sms
    from app.core.db import get_sessionmaker
    from app.delivery import service
    from app.delivery.models import Delivery
    from app.messaging.models import Message
    from tests.factories import GuardianFactory, SchoolFactory, ThreadFactory

    school = SchoolFactory(sms_sender="+15125550100")
    guardian = GuardianFactory(phone="+15125558888", language="en", channels=["sms"])
    thread = ThreadFactory(school=school)
    message = Message(thread_id=thread.id, direction="outbound", body=BODY, language="en")
    session.add(message)
    session.flush()
    row = Delivery(
        message_id=message.id, guardian_id=guardian.id, school_id=school.id, channel="sms",
        address=guardian.phone, sender=school.sms_sender, language="en", body=BODY,
        status="sending", attempts=1, updated_at=datetime.now(UTC) - timedelta(hours=1),
    )  # fmt: skip
    session.add(row)
    session.commit()

    class Twilio:
        """Has no such text; meanwhile another sweeper requeued the row and a worker claimed
        it again and is sending it right now."""

        def find_sent(self, sender, to, body, since):
            with get_sessionmaker()() as other:
                other.execute(
                    update(Delivery)
                    .where(Delivery.id == row.id)
                    .values(status="sending", attempts=2, updated_at=datetime.now(UTC))
                )
                other.commit()
            return None

    monkeypatch.setattr(sms, "sms_channel", lambda: Twilio())
    counts = service.reconcile_interrupted(session)
    session.refresh(row)
    # Requeueing it now would send it a second time behind the sending worker's back.
    assert counts == {"found": 0, "requeued": 0, "review": 0}
    assert (row.status, row.attempts) == ("sending", 2)


def test_a_note_whose_translation_job_was_lost_is_translated_and_sent_by_the_sweep(
    session, argos_models
):
    from app.core.queue import run_job
    from app.delivery.models import Delivery
    from app.messaging.models import Message, MessageTranslation
    from tests.factories import GuardianFactory, SchoolFactory, ThreadFactory

    school = SchoolFactory(sms_sender="+15125550100")
    guardian = GuardianFactory(phone="+15125557777", language="es", channels=["sms"])
    thread = ThreadFactory(school=school, guardians=[guardian])
    message = Message(thread_id=thread.id, direction="outbound", body=BODY, language="en")
    session.add(message)
    session.flush()
    # What posting the note wrote, and then its translation job was lost with a flushed Redis.
    session.add(MessageTranslation(message_id=message.id, language="es", status="pending"))
    row = Delivery(
        message_id=message.id, guardian_id=guardian.id, school_id=school.id, channel="sms",
        address=guardian.phone, sender=school.sms_sender, language="es", body=None,
        status="queued", updated_at=datetime.now(UTC) - timedelta(hours=1),
    )  # fmt: skip
    session.add(row)
    session.commit()

    run_job("messaging.sweep")  # jobs run at once in tests: translate, then send
    session.refresh(row)
    assert row.status in ("sent", "delivered") and row.body and row.body != BODY
    run_job("messaging.sweep")  # nothing left waiting
    session.refresh(row)
    assert row.attempts == 1
