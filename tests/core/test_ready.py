"""/api/v1/ready: 200 when the database, the job queue and the translation models answer; 503
with a message a person understands when one does not. /api/v1/health stays the liveness check."""

import socket

import pytest
from huey import RedisHuey, SqliteHuey

from app.core import queue
from app.translation.argos import engine


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ready_reports_each_check(client, argos_models):
    response = client.get("/api/v1/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["queue"]["status"] == "ok"
    assert body["checks"]["translation"] == {
        "status": "ok",
        "models": len(argos_models),
        "test_models": len(argos_models),  # every one built by the test suite
    }
    assert len(argos_models) >= 2
    # Still ready, but it says so: a test model is not for families.
    assert len(body["warnings"]) == 1
    assert "test model — not for families" in body["warnings"][0]


def test_ready_with_a_sqlite_queue_on_disk(client, argos_models, monkeypatch, tmp_path):
    for name in ("send", "translate"):
        on_disk = SqliteHuey(name, filename=str(tmp_path / "queue.db"), results=False)
        monkeypatch.setitem(queue.QUEUES, name, on_disk)
    body = client.get("/api/v1/ready").json()
    assert body["checks"]["queue"] == {
        "status": "ok",
        "kind": "sqlite",
        "pending": {"send": 0, "translate": 0},
    }


@pytest.mark.usefixtures("redis_url")
def test_ready_with_a_redis_queue(client, argos_models, monkeypatch, request):
    for name in ("send", "translate"):
        reachable = RedisHuey(name, url=request.getfixturevalue("redis_url"), results=False)
        monkeypatch.setitem(queue.QUEUES, name, reachable)
    response = client.get("/api/v1/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["queue"] == {
        "status": "ok",
        "kind": "redis",
        "pending": {"send": 0, "translate": 0},
    }


def test_not_ready_when_the_queue_cannot_be_reached(client, argos_models, monkeypatch):
    url = f"redis://127.0.0.1:{closed_port()}/0"
    for name in ("send", "translate"):
        monkeypatch.setitem(queue.QUEUES, name, RedisHuey(name, url=url))
    response = client.get("/api/v1/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["queue"] == {
        "status": "failed",
        "kind": "redis",
        "unreachable": ["send", "translate"],
    }
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["error"]["code"] == "not_ready"
    message = body["error"]["message"]
    assert message == "Hearth is not ready: the job queue (redis) cannot be reached."
    # Liveness does not depend on the queue: the process itself is fine.
    assert client.get("/api/v1/health").status_code == 200


def test_not_ready_without_translation_models(client, argos_models, monkeypatch):
    monkeypatch.setattr(engine, "_pairs", {})  # as the engine finds an empty models folder
    response = client.get("/api/v1/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["translation"] == {"status": "failed", "models": 0}
    assert "hearth models install" in body["error"]["message"]
