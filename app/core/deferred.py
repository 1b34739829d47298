"""Writes that need not hold up the request that asks for them (a translation cache row, an
API key's last use): queued in memory and committed together, at most every
`deferred_write_ms`, by one background thread, in one transaction per round. They are lost if
the process dies before the round: only for rows that are worth having but not needed."""

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from app.core import db
from app.core.config import get_settings

log = logging.getLogger("hearth.deferred")

Write = Callable[[Session], Any]

_lock = threading.Condition()
_pending: list[Write] = []
_thread: threading.Thread | None = None
_busy = False
_hurry = threading.Event()


def write(fn: Write) -> None:
    """Run `fn(session)` in a later transaction. In tests (a session maker bound to the test's
    connection) and when the delay is 0, at once, in a session of its own."""
    delay = get_settings().deferred_write_ms
    if db._override is not None or delay <= 0:
        _commit([fn])
        return
    global _thread
    with _lock:
        _pending.append(fn)
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(
                target=_run, args=(delay / 1000,), daemon=True, name="deferred-writes"
            )
            _thread.start()
        _lock.notify()


def flush(timeout: float = 10.0) -> None:
    """Commit everything queued so far (at shutdown; in tests)."""
    _hurry.set()
    with _lock:
        _lock.wait_for(lambda: not _pending and not _busy, timeout)


def _run(delay: float) -> None:
    global _busy
    while True:
        with _lock:
            _lock.wait_for(lambda: bool(_pending))
        _hurry.wait(delay)  # gather what comes meanwhile (flush() cuts this short)
        _hurry.clear()
        with _lock:
            batch = list(_pending)
            _pending.clear()
            _busy = True
        try:
            _commit(batch)
        finally:
            with _lock:
                _busy = False
                _lock.notify_all()


def _commit(batch: list[Write]) -> None:
    try:
        with db.background_writes(), db.get_sessionmaker()() as session:
            for fn in batch:
                fn(session)
            session.commit()  # commits on purpose: these writes belong to no request
    except Exception:
        log.exception("deferred writes failed; %d dropped", len(batch))
