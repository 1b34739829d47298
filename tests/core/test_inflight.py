"""The requests in flight, which the translation batcher reads before it spreads a request
over every core."""

import asyncio

from app.core import inflight
from app.core.inflight import CountRequests


def test_the_requests_in_flight_are_counted():
    seen = []

    async def app(scope, receive, send):
        seen.append(inflight.requests())

    async def two_at_once():
        counted = CountRequests(app)
        await counted({"type": "http"}, None, None)
        inflight.count(1)  # another request, still in flight
        try:
            await counted({"type": "http"}, None, None)
        finally:
            inflight.count(-1)
        await counted({"type": "lifespan"}, None, None)

    asyncio.run(two_at_once())
    assert seen == [1, 2, 0]
    assert inflight.requests() == 0
