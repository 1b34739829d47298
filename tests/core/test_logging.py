"""JSON logs: one object per line with a request id, an access line per request, and at info
level no message bodies, phone numbers or email addresses."""

import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from huey import MemoryHuey
from huey.exceptions import TaskException
from sqlalchemy.exc import IntegrityError
from twilio.request_validator import RequestValidator

from app.core.config import get_settings
from app.core.logging import configure_logging
from tests.conftest import ROOT
from tests.delivery.conftest import twilio  # noqa: F401  (the Twilio double)
from tests.factories import (
    GuardianFactory,
    SchoolFactory,
    SectionFactory,
    StaffFactory,
    StudentFactory,
)
from tests.servers import free_port

SENDER = "+15125550100"
PHONE = "+15125558001"
FAMILY_EMAIL = "maria.ruiz@example.org"
TEACHER_EMAIL = "ana.rivera@riverside.example.org"
NOTE = "Mateo will be absent tomorrow."
REPLY = "Muchas gracias."


class Raw(logging.Handler):
    """What the code itself logged, before the redaction safety net saw it."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        extras = {k: v for k, v in vars(record).items() if isinstance(v, str)}
        try:
            message = record.getMessage()
        except TypeError:
            message = f"{record.msg} {record.args!r}"
        self.texts.append(message + " " + json.dumps(extras, default=str))


class Captured:
    def __init__(self, stream: io.StringIO, raw: Raw) -> None:
        self.stream = stream
        self.raw = raw

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    @property
    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines()]


@pytest.fixture
def logs() -> Iterator[Captured]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    access_disabled = logging.getLogger("uvicorn.access").disabled
    huey_levels = {name: logging.getLogger(name).level for name in ("huey", "huey.consumer")}
    stream, raw = io.StringIO(), Raw()
    configure_logging("INFO", stream)
    root.handlers.insert(0, raw)  # runs before the JSON handler's filter rewrites the record
    try:
        yield Captured(stream, raw)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        logging.getLogger("uvicorn.access").disabled = access_disabled
        for name, level in huey_levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture
def family(session, argos_models):
    school = SchoolFactory(sms_sender=SENDER, name="Riverside Elementary")
    teacher = StaffFactory(schools=[school], email=TEACHER_EMAIL, name="Ana Rivera")
    student = StudentFactory(school=school, given_name="Mateo", family_name="Ruiz")
    SectionFactory(school=school, teachers=[teacher], students=[student])
    mother = GuardianFactory(
        students=[student],
        language="es",
        phone=PHONE,
        email=FAMILY_EMAIL,
        given_name="María",
        family_name="Ruiz",
    )
    return {"teacher": teacher, "student": student, "mother": mother}


def signed_post(client, path: str, params: dict[str, str], **headers: str):
    url = get_settings().public_url.rstrip("/") + path
    signature = RequestValidator(get_settings().webhook_auth_token()).compute_signature(url, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature, **headers})


@pytest.mark.parametrize("sms_backend", ["dev", "twilio"])
def test_a_note_and_a_reply_log_ids_never_phones_emails_or_words(
    client, auth, family, logs, sms_backend, request
):
    if sms_backend == "twilio":  # the real SDK, which logs its requests unless told not to
        request.getfixturevalue("twilio")
    headers = auth("read,write,send", staff=family["teacher"])
    thread = client.post(
        "/api/v1/threads",
        headers=headers,
        json={"student_id": family["student"].id, "guardian_ids": [family["mother"].id]},
    ).json()
    note = client.post(
        f"/api/v1/threads/{thread['id']}/messages",
        headers={**headers, "X-Request-ID": "note-1"},
        json={"body": NOTE},
    )
    assert note.status_code == 201
    assert note.headers["x-request-id"] == "note-1"
    # The answer is written before the jobs run (one commit per request): read the outcome.
    expected = {"dev": "delivered", "twilio": "sent"}[sms_backend]
    sent = client.get(f"/api/v1/threads/{thread['id']}", headers=headers).json()
    assert sent["messages"][-1]["deliveries"][0]["status"] == expected

    reply = signed_post(
        client,
        "/webhooks/twilio/sms",
        {"MessageSid": "SM" + "d" * 32, "From": PHONE, "To": SENDER, "Body": REPLY},
        **{"X-Request-ID": "reply-1"},
    )
    assert reply.status_code == 200
    detail = client.get(f"/api/v1/threads/{thread['id']}", headers=headers).json()
    assert detail["messages"][-1]["body"] == REPLY  # the reply really went through

    lines = logs.lines
    assert lines, "nothing was logged"
    for line in lines:
        assert {"ts", "level", "logger", "message", "request_id"} <= set(line)
        assert line["level"] in ("info", "warning", "error")
    secrets = [PHONE, FAMILY_EMAIL, TEACHER_EMAIL, NOTE, "faltar", REPLY, "María"]
    for secret in secrets:
        assert secret not in logs.text
        assert not any(secret in raw for raw in logs.raw.texts), secret

    access = [line for line in lines if line["logger"] == "hearth.access"]
    assert len(access) == 5  # thread, note, its outcome, the reply, the thread again
    by_path = {line["path"]: line for line in access}
    webhook = by_path["/webhooks/twilio/sms"]
    assert webhook["method"] == "POST" and webhook["status"] == 200
    assert webhook["request_id"] == "reply-1"
    assert isinstance(webhook["duration_ms"], float) and webhook["duration_ms"] >= 0
    assert by_path[f"/api/v1/threads/{thread['id']}/messages"]["request_id"] == "note-1"
    # Lines from inside the request (storing the text, its jobs) carry the request's id.
    stored = [line for line in lines if line["message"].startswith("inbound SMS")]
    assert stored and all(line["request_id"] == "reply-1" for line in stored)
    assert all(line["request_id"] for line in lines if line["logger"].startswith("hearth"))


def test_request_id_is_taken_when_plain_and_made_otherwise(client, logs):
    given = client.get("/api/v1/health", headers={"X-Request-ID": "edge-7f3a.42:b"})
    assert given.headers["x-request-id"] == "edge-7f3a.42:b"

    made = client.get("/api/v1/health")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])

    for unsafe in ("x" * 65, "two words", "<script>", "caf\u00e9".encode("latin-1")):
        answered = client.get("/api/v1/health", headers={"X-Request-ID": unsafe})
        assert re.fullmatch(r"[0-9a-f]{32}", answered.headers["x-request-id"]), unsafe

    # Errors carry it too, and the access line leaves the query string out.
    missing = client.get("/api/v1/nothing?phone=%2B15125558001", headers={"X-Request-ID": "r-404"})
    assert missing.status_code == 404 and missing.headers["x-request-id"] == "r-404"
    line = next(x for x in logs.lines if x["request_id"] == "r-404")
    assert line["path"] == "/api/v1/nothing" and line["status"] == 404
    assert "15125558001" not in logs.text


def test_redaction_masks_phones_emails_and_sql_parameters(logs):
    log = logging.getLogger("hearth.test")
    log.info(
        "texting %s and %s (GET /Messages.json?To=%s), copy to %s",
        "+15125558001",
        "+1 (512) 555-8002",
        "%2B15125558004",
        "reply+abc123@localhost",
        extra={"to": FAMILY_EMAIL, "delivery_id": 12},
    )
    try:
        raise IntegrityError(
            "INSERT INTO guardians (phone) VALUES (?)", ("+15125558003", "Hello"), Exception("dup")
        )
    except IntegrityError:
        log.exception("could not save guardian %s", 7)
    first, second = logs.lines
    assert first["message"] == (
        "texting [phone] and [phone] (GET /Messages.json?To=[phone]), copy to [email]"
    )
    assert first["to"] == "[email]" and first["delivery_id"] == 12
    assert second["message"] == "could not save guardian 7"
    assert "[parameters: hidden]" in second["exception"]
    assert "15125558003" not in logs.text and "Hello" not in logs.text
    # Numbers that are not phone numbers stay readable.
    plain = "took 1234 ms at 2026-11-22T10:00:00+00:00 for 3 of +12 rows"
    log.info(plain)
    assert logs.lines[-1]["message"] == plain
    # A wrong format string still gives a line (masked), not an error in the caller.
    log.info("sent %d texts to %s", "+15125558005")
    assert logs.lines[-1]["message"] == "sent %d texts to %s ('[phone]',)"


def test_a_job_run_writes_no_line_of_the_queues_own_but_its_failures_do(logs):
    """Huey's two lines per job at info are left out (a broadcast sends thousands of jobs,
    each with its own outcome line); a failing job's error and the consumer's lines stay."""
    queue = MemoryHuey(immediate=True)

    @queue.task()
    def fine() -> int:
        return 1

    @queue.task()
    def broken() -> None:
        raise RuntimeError("the job failed")

    assert fine()() == 1
    with pytest.raises(TaskException):
        broken()()
    logging.getLogger("huey.consumer").info("Huey consumer started")
    said = [(line["logger"], line["level"], line["message"]) for line in logs.lines]
    assert not any(m.startswith("Executing") or " executed in " in m for _, _, m in said)
    assert any(lvl == "error" and "Unhandled exception" in m for _, lvl, m in said), said
    assert ("huey.consumer", "info", "Huey consumer started") in said


def test_hearth_serve_writes_json_lines_with_the_request_id(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(HEARTH_DATA_DIR=str(tmp_path), HEARTH_EMBEDDED_WORKERS="1")
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        answered = None
        for _ in range(600):  # bounded: up to ~60 s for migrations and start-up
            try:
                answered = httpx.get(
                    f"http://127.0.0.1:{port}/api/v1/health?probe=1",
                    headers={"X-Request-ID": "serve-check"},
                )
                break
            except httpx.TransportError:
                if server.poll() is not None:
                    break
                time.sleep(0.1)
        assert answered is not None, server.stderr.read() if server.poll() is not None else ""
        assert answered.status_code == 200
        assert answered.headers["x-request-id"] == "serve-check"
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "hearth.access"]
    warnings = [line["message"] for line in lines if line["level"] == "warning"]
    assert any(m.startswith("Dev tools are open to this machine only") for m in warnings)
    assert access == [
        {
            **access[0],
            "level": "info",
            "message": "GET /api/v1/health 200",
            "request_id": "serve-check",
            "method": "GET",
            "path": "/api/v1/health",
            "status": 200,
        }
    ]
    assert any(line["logger"].startswith("uvicorn") for line in lines)
    assert any(line["logger"].startswith("huey") for line in lines)
