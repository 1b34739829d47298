"""This process's HTTP requests in flight, counted by app.core.logging.RequestContext. The
translation batcher spreads a lone request's sentences over every replica of its model
(app/translation/batching.py) only while that request is the only one: with more, the other
cores have work of their own, and the pieces would only cost more CPU (a quarter more for
the beam search on the test models)."""

import threading

_requests = 0
_lock = threading.Lock()


def requests() -> int:
    return _requests


def count(step: int) -> None:
    global _requests
    with _lock:
        _requests += step
