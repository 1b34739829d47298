"""Per-sender SMS pacing: the GCRA arithmetic on a fake clock, then real threads, real
processes and a real redis-server (started here on a free loopback port)."""

import multiprocessing
import multiprocessing.synchronize
import threading
import time

import pytest
import redis

from app.delivery.ratelimit import (
    LocalRateLimit,
    RedisRateLimit,
    SenderRateLimit,
    rate_limit_for,
)

# --- a real redis-server --------------------------------------------------------------------


# --- the arithmetic, on a fake clock ----------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_first_burst_goes_at_once_then_one_interval_each() -> None:
    clock = FakeClock()
    limit = LocalRateLimit(clock=clock, sleep=clock.sleep)
    for _ in range(5):
        limit.acquire("+15550001111", 1, 5.0)
    assert clock.sleeps == []
    limit.acquire("+15550001111", 1, 5.0)
    limit.acquire("+15550001111", 1, 5.0)
    assert clock.sleeps == pytest.approx([0.2, 0.2])


def test_multi_segment_message_consumes_its_segments() -> None:
    clock = FakeClock()
    limit = LocalRateLimit(clock=clock, sleep=clock.sleep)
    assert limit.reserve("long-code", 3, 1.0) == 0  # idle sender: a long message goes now
    assert limit.reserve("long-code", 1, 1.0) == pytest.approx(3.0)  # ...and delays the next
    clock.now += 10  # idle again: the budget refills, but never beyond one burst
    assert limit.reserve("long-code", 1, 1.0) == 0
    assert limit.reserve("long-code", 1, 1.0) == pytest.approx(1.0)


def test_rate_below_one_still_allows_one_segment_then_waits() -> None:
    clock = FakeClock()
    limit = LocalRateLimit(clock=clock, sleep=clock.sleep)
    assert limit.reserve("slow", 1, 0.5) == 0
    assert limit.reserve("slow", 1, 0.5) == pytest.approx(2.0)


def test_waiting_callers_are_queued_not_racing() -> None:
    clock = FakeClock()
    limit = LocalRateLimit(clock=clock, sleep=clock.sleep)
    # Ten callers arrive at the same instant at 2/s: two go now, the rest are spaced 0.5 s.
    waits = [limit.reserve("s", 1, 2.0) for _ in range(10)]
    assert waits == pytest.approx([0, 0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0])


@pytest.mark.parametrize(("segments", "rate"), [(-1, 1.0), (1, 0.0), (1, -3.0)])
def test_bad_arguments_are_refused(segments: int, rate: float) -> None:
    with pytest.raises(ValueError):
        LocalRateLimit().acquire("s", segments, rate)


def test_rate_limit_for_picks_by_queue_url(redis_url: str) -> None:
    local = rate_limit_for("")
    assert isinstance(local, LocalRateLimit)
    assert rate_limit_for("sqlite:///var/queue.db") is local
    shared = rate_limit_for(redis_url)
    assert isinstance(shared, RedisRateLimit)
    assert rate_limit_for(redis_url) is shared


def test_redis_burst_then_interval(redis_url: str) -> None:
    limit = RedisRateLimit(redis.Redis.from_url(redis_url), key_prefix="test-burst:")
    waits = [limit.reserve("+15550002222", 1, 10.0) for _ in range(11)]
    assert waits[:10] == [0.0] * 10
    assert 0 < waits[10] <= 0.1  # one interval (0.1 s) less the time the burst took


# --- real concurrency -------------------------------------------------------------------------

RATE = 20.0
TOTAL_SEGMENTS = 60
# The first max(1, rate) segments go at once; the rest at exactly `rate`.
EXPECTED_SECONDS = (TOTAL_SEGMENTS - RATE) / RATE  # 2.0


def _acquire_times(
    limit: SenderRateLimit, sender: str, count: int, start: threading.Barrier
) -> list[float]:
    start.wait()
    times = []
    for _ in range(count):
        limit.acquire(sender, 1, RATE)
        times.append(time.time())
    return times


def _acquire_in_process(
    redis_url: str,
    sender: str,
    count: int,
    start: multiprocessing.synchronize.Barrier,
    results: "multiprocessing.Queue[tuple[float, list[float]]]",
) -> None:
    limit = RedisRateLimit(redis.Redis.from_url(redis_url), key_prefix="test-processes:")
    start.wait()
    begun = time.time()
    times = []
    for _ in range(count):
        limit.acquire(sender, 1, RATE)
        times.append(time.time())
    results.put((begun, times))


def _assert_paced(begun: float, times: list[float]) -> None:
    times = sorted(times)
    assert len(times) == TOTAL_SEGMENTS
    assert 1.6 <= times[-1] - begun <= 3.0, times[-1] - begun
    # No window ever lets more through than one burst plus `rate` per second of the window
    # (2 segments of slack for scheduling jitter between the limiter and the timestamp).
    for first in range(len(times)):
        for last in range(first, len(times)):
            assert last - first + 1 <= RATE + RATE * (times[last] - times[first]) + 2


def test_two_processes_share_one_budget_through_redis(redis_url: str) -> None:
    context = multiprocessing.get_context("spawn")  # no fork of a threaded test process
    start = context.Barrier(3)
    results = context.Queue()
    per_process = TOTAL_SEGMENTS // 2
    workers = [
        context.Process(
            target=_acquire_in_process,
            args=(redis_url, "+15550003333", per_process, start, results),
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    start.wait(timeout=60)  # the children have imported everything and connected
    outcomes = [results.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
        assert worker.exitcode == 0
    begun = min(begun for begun, _ in outcomes)
    _assert_paced(begun, [moment for _, times in outcomes for moment in times])


def test_four_threads_share_one_local_budget() -> None:
    limit = LocalRateLimit()
    start = threading.Barrier(5)
    outcomes: list[list[float]] = []

    def run() -> None:
        outcomes.append(_acquire_times(limit, "+15550004444", TOTAL_SEGMENTS // 4, start))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    start.wait()
    begun = time.time()
    for thread in threads:
        thread.join()
    _assert_paced(begun, [moment for times in outcomes for moment in times])


@pytest.mark.parametrize("kind", ["local", "redis"])
def test_senders_do_not_slow_each_other(kind: str, request: pytest.FixtureRequest) -> None:
    limit: SenderRateLimit
    if kind == "local":
        limit = LocalRateLimit()
    else:
        url = request.getfixturevalue("redis_url")
        limit = RedisRateLimit(redis.Redis.from_url(url), key_prefix="test-senders:")
    start = threading.Barrier(3)
    finished: dict[str, float] = {}

    def run(sender: str) -> None:
        finished[sender] = _acquire_times(limit, sender, 30, start)[-1]

    threads = [threading.Thread(target=run, args=(s,)) for s in ("+15550005555", "+15550006666")]
    for thread in threads:
        thread.start()
    start.wait()
    begun = time.time()
    for thread in threads:
        thread.join()
    # Alone, each sender needs (30 - 20) / 20 = 0.5 s; sharing one budget it would take 2 s.
    assert max(finished.values()) - begun < 1.25
    assert min(finished.values()) - begun > 0.4
