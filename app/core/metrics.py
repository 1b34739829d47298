"""Prometheus metrics: the series this process measures, and the text exposition of /metrics.

Latency histograms and cache counters are process-local (each API or worker process counts its
own, and they restart at zero with it); numbers that must be right across processes (deliveries
by status, queue depth, inbound messages) are computed from the database and the queue at scrape
time by collectors the caller passes to `exposition()`."""

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.registry import Collector

from app.core.config import Settings
from app.core.errors import NotFound, Unauthorized
from app.core.security import constant_time_equal

# The classic text format that generate_latest writes, which every Prometheus version reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

TRANSLATION_SECONDS = Histogram(
    "hearth_translation_seconds",
    "Time spent in the translation model per call (cache misses only), by route kind.",
    ["route"],  # direct | pivot
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TRANSLATION_CACHE_HITS = Counter(
    "hearth_translation_cache_hits", "Texts whose translation came from the cache."
)
TRANSLATION_CACHE_MISSES = Counter(
    "hearth_translation_cache_misses", "Texts that had to be translated by a model."
)
WEBHOOK_SECONDS = Histogram(
    "hearth_webhook_seconds",
    "Time to answer a provider's webhook, by webhook.",
    ["webhook"],  # twilio_sms | twilio_status | email_inbound
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


JOBS = Counter(
    "hearth_jobs",
    "Queue jobs this process ran, by job name and outcome (ok, or error: it raised).",
    ["job", "outcome"],
)
JOB_SECONDS = Histogram(
    "hearth_job_seconds",
    "Time a queue job took in this process, by job name.",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


@contextmanager
def job_timer(job: str) -> Iterator[None]:
    """Count a job run and how long it took; a job that raised counts as an error."""
    outcome = "error"
    try:
        with JOB_SECONDS.labels(job=job).time():
            yield
        outcome = "ok"
    finally:
        JOBS.labels(job=job, outcome=outcome).inc()


def worker_registry() -> CollectorRegistry:
    """What a worker's metrics port serves: with PROMETHEUS_MULTIPROC_DIR set (before the
    worker starts), the sum over this process and the child processes of a process pool;
    otherwise this process's own metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def serve_worker_metrics(port: int, host: str) -> None:
    """The worker's /metrics on its own port, in a background thread."""
    start_http_server(port, addr=host, registry=worker_registry())


@contextmanager
def webhook_timer(webhook: str) -> Iterator[None]:
    """Observe how long the block takes, errors included (a refused signature is an answer)."""
    with WEBHOOK_SECONDS.labels(webhook=webhook).time():
        yield


def check_access(settings: Settings, authorization: str | None) -> None:
    """Metrics are open with the dev tools; elsewhere only to a scraper with
    HEARTH_METRICS_TOKEN."""
    if settings.dev_tools and not settings.metrics_token:
        return
    token = settings.metrics_token
    if not token:
        raise NotFound(
            "Metrics are off: set HEARTH_METRICS_TOKEN and scrape /metrics "
            "with 'Authorization: Bearer <token>'."
        )
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not constant_time_equal(given.strip(), token):
        raise Unauthorized("Metrics need 'Authorization: Bearer <HEARTH_METRICS_TOKEN>'.")


def exposition(scrape_time: Iterable[Collector] = ()) -> bytes:
    """This process's metrics, then the scrape-time collectors', in the Prometheus text format."""
    fresh = CollectorRegistry(auto_describe=False)
    for collector in scrape_time:
        fresh.register(collector)
    return generate_latest(REGISTRY) + generate_latest(fresh)
