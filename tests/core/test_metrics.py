"""/metrics: the Prometheus text format, numbers read from the real tables and queue, the
process's own latency and cache series, and who may read it."""

import socket

import pytest
from huey import RedisHuey, SqliteHuey
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from app.core import queue
from app.core.config import get_settings
from app.delivery.models import Delivery
from tests.delivery.conftest import AUTH_TOKEN, twilio  # noqa: F401  (the Twilio double)


def scrape(client, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def signed_post(client, path: str, params: dict[str, str], token: str = ""):
    url = get_settings().public_url.rstrip("/") + path
    token = token or get_settings().webhook_auth_token()
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def send_note(client, auth, classroom, body: str) -> None:
    headers = auth("read,write,send", staff=classroom.teacher)
    thread = client.post(
        "/api/v1/threads",
        headers=headers,
        json={
            "student_id": classroom.mateo.id,
            "guardian_ids": [classroom.marisol.id, classroom.lan.id],  # two texts
        },
    ).json()
    sent = client.post(
        f"/api/v1/threads/{thread['id']}/messages", headers=headers, json={"body": body}
    )
    assert sent.status_code == 201, sent.text


@pytest.mark.usefixtures("twilio")
def test_delivery_gauge_counts_the_outbox_by_status_and_channel(
    client, auth, session, classroom, monkeypatch
):
    # With a real SMS provider the dev tools are closed: metrics need the scraper's token.
    assert client.get("/metrics").status_code == 404
    monkeypatch.setenv("HEARTH_METRICS_TOKEN", "scraper-token-0123456789")
    get_settings.cache_clear()
    token = {"Authorization": "Bearer scraper-token-0123456789"}
    before = scrape(client, **token)
    assert value(before, "hearth_deliveries", status="sent", channel="sms") == 0
    send_note(client, auth, classroom, "Mateo read very well today.")
    after = scrape(client, **token)
    assert value(after, "hearth_deliveries", status="sent", channel="sms") == 2
    assert value(after, "hearth_deliveries", status="queued", channel="sms") == 0

    # Twilio says one arrived: the gauge follows the table.
    provider_id = session.scalars(select(Delivery.provider_id)).first()
    callback = signed_post(
        client,
        "/webhooks/twilio/status",
        {"MessageSid": provider_id, "MessageStatus": "delivered"},
        token=AUTH_TOKEN,
    )
    assert callback.status_code == 204
    last = scrape(client, **token)
    assert value(last, "hearth_deliveries", status="sent", channel="sms") == 1
    assert value(last, "hearth_deliveries", status="delivered", channel="sms") == 1


def test_translation_cache_misses_then_hits_and_latency_by_route(client, auth, argos_models):
    headers = auth("read")
    before = scrape(client)
    request = {"text": "School is closed on Monday.", "source": "en", "target": "es"}

    first = client.post("/api/v1/translate", headers=headers, json=request).json()
    assert first["status"] == "translated" and first["cached"] is False
    middle = scrape(client)
    assert value(middle, "hearth_translation_cache_misses_total") == (
        value(before, "hearth_translation_cache_misses_total") + 1
    )
    assert value(middle, "hearth_translation_cache_hits_total") == value(
        before, "hearth_translation_cache_hits_total"
    )
    assert value(middle, "hearth_translation_seconds_count", route="direct") == (
        value(before, "hearth_translation_seconds_count", route="direct") + 1
    )

    again = client.post("/api/v1/translate", headers=headers, json=request).json()
    assert again["cached"] is True
    after = scrape(client)
    assert value(after, "hearth_translation_cache_hits_total") == (
        value(middle, "hearth_translation_cache_hits_total") + 1
    )
    assert value(after, "hearth_translation_cache_misses_total") == value(
        middle, "hearth_translation_cache_misses_total"
    )
    # A hit runs no model: the latency histogram does not move.
    assert value(after, "hearth_translation_seconds_count", route="direct") == value(
        middle, "hearth_translation_seconds_count", route="direct"
    )

    # Spanish to Vietnamese has no direct model: it goes through English.
    pivot = {"text": "La escuela está cerrada el lunes.", "source": "es", "target": "vi"}
    assert client.post("/api/v1/translate", headers=headers, json=pivot).json()["status"] == (
        "translated"
    )
    last = scrape(client)
    assert value(last, "hearth_translation_seconds_count", route="pivot") == (
        value(after, "hearth_translation_seconds_count", route="pivot") + 1
    )


def test_queue_depth_is_read_from_each_queue(client, monkeypatch, tmp_path):
    path = str(tmp_path / "queue.db")
    sending = SqliteHuey("metrics-send", filename=path, results=False)
    translating = SqliteHuey("metrics-translate", filename=path, results=False)

    @sending.task()
    def send(n: int) -> int:
        return n

    @translating.task()
    def translate(n: int) -> int:
        return n

    for n in range(3):
        send(n)
    translate(1)
    monkeypatch.setitem(queue.QUEUES, "send", sending)
    monkeypatch.setitem(queue.QUEUES, "translate", translating)
    samples = scrape(client)
    assert value(samples, "hearth_queue_pending_jobs", queue="send") == 3
    assert value(samples, "hearth_queue_pending_jobs", queue="translate") == 1
    assert value(samples, "hearth_queue_up", queue="send", kind="sqlite") == 1


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_queue_that_does_not_answer_still_gives_a_scrape(client, monkeypatch):
    unreachable = RedisHuey("gone", url=f"redis://127.0.0.1:{closed_port()}/0")
    monkeypatch.setitem(queue.QUEUES, "translate", unreachable)
    samples = scrape(client)
    assert value(samples, "hearth_queue_up", queue="translate", kind="redis") == 0
    assert ("hearth_queue_pending_jobs", (("queue", "translate"),)) not in samples
    assert value(samples, "hearth_queue_up", queue="send", kind="memory") == 1
    assert ("hearth_queue_pending_jobs", (("queue", "send"),)) in samples


def test_webhook_latency_and_inbound_messages_per_language(client, auth, classroom):
    send_note(client, auth, classroom, "Mateo read very well today.")
    before = scrape(client)
    reply = signed_post(
        client,
        "/webhooks/twilio/sms",
        {
            "MessageSid": "SM" + "b" * 32,
            "From": classroom.marisol.phone,
            "To": classroom.school.sms_sender,
            "Body": "Gracias, vamos a leer en casa.",
        },
    )
    assert reply.status_code == 200
    refused = client.post("/webhooks/twilio/status", data={"MessageSid": "SMx"})
    assert refused.status_code == 403
    after = scrape(client)
    for webhook in ("twilio_sms", "twilio_status"):
        assert value(after, "hearth_webhook_seconds_count", webhook=webhook) == (
            value(before, "hearth_webhook_seconds_count", webhook=webhook) + 1
        )
    assert value(after, "hearth_inbound_messages", channel="sms", language="es") == 1


def test_metrics_are_closed_outside_dev_without_the_token(client, monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "env", "production")
    monkeypatch.setattr(settings, "metrics_token", "")
    off = client.get("/metrics")
    assert off.status_code == 404
    assert "HEARTH_METRICS_TOKEN" in off.json()["error"]["message"]

    monkeypatch.setattr(settings, "metrics_token", "scrape-token-0123456789")
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert "Bearer" in wrong.json()["error"]["message"]
    samples = scrape(client, Authorization="Bearer scrape-token-0123456789")
    assert ("hearth_queue_pending_jobs", (("queue", "send"),)) in samples
