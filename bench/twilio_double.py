"""How many sends per second the Twilio double answers through the official SDK.

    .venv/bin/python bench/twilio_double.py

Each run sends one-segment messages with `client.messages.create` for about three seconds
(at most 5,000 requests), from one thread and then from 8 threads sharing one client, as the
delivery worker's I/O pool does. Everything stays on 127.0.0.1.
"""

import threading
import time

from app.channels.twilio_http import make_client
from app.devtools.twilio_double import TwilioDouble

SECONDS = 3.0
MAX_REQUESTS = 5_000


def run(double: TwilioDouble, threads: int) -> tuple[int, float, list[float]]:
    client = make_client(double.account_sid, double.auth_token, api_url=double.url)
    client.messages.create(to="+15550000000", from_="+15559999999", body="warm-up")
    deadline = time.monotonic() + SECONDS
    latencies: list[float] = []
    lock = threading.Lock()

    def send() -> None:
        while time.monotonic() < deadline:
            with lock:
                if len(latencies) >= MAX_REQUESTS:
                    return
            began = time.perf_counter()
            client.messages.create(to="+15551234567", from_="+15557654321", body="Bench note")
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)

    workers = [threading.Thread(target=send) for _ in range(threads)]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(latencies), time.perf_counter() - began, sorted(latencies)


def main() -> None:
    print(f"{'threads':>7} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    with TwilioDouble().start() as double:
        for threads in (1, 8):
            count, elapsed, latencies = run(double, threads)
            p50 = latencies[len(latencies) // 2] * 1000
            p99 = latencies[int(len(latencies) * 0.99)] * 1000
            print(f"{threads:>7} {count:>9} {count / elapsed:>8.0f} {p50:>8.2f} {p99:>8.2f}")
        print(f"recorded by the double: {len(double.messages)} messages")


if __name__ == "__main__":
    main()
