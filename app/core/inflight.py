"""This process's HTTP requests in flight. The translation batcher spreads a lone request's
sentences over every replica of its model (app/translation/batching.py) only while that
request is the only one: with more, the other cores have work of their own, and the pieces
would only cost more CPU (a quarter more for the beam search on the test models)."""

import threading

from starlette.types import ASGIApp, Receive, Scope, Send

_requests = 0
_lock = threading.Lock()


def requests() -> int:
    return _requests


def count(step: int) -> None:
    global _requests
    with _lock:
        _requests += step


class CountRequests:
    """Around the app: keeps the count of requests in flight."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        count(1)
        try:
            await self.app(scope, receive, send)
        finally:
            count(-1)
