"""The requests in flight, which the translation batcher reads before it spreads a request
over every core: counted around every request, a failing one too."""

import asyncio

import pytest

from app.core import inflight
from app.core.logging import RequestContext


def test_the_requests_in_flight_are_counted():
    seen = []

    async def app(scope, receive, send):
        seen.append(inflight.requests())
        if scope.get("path") == "/fails":
            raise RuntimeError("the endpoint failed")

    async def sent(message):
        pass

    async def requests():
        counted = RequestContext(app)
        await counted({"type": "http", "path": "/"}, None, sent)
        inflight.count(1)  # another request, still in flight
        try:
            await counted({"type": "http", "path": "/"}, None, sent)
        finally:
            inflight.count(-1)
        with pytest.raises(RuntimeError):
            await counted({"type": "http", "path": "/fails"}, None, sent)
        await counted({"type": "lifespan"}, None, sent)

    asyncio.run(requests())
    assert seen == [1, 2, 1, 0]
    assert inflight.requests() == 0
