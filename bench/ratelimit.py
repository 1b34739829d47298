"""How closely the SMS rate limiters hold a sender to its configured segments per second.

    .venv/bin/python bench/ratelimit.py

Several callers (threads; for Redis, threads in two processes) send one-segment messages for
one sender for about three seconds. The first max(1, rate) segments are the allowed burst;
the figure that matters is the rate after it. Redis runs are skipped when redis-server is
not installed (Debian package redis-server); one is started on a free loopback port.
"""

import multiprocessing
import multiprocessing.synchronize
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from app.delivery.ratelimit import (
    LocalRateLimit,
    RedisRateLimit,
    SenderRateLimit,
    burst_size,
)

SECONDS = 3.0
THREADS = 4
RATES = (50.0, 200.0)


@contextmanager
def redis_server() -> Iterator[str | None]:
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        server = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
             "--appendonly", "no", "--dir", directory],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"redis://127.0.0.1:{port}/0"
        try:
            client = redis.Redis.from_url(url)
            for _ in range(200):
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=10)


def _send(limit: SenderRateLimit, sender: str, count: int, rate: float, out: list[float]) -> None:
    for _ in range(count):
        limit.acquire(sender, 1, rate)
        out.append(time.time())


def _threads(limit: SenderRateLimit, sender: str, total: int, rate: float) -> list[float]:
    times: list[float] = []
    share = [total // THREADS + (i < total % THREADS) for i in range(THREADS)]
    threads = [
        threading.Thread(target=_send, args=(limit, sender, count, rate, times)) for count in share
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times


def _process(
    url: str,
    sender: str,
    total: int,
    rate: float,
    start: multiprocessing.synchronize.Barrier,
    results: "multiprocessing.Queue[list[float]]",
) -> None:
    limit = RedisRateLimit(redis.Redis.from_url(url), key_prefix="bench:")
    start.wait()
    results.put(_threads(limit, sender, total, rate))


def _report(name: str, rate: float, begun: float, times: list[float]) -> None:
    times.sort()
    burst = int(burst_size(rate))
    steady = len(times) - burst
    elapsed = times[-1] - begun
    achieved = steady / elapsed
    # The most segments any one-second window let through (burst included if it falls in it).
    busiest = max(sum(1 for t in times[i:] if t < times[i] + 1.0) for i in range(0, len(times), 5))
    print(
        f"{name:<28} {rate:>8.0f} {achieved:>10.1f} {100 * (achieved - rate) / rate:>+8.2f}% "
        f"{busiest:>14d}"
    )


def main() -> None:
    print(f"{'limiter':<28} {'rate/s':>8} {'achieved/s':>10} {'error':>9} {'max in any 1s':>14}")
    for rate in RATES:
        total = int(burst_size(rate) + rate * SECONDS)
        begun = time.time()
        times = _threads(LocalRateLimit(), f"local-{rate}", total, rate)
        _report(f"LocalRateLimit, {THREADS} threads", rate, begun, times)

    with redis_server() as url:
        if url is None:
            print("RedisRateLimit: skipped, redis-server is not installed")
            return
        context = multiprocessing.get_context("spawn")
        for rate in RATES:
            total = int(burst_size(rate) + rate * SECONDS)
            start = context.Barrier(3)
            results = context.Queue()
            sender = f"redis-{rate}-{time.time()}"
            workers = [
                context.Process(target=_process, args=(url, sender, share, rate, start, results))
                for share in (total // 2, total - total // 2)
            ]
            for worker in workers:
                worker.start()
            start.wait()
            begun = time.time()
            times = [moment for _ in workers for moment in results.get()]
            for worker in workers:
                worker.join()
            _report(f"RedisRateLimit, 2x{THREADS} thr", rate, begun, times)


if __name__ == "__main__":
    main()
