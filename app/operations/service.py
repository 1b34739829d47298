"""What operators watch: gauges read from the database and the queue at scrape time (right
however many processes serve and work), and the readiness checks."""

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from huey import Huey
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.core import queue
from app.core.config import get_settings
from app.delivery import filestore
from app.delivery.models import Delivery, InboundEmail, InboundSms
from app.messaging.models import Message
from app.translation import multilingual, packages
from app.translation.argos import engine

log = logging.getLogger("hearth.operations")


def queue_kind(jobs: Huey) -> str:
    """sqlite, redis or memory: which Huey storage a queue lives in."""
    name = type(jobs.storage).__name__.lower()
    return next((k for k in ("sqlite", "redis", "memory") if k in name), name)


def pending_jobs() -> tuple[dict[str, int], list[str]]:
    """Jobs waiting in each queue (send, translate), and the queues that did not answer."""
    pending: dict[str, int] = {}
    unreachable: list[str] = []
    for name, jobs in queue.QUEUES.items():
        try:
            pending[name] = jobs.pending_count()
        except Exception as exc:
            log.warning("the %s queue did not answer: %s", name, exc.__class__.__name__)
            unreachable.append(name)
    return pending, unreachable


class ScrapeTimeGauges(Collector):
    """Counts read when /metrics is scraped, from the tables and the queue themselves."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterator[Metric]:
        deliveries = GaugeMetricFamily(
            "hearth_deliveries",
            "Deliveries in the outbox by status and channel (from the database).",
            labels=["status", "channel"],
        )
        rows = self.session.execute(
            select(Delivery.status, Delivery.channel, func.count()).group_by(
                Delivery.status, Delivery.channel
            )
        )
        for status, channel, count in rows:
            deliveries.add_metric([status, channel], count)
        yield deliveries

        inbound = GaugeMetricFamily(
            "hearth_inbound_messages",
            "Family replies received, by channel and detected language ('none': not a reply "
            "to staff, e.g. STOP or HELP, or not processed yet).",
            labels=["channel", "language"],
        )
        for channel, table in (("sms", InboundSms), ("email", InboundEmail)):
            language = func.coalesce(Message.language, "none")
            per_language = self.session.execute(
                select(language, func.count())
                .select_from(table)
                .outerjoin(Message, Message.id == table.message_id)
                .group_by(language)
            )
            for code, count in per_language:
                inbound.add_metric([channel, code], count)
        yield inbound

        # A queue that does not answer still gives a scrape: it shows as down.
        pending, _ = pending_jobs()
        up = GaugeMetricFamily(
            "hearth_queue_up",
            "1 when the job queue answered this scrape.",
            labels=["queue", "kind"],
        )
        waiting = GaugeMetricFamily(
            "hearth_queue_pending_jobs", "Jobs waiting for a worker, by queue.", labels=["queue"]
        )
        for name, jobs in queue.QUEUES.items():
            up.add_metric([name, queue_kind(jobs)], 1 if name in pending else 0)
            if name in pending:
                waiting.add_metric([name], pending[name])
        yield up
        yield waiting


# Readiness ------------------------------------------------------------------------------------


@dataclass
class Readiness:
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # said, but ready all the same

    @property
    def ready(self) -> bool:
        return not self.failures

    def message(self) -> str:
        return "Hearth is not ready: " + "; ".join(self.failures) + "."


def readiness(session: Session) -> Readiness:
    """The database answers, the queue answers, at least one translation model is there, and
    (when attachments are kept in S3) their bucket answers."""
    result = Readiness()

    try:
        session.execute(text("SELECT 1"))
        result.checks["database"] = {"status": "ok"}
    except Exception as exc:
        # Details (hosts, ports) go to the log, not to whoever can reach the probe.
        log.warning("ready: database check failed: %s", exc.__class__.__name__, exc_info=True)
        result.checks["database"] = {"status": "failed"}
        result.failures.append("the database does not answer")

    kind = "/".join(sorted({queue_kind(jobs) for jobs in queue.QUEUES.values()}))
    pending, unreachable = pending_jobs()
    if unreachable:
        result.checks["queue"] = {"status": "failed", "kind": kind, "unreachable": unreachable}
        result.failures.append(f"the job queue ({kind}) cannot be reached")
    else:
        result.checks["queue"] = {"status": "ok", "kind": kind, "pending": pending}

    try:
        routes = len(engine.pairs()) + len(multilingual.installed())  # one model may be all
    except Exception as exc:
        log.warning("ready: listing translation models failed: %s", exc.__class__.__name__)
        routes = -1
    if routes > 0:
        test_models = len(packages.test_models())
        result.checks["translation"] = {"status": "ok", "models": routes}
        if test_models:
            result.checks["translation"]["test_models"] = test_models
            result.warnings.append(packages.test_models_warning() or "")
    else:
        result.checks["translation"] = {"status": "failed", "models": max(routes, 0)}
        result.failures.append(
            "no translation model is installed (hearth models install LANG, or install-file)"
            if routes == 0
            else "the translation models could not be listed"
        )

    if get_settings().attachment_store == "s3":
        # The bucket's name only: the endpoint and the keys stay in the settings (and the log).
        try:
            store = filestore.current()
            assert isinstance(store, filestore.S3Store)
            problem = store.problem()
        except filestore.StoreError as exc:
            log.warning("ready: attachment store: %s", exc.message)
            problem = "the attachment store's settings cannot be used (HEARTH_S3_ENDPOINT)"
        if problem is None:
            result.checks["attachment_store"] = {"status": "ok", "kind": "s3"}
        else:
            result.checks["attachment_store"] = {"status": "failed", "kind": "s3"}
            result.failures.append(problem)
    return result
