"""Structured logs: one JSON object per line, each carrying the request id it belongs to.

At info level and above Hearth logs ids, never message bodies, phone numbers or email
addresses; `Redact` masks anything that still looks like a phone number or an email address,
as a safety net for library messages and exception texts."""

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import inflight

request_id: ContextVar[str | None] = ContextVar("hearth_request_id", default=None)

REQUEST_ID_HEADER = "x-request-id"
# Ids from a proxy or a client are kept only when short and plain: they end up in every line.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

# E.164 (+ and 7 to 15 digits), with the spaces, dots, dashes and brackets people write in them;
# also URL-encoded (%2B) as in a query string.
_PHONE = re.compile(r"(?<![\w+%])(?:\+|%2[Bb])\d(?:[\s().-]{0,2}\d){6,14}(?!\d)")
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)*")
# SQLAlchemy puts a failed statement's parameters (bodies, phones) in its exception text.
_SQL_PARAMETERS = re.compile(r"\[parameters: [^\n]*")

# Addresses whose next part is a secret (a one-time password link, an unsubscribe link, a
# family's link): logged without it. Query strings are never logged.
_SECRET_PATH = re.compile(r"^(/password-reset/|/unsubscribe/|/f/)[^/]+")

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    text = _SQL_PARAMETERS.sub("[parameters: hidden]", text)
    text = _EMAIL.sub("[email]", text)
    return _PHONE.sub("[phone]", text)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS}


class Redact(logging.Filter):
    """Masks phone numbers and email addresses in records at info level and above."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break the caller: keep what we have
            message = f"{record.msg} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        for key, value in _extras(record).items():
            if isinstance(value, str):
                setattr(record, key, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """ts, level, logger, message, request_id, then the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        for key, value in _extras(record).items():
            safe = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
            entry.setdefault(key, safe)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """JSON lines on stderr (or `stream`) for every logger, uvicorn's and huey's included."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Redact())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "huey", "huey.consumer"):
        lib = logging.getLogger(name)
        lib.handlers.clear()
        lib.propagate = True
    # Hearth writes its own access line (no query string, no client address, a request id).
    logging.getLogger("uvicorn.access").disabled = True
    # Huey writes two lines at info for every job it runs ("Executing …", "… executed in …"):
    # three lines per text in a broadcast with Hearth's own (the delivery's outcome), and
    # ~6 % of a sending worker's time. Its warnings and errors stay, and its consumer's lines.
    logging.getLogger("huey").setLevel(logging.WARNING)
    logging.getLogger("huey.consumer").setLevel(level.upper())
    # HTTP clients log every URL at info, query strings included (Twilio's message lookups
    # carry the family's number there): only their warnings are worth a line.
    for name in ("httpx", "httpcore", "twilio.http_client", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler


access_log = logging.getLogger("hearth.access")


def _new_request_id() -> str:
    return uuid.uuid4().hex


class RequestContext:
    """Takes X-Request-ID from the request (if short and plain) or makes one, keeps it in a
    context variable for every log line of the request, answers it in the response header,
    and writes one access line per request. Counts the requests in flight (app.core.inflight)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.encode(), b"")
        text = given.decode("latin-1")
        rid = text if _VALID_REQUEST_ID.fullmatch(text) else _new_request_id()
        # Not reset afterwards: each request runs in its own task, and the server's last-resort
        # error handler (outside this middleware) should still log under this id.
        request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != REQUEST_ID_HEADER.encode()
                ]
                headers.append((REQUEST_ID_HEADER.encode(), rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        inflight.count(1)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            inflight.count(-1)
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            method = scope.get("method", "")
            path = _SECRET_PATH.sub(r"\1[token]", scope.get("path", ""))
            access_log.info(
                "%s %s %s",
                method,
                path,
                status,
                extra={
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": duration_ms,
                },
            )
