"""Per-sender pacing of SMS, in segments per second (GCRA, the virtual-scheduling algorithm).

Carriers allow a sender number so many segments a second (about 1 for a long code, 100 for a
short code) and queue or drop the excess, so delivery workers pace themselves per sender.
Each sender keeps one "theoretical arrival time" (TAT): the time at which everything already
let through would have been sent at exactly `rate`. A request may go once it is no more than
the burst tolerance ahead of the TAT; it reserves its place by moving the TAT on, and then
sleeps until its turn outside any lock. Reserving in one step means callers never poll and
never pass each other, and a message longer than the burst still goes (it just delays the next).

`LocalRateLimit` serves one process (the embedded default); `RedisRateLimit` keeps the TAT in
Redis and moves it in one Lua script, so worker processes on any host share the same budget.
"""

import functools
import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis

REDIS_URL_SCHEMES = ("redis://", "rediss://", "unix://")
_NEGLIGIBLE_WAIT = 1e-6  # seconds


class SenderRateLimit(Protocol):
    def acquire(self, sender: str, segments: int, rate: float) -> None:
        """Block until `sender` may send `segments` more segments at `rate` segments/s."""
        ...


def burst_size(rate: float) -> float:
    """Segments a sender idle for long enough may send at once."""
    return max(1.0, rate)


def _check(segments: int, rate: float) -> None:
    if segments < 0:
        raise ValueError(f"segments must be >= 0, not {segments}")
    if not rate > 0 or math.isinf(rate):
        raise ValueError(f"rate must be a positive number of segments per second, not {rate}")


class LocalRateLimit:
    """GCRA in this process: thread-safe, shared by every delivery thread of the process."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}

    def reserve(self, sender: str, segments: int, rate: float) -> float:
        """Reserve the next slot for `segments` and return how many seconds to wait for it."""
        _check(segments, rate)
        if segments == 0:
            return 0.0
        interval = 1.0 / rate
        tolerance = (burst_size(rate) - 1.0) * interval
        with self._lock:
            now = self._clock()
            tat = max(self._tat.get(sender, now), now)
            self._tat[sender] = tat + segments * interval
            # Senders idle past their TAT are dropped so the table stays small.
            if len(self._tat) > 10_000:
                self._tat = {key: value for key, value in self._tat.items() if value > now}
        wait = tat - tolerance - now
        return wait if wait > _NEGLIGIBLE_WAIT else 0.0  # float residue is not a wait

    def acquire(self, sender: str, segments: int, rate: float) -> None:
        wait = self.reserve(sender, segments, rate)
        if wait > 0:
            self._sleep(wait)


# KEYS[1]: the sender's TAT key. ARGV: the request's cost and the burst tolerance, both in
# microseconds. Redis's own clock is used so that workers' clocks need not agree. Returns the
# microseconds the caller must wait. Integers throughout: Lua numbers are doubles, exact to 2^53.
_GCRA_SCRIPT = """
local cost = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + cost
redis.call('SET', KEYS[1], string.format('%d', new_tat),
           'PX', math.ceil((new_tat - now) / 1000) + 1000)
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
return wait
"""


class RedisRateLimit:
    """GCRA with the TAT in Redis: one budget per sender across every worker process."""

    def __init__(self, client: redis.Redis, key_prefix: str = "hearth:sms-rate:") -> None:
        self._client = client
        self._key_prefix = key_prefix
        self._script = client.register_script(_GCRA_SCRIPT)

    def reserve(self, sender: str, segments: int, rate: float) -> float:
        """Reserve the next slot for `segments` and return how many seconds to wait for it."""
        _check(segments, rate)
        if segments == 0:
            return 0.0
        interval_us = 1_000_000 / rate
        cost_us = math.ceil(segments * interval_us)  # round against the sender, never over rate
        tolerance_us = math.floor((burst_size(rate) - 1.0) * interval_us)
        wait_us = self._script(keys=[self._key_prefix + sender], args=[cost_us, tolerance_us])
        return int(wait_us) / 1_000_000

    def acquire(self, sender: str, segments: int, rate: float) -> None:
        wait = self.reserve(sender, segments, rate)
        if wait > 0:
            time.sleep(wait)


_local_rate_limit = LocalRateLimit()


@functools.cache
def _redis_rate_limit(url: str) -> RedisRateLimit:
    return RedisRateLimit(redis.Redis.from_url(url))


def rate_limit_for(queue_url: str) -> SenderRateLimit:
    """The limiter that matches the queue: Redis when the queue is in Redis, else in-process.

    A Redis queue means workers may be separate processes, so the budget must be shared there;
    any other queue runs its consumers inside one process.
    """
    if queue_url.startswith(REDIS_URL_SCHEMES):
        return _redis_rate_limit(queue_url)
    return _local_rate_limit
