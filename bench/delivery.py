"""Delivery: how fast one worker sends, how closely the workers hold the per-sender cap, and
how fast the inbound SMS webhook answers under 100 concurrent requests.

    .venv/bin/python bench/delivery.py [--runs 3] [--recipients 2000] [--skip-postgres]
        [--inbound sqlite-embedded postgres-scale-out-redis ...]

Everything runs on 127.0.0.1 in temporary data dirs that are deleted afterwards; every process
it starts is stopped at the end. Real processes throughout: `hearth worker` and `hearth serve`
subprocesses, SQLite files, a SqliteHuey queue or a redis-server (Debian package redis-server,
started on a free loopback port per run), the official Twilio SDK talking to the Twilio double
(app/devtools/twilio_double.py) that runs in this process. With --runs N every measurement is
taken N times (the configurations taking turns) and the summary gives the median.

1. Sender throughput: N guardians (English: no translation) in one thread, one urgent message
   posted through messaging.service.post_message, then `hearth worker --workers W` (I/O
   threads, both queues), on the SQLite queue and on the Redis queue (one and two worker
   processes). Timed from the workers' start until every delivery is `sent` (rows' sent_at),
   which includes the start-up and the messaging.prepare job that queues the N sends;
   "sending" is the rate between the double's first and last recorded message.
2. Rate cap: the same with HEARTH_SMS_SEGMENTS_PER_SECOND=50 and 400 one-segment messages,
   from one worker process and from two (SQLite queue: each process paces itself; Redis
   queue: one budget in Redis). The limiter lets an idle sender burst max(1, rate) = 50
   segments; the steady rate is taken after the burst (see cap_figures). Also shown: the most
   messages in any one-second window, and the worst excess over the GCRA bound.
3. Inbound webhook: `hearth serve` (dev SMS backend), a school and guardians seeded
   beforehand, 100 unmeasured warm-up requests, 1,000 correctly signed POST
   /webhooks/twilio/sms at a steady 100/s (open loop), then 2,000 from 100 keep-alive
   connections each keeping one request in flight (closed loop; unique MessageSid each, signed
   with the official RequestValidator). The client is a minimal asyncio HTTP/1.1 client, so
   that it takes little of the two cores. Shapes (--inbound): sqlite-embedded (the default
   deployment: SQLite, SQLite queue, consumer threads inside `hearth serve`),
   postgres-scale-out-redis (PostgreSQL, Redis queue, HEARTH_EMBEDDED_WORKERS=0, and beside
   the server `hearth worker --queue send` and `hearth worker --queue translate --worker-type
   process -w 2`), and for comparison sqlite-scale-out, postgres-embedded and
   postgres-scale-out (SQLite queue, one `hearth worker --workers 2`). PostgreSQL: a
   database created for each run and dropped after, when 127.0.0.1:5432 answers.
"""

import argparse
import asyncio
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.devtools.twilio_double import TwilioDouble  # noqa: E402

THROUGHPUT_GOAL = 300.0  # messages per second per worker, uncapped
CAP_RATE = 50.0
CAP_ERROR_GOAL = 5.0  # percent
WEBHOOK_P99_GOAL_MS = 50.0
CAP_RECIPIENTS = 400
INBOUND_REQUESTS = 2000
INBOUND_CONCURRENCY = 100
INBOUND_GUARDIANS = 200
OPEN_LOOP_RATE = 100.0  # requests per second
OPEN_LOOP_REQUESTS = 1000
# name: (database, shape, queue)
INBOUND_SHAPES = {
    "sqlite-embedded": ("SQLite", "embedded", "sqlite"),
    "postgres-scale-out-redis": ("PostgreSQL", "scale-out", "redis"),
    "sqlite-scale-out": ("SQLite", "scale-out", "sqlite"),
    "postgres-embedded": ("PostgreSQL", "embedded", "sqlite"),
    "postgres-scale-out": ("PostgreSQL", "scale-out", "sqlite"),
}
TOKEN = "bench-auth-token-" + "0" * 15
SENDER = "+15125550100"
PG_URL = "postgresql+psycopg://hearth:hearth@127.0.0.1:5432/{db}"

OUTBOUND_SEED = textwrap.dedent("""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload
    import app.models, app.tasks
    from app.core import migrations
    from app.core.db import get_sessionmaker
    from app.auth.service import subject_for_staff
    from app.messaging import service as messaging
    from app.messaging.schemas import MessageCreate
    from app.messaging.models import Thread, ThreadGuardian
    from app.people.models import Guardian, Staff, StaffSchool, Student, StudentGuardian
    from app.schools.models import School

    migrations.upgrade()
    with get_sessionmaker()() as s:
        school = School(name="Bench School", sms_sender=%(sender)r)
        s.add(school); s.flush()
        s.add(Staff(name="Office", email="office@bench.example.org", role="office",
                    school_links=[StaffSchool(school_id=school.id)]))
        student = Student(school_id=school.id, external_id="S1", given_name="A", family_name="B")
        s.add(student); s.flush()
        thread = Thread(school_id=school.id, subject="Closure")
        s.add(thread); s.flush()
        guardians = [
            Guardian(given_name="G", family_name=str(i), phone=f"+1512{i:07d}", language="en",
                     channels=["sms"], student_links=[StudentGuardian(student_id=student.id)])
            for i in range(%(n)d)
        ]
        s.add_all(guardians); s.flush()
        s.add_all([ThreadGuardian(thread_id=thread.id, guardian_id=g.id) for g in guardians])
        s.commit()
        staff = s.scalar(select(Staff).options(selectinload(Staff.school_links)))
        subject = subject_for_staff(staff, frozenset({"read", "write", "send"}))
        messaging.post_message(s, subject, thread.id,
                               MessageCreate(body="School is closed today.", urgent=True))
        s.commit()
""")

# The seeded message's messaging.prepare job sits in the template's SQLite queue; a run on the
# Redis queue puts it there instead, before the workers start.
ENQUEUE_PREPARE = textwrap.dedent("""
    from sqlalchemy import select
    import app.models, app.tasks
    from app.core.db import get_sessionmaker
    from app.core.queue import enqueue_job
    from app.messaging.models import Message

    with get_sessionmaker()() as s:
        for message_id in s.scalars(select(Message.id)):
            enqueue_job(s, "messaging.prepare", message_id)
        s.commit()  # the jobs go on the queue once this commits
""")

INBOUND_SEED = textwrap.dedent("""
    import app.models
    from app.core import migrations
    from app.core.db import get_sessionmaker
    from app.people.models import Guardian, Staff, StaffSchool, Student, StudentGuardian
    from app.schools.models import School

    migrations.upgrade()
    with get_sessionmaker()() as s:
        school = School(name="Bench School", sms_sender=%(sender)r)
        s.add(school); s.flush()
        s.add(Staff(name="Office", email="office@bench.example.org", role="office",
                    school_links=[StaffSchool(school_id=school.id)]))
        for i in range(%(n)d):
            student = Student(school_id=school.id, external_id=f"S{i}", given_name="A",
                              family_name=str(i))
            s.add(student); s.flush()
            s.add(Guardian(given_name="G", family_name=str(i), phone=f"+1512{i:07d}",
                           language="en", channels=["sms"],
                           student_links=[StudentGuardian(student_id=student.id)]))
        s.commit()
""")


# Plumbing ---------------------------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"machine: {len(os.sched_getaffinity(0))} cores ({cpu}); load average " + ", ".join(
        f"{v:.2f}" for v in os.getloadavg()
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env["HEARTH_DATA_DIR"] = str(data_dir)
    env["HEARTH_ENV"] = "dev"
    env.update({f"HEARTH_{k.upper()}": v for k, v in settings.items()})
    return env


def run_python(code: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{done.stderr[-3000:]}")


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """`python -m app ARGS` in its own process group; stopped (TERM, then KILL) on exit."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port (no persistence); its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian package redis-server)")
    import redis

    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(directory)],
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


def tail(log: Path, lines: int = 15) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def sqlite_rows(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def utc(value: str | datetime) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


# 1 and 2: the sender -----------------------------------------------------------------------------


@dataclass
class SendRun:
    queue: str  # "sqlite" or "redis"
    workers: int
    processes: int
    rate: float
    sent: int
    expected: int
    first_send_s: float  # worker start → first message at the double
    all_sent_s: float  # worker start → last row sent
    sending_rate: float  # msg/s between the double's first and last message
    twilio_messages: int
    times: list[float]  # the double's recorded times, seconds since worker start
    results_stored: int | None  # huey result rows left in queue.db (None: Redis queue)
    worker_cpu_s: float  # CPU of the worker process(es) from first to last send
    bench_cpu_s: float  # CPU of this process (the double, polling) in the same window

    @property
    def end_to_end(self) -> float:
        return self.sent / self.all_sent_s if self.all_sent_s else 0.0

    @property
    def window_s(self) -> float:
        return self.times[-1] - self.times[0] if len(self.times) > 1 else 0.0

    @property
    def label(self) -> str:
        return f"{self.queue} {self.processes}x{self.workers}"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process (every thread), from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seed_outbound(root: Path, recipients: int, database_url: str = "") -> Path:
    template = root / f"seed-{recipients}{'-pg' if database_url else ''}"
    settings = {"database_url": database_url} if database_url else {}
    env = base_env(template, sms_backend="twilio", **settings)
    run_python(OUTBOUND_SEED % {"n": recipients, "sender": SENDER}, env)
    return template


def db_value(data_dir: Path, database_url: str, sql: str) -> object:
    """The one value `sql` selects, from the run's SQLite file or its PostgreSQL database."""
    if not database_url:
        return sqlite_rows(data_dir / "hearth.db", sql)[0][0]
    import psycopg

    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        return conn.execute(sql).fetchone()[0]


def send_run(
    root: Path,
    template: Path,
    recipients: int,
    workers: int,
    rate: float,
    processes: int = 1,
    queue: str = "sqlite",
    database_url: str = "",
) -> SendRun:
    """`database_url`: a PostgreSQL database copied from the one `template` was seeded into;
    empty: the template's SQLite file."""
    data_dir = root / f"run-{uuid.uuid4().hex[:8]}"
    shutil.copytree(template, data_dir)
    with (
        TwilioDouble(auth_token=TOKEN).start() as double,
        redis_server(data_dir / "redis") if queue == "redis" else nullcontext("") as queue_url,
    ):
        settings = {"database_url": database_url} if database_url else {}
        if queue_url:
            settings["queue_url"] = queue_url
            (data_dir / "queue.db").unlink(missing_ok=True)
        env = base_env(
            data_dir,
            sms_backend="twilio",
            twilio_account_sid=double.account_sid,
            twilio_auth_token=TOKEN,
            twilio_api_url=double.url,
            sms_segments_per_second=str(rate),
            # The minute sweep would re-enqueue this backlog once its rows are a minute old
            # (the template is seeded once, then copied): keep it out of the measurement.
            outbox_grace_seconds="3600",
            **settings,
        )
        if queue_url:
            run_python(ENQUEUE_PREPARE, env)
        log = data_dir / "worker.log"
        started_at = datetime.now(UTC)
        began = time.monotonic()
        with contextmanager_all(
            [process(["worker", "--workers", str(workers)], env, log) for _ in range(processes)]
        ) as procs:
            deadline = began + max(60.0, recipients / max(rate, 1) * 1.5 + 30)
            sent, cpu_first, bench_first = 0, None, 0.0
            while time.monotonic() < deadline:
                if cpu_first is None and double.attempts:
                    cpu_first = sum(cpu_seconds(p.pid) for p in procs)
                    bench_first = time.process_time()
                sent = db_value(
                    data_dir, database_url, "SELECT count(*) FROM deliveries WHERE status='sent'"
                )
                if sent >= recipients or any(p.poll() is not None for p in procs):
                    break
                time.sleep(0.02)
            worker_cpu = sum(cpu_seconds(p.pid) for p in procs) - (cpu_first or 0.0)
            bench_cpu = time.process_time() - bench_first
            if sent < recipients:
                print(f"  ! only {sent} of {recipients} sent before the deadline; worker log:")
                print(textwrap.indent(tail(log), "    "))
        messages = double.messages
    last_sent = db_value(
        data_dir, database_url, "SELECT max(sent_at) FROM deliveries WHERE status='sent'"
    )
    results = (
        sqlite_rows(data_dir / "queue.db", "SELECT count(*) FROM kv")[0][0]
        if queue == "sqlite"
        else None
    )
    times = sorted((m.date_created - started_at).total_seconds() for m in messages)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return SendRun(
        queue=queue,
        workers=workers,
        processes=processes,
        rate=rate,
        sent=sent,
        expected=recipients,
        first_send_s=times[0] if times else float("nan"),
        all_sent_s=(utc(last_sent) - started_at).total_seconds() if last_sent else 0.0,
        sending_rate=(len(times) - 1) / span if span else 0.0,
        twilio_messages=len(messages),
        times=times,
        results_stored=results,
        worker_cpu_s=worker_cpu,
        bench_cpu_s=bench_cpu,
    )


@contextmanager
def contextmanager_all(managers: list) -> Iterator[list]:
    """Enter every context manager in order; exit them in reverse."""
    with ExitStack() as stack:
        yield [stack.enter_context(m) for m in managers]


def cap_figures(run: SendRun) -> tuple[float, int, int]:
    """(steady rate, most messages in any 1 s window, most messages over the GCRA bound).

    The limiter may let an idle sender burst B = max(1, rate) segments, and an unsaturated
    sender keeps that allowance, so the burst is not always the first B messages. Steady rate:
    least-squares slope of message number against time over the messages after the first 2·B
    (the burst is surely spent by then). Bound: in any window [t_i, t_j] a GCRA limiter allows
    at most B + rate·(t_j - t_i) one-segment messages; the third figure is the worst excess."""
    burst = int(max(1.0, run.rate))
    t = run.times
    steady = t[2 * burst :]
    if len(steady) < 10:
        return 0.0, 0, 0
    mean_t = sum(steady) / len(steady)
    mean_i = (len(steady) - 1) / 2
    slope = sum((x - mean_t) * (i - mean_i) for i, x in enumerate(steady)) / sum(
        (x - mean_t) ** 2 for x in steady
    )
    most, j = 0, 0
    for i in range(len(t)):
        while t[i] - t[j] >= 1.0:
            j += 1
        most = max(most, i - j + 1)
    excess = max(
        (j - i + 1) - burst - int(run.rate * (t[j] - t[i]))
        for i in range(len(t))
        for j in range(i, len(t))
    )
    return slope, most, max(excess, 0)


# 3: the inbound webhook ------------------------------------------------------------------------


async def _fire(
    port: int, requests: list[bytes], connections: int, rate: float | None = None
) -> tuple[list[float], Counter, float]:
    """Send every request over `connections` keep-alive connections, one in flight on each.
    Closed loop (rate None): each connection sends its next request as soon as it has the
    answer. Open loop: request i is due at i / rate seconds, and its latency counts from then,
    so time spent waiting for a free connection is counted too.
    Returns each request's latency (s), the count of each response status, and the time taken."""
    pending = iter(enumerate(requests))
    latencies: list[float] = []
    statuses: Counter = Counter()
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i, request in pending:
                if rate is None:
                    began = time.perf_counter()
                else:
                    due = start + i / rate
                    if due > loop.time():
                        await asyncio.sleep(due - loop.time())
                    began = time.perf_counter() - (loop.time() - due)
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                latencies.append(time.perf_counter() - began)
                statuses[int(head.split(b" ", 2)[1])] += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return latencies, statuses, loop.time() - start


def _signed_requests(port: int, count: int) -> list[bytes]:
    double = TwilioDouble(auth_token=TOKEN)  # not started: it only signs, as Twilio would
    url = f"http://127.0.0.1:{port}/webhooks/twilio/sms"
    out = []
    for i in range(count):
        params, headers = double.inbound_sms_request(
            url, f"+1512{i % INBOUND_GUARDIANS:07d}", SENDER, "Thank you, see you tomorrow."
        )
        body = urlencode(params).encode()
        head = (
            f"POST /webhooks/twilio/sms HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"X-Twilio-Signature: {headers['X-Twilio-Signature']}\r\n"
            f"User-Agent: {headers['User-Agent']}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


@dataclass
class Latency:
    requests: int
    ok: int
    statuses: Counter
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    rps: float

    @classmethod
    def of(cls, latencies: list[float], statuses: Counter, elapsed: float) -> "Latency":
        ms = [v * 1000 for v in latencies]
        return cls(
            len(ms),
            statuses.get(200, 0),
            statuses,
            pct(ms, 0.50),
            pct(ms, 0.95),
            pct(ms, 0.99),
            max(ms),
            len(ms) / elapsed,
        )


@dataclass
class InboundRun:
    backend: str
    shape: str
    queue: str
    closed: Latency
    open: Latency
    client_cpu_s: float  # this process, during the closed-loop run
    stored: int
    processed_at_end: int
    backlog_before_closed: int


def inbound_run(
    root: Path, backend: str, database_url: str, shape: str, queue: str = "sqlite"
) -> InboundRun:
    """shape "embedded": `hearth serve` alone, its consumer threads processing the texts (the
    default). "scale-out": HEARTH_EMBEDDED_WORKERS=0 and the queue's consumers in separate
    processes: on the SQLite queue one `hearth worker --workers 2`; on the Redis queue the
    documented split, `hearth worker --queue send` and `hearth worker --queue translate
    --worker-type process -w 2`."""
    data_dir = root / f"inbound-{backend}-{shape}-{queue}-{uuid.uuid4().hex[:6]}"
    data_dir.mkdir(parents=True)
    with redis_server(data_dir / "redis") if queue == "redis" else nullcontext("") as queue_url:
        return _inbound_run(data_dir, backend, database_url, shape, queue, queue_url)


def _inbound_run(
    data_dir: Path, backend: str, database_url: str, shape: str, queue: str, queue_url: str
) -> InboundRun:
    port = free_port()
    settings = {
        "sms_backend": "dev",
        "twilio_auth_token": TOKEN,
        "public_url": f"http://127.0.0.1:{port}",
    }
    if database_url:
        settings["database_url"] = database_url
    if queue_url:
        settings["queue_url"] = queue_url
    if shape == "scale-out":
        settings["embedded_workers"] = "0"
    env = base_env(data_dir, **settings)
    run_python(INBOUND_SEED % {"n": INBOUND_GUARDIANS, "sender": SENDER}, env)
    log = data_dir / "serve.log"
    if shape == "embedded":
        workers = []
    elif queue == "redis":
        workers = [
            process(["worker", "--queue", "send"], env, log),
            process(["worker", "--queue", "translate", "--worker-type", "process", "-w", "2"],
                    env, log),
        ]  # fmt: skip
    else:
        workers = [process(["worker", "--workers", "2"], env, log)]
    with (
        process(["serve", "--host", "127.0.0.1", "--port", str(port)], env, log) as server,
        contextmanager_all(workers),
    ):
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"hearth serve did not start:\n{tail(log)}") from None
                time.sleep(0.1)
        sent = INBOUND_CONCURRENCY + OPEN_LOOP_REQUESTS
        asyncio.run(_fire(port, _signed_requests(port, INBOUND_CONCURRENCY), INBOUND_CONCURRENCY))
        opened = _fire(
            port, _signed_requests(port, OPEN_LOOP_REQUESTS), INBOUND_CONCURRENCY, OPEN_LOOP_RATE
        )
        open_loop = Latency.of(*asyncio.run(opened))
        # Let the consumer threads catch up (bounded), so both runs start alike.
        catch_up = time.monotonic() + 10
        while _inbound_counts(data_dir, database_url)[1] < sent and time.monotonic() < catch_up:
            time.sleep(0.25)
        backlog = sent - _inbound_counts(data_dir, database_url)[1]
        requests = _signed_requests(port, INBOUND_REQUESTS)
        cpu = time.process_time()
        closed = Latency.of(*asyncio.run(_fire(port, requests, INBOUND_CONCURRENCY)))
        cpu = time.process_time() - cpu
        stored, processed = _inbound_counts(data_dir, database_url)
    return InboundRun(backend, shape, queue, closed, open_loop, cpu, stored, processed, backlog)


def _inbound_counts(data_dir: Path, database_url: str) -> tuple[int, int]:
    sql = "SELECT count(*), count(*) FILTER (WHERE status = 'processed') FROM inbound_sms"
    if not database_url:
        return sqlite_rows(data_dir / "hearth.db", sql)[0]
    import psycopg

    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        return conn.execute(sql).fetchone()


@contextmanager
def postgres_database(suffix: str, template: str = "") -> Iterator[str | None]:
    """A fresh database owned by `hearth` on 127.0.0.1:5432 (a copy of the database `template`
    names, if given), dropped afterwards; None (and a note) when PostgreSQL is not reachable
    or the database cannot be made."""
    import psycopg

    name = f"hearth_bench_{os.getpid()}_{suffix}"
    try:
        with psycopg.connect(
            "postgresql://hearth:hearth@127.0.0.1:5432/postgres", connect_timeout=3
        ):
            pass
    except psycopg.Error as exc:
        print(f"  PostgreSQL skipped: 127.0.0.1:5432 not reachable as hearth ({exc})")
        yield None
        return
    copy = f"-T {template.rsplit('/', 1)[1]} " if template else ""
    made = subprocess.run(
        ["su", "postgres", "-c", f"createdb -O hearth {copy}{name}"], capture_output=True, text=True
    )
    if made.returncode != 0:
        print(f"  PostgreSQL skipped: createdb failed: {made.stderr.strip()}")
        yield None
        return
    try:
        yield PG_URL.format(db=name)
    finally:
        subprocess.run(
            ["su", "postgres", "-c", f"dropdb --if-exists --force {name}"], capture_output=True
        )


# Main ------------------------------------------------------------------------------------------


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def runs_text(values: list[float], fmt: str = "{:.0f}") -> str:
    return "/".join(fmt.format(v) for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="take each measurement N times")
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[8, 16], help="threads per worker process"
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--inbound",
        nargs="*",
        choices=list(INBOUND_SHAPES),
        default=["sqlite-embedded", "postgres-scale-out-redis"],
        help="webhook shapes to measure (none: skip the webhook)",
    )
    parser.add_argument("--skip-send", action="store_true", help="only the webhook")
    args = parser.parse_args()
    has_redis = shutil.which("redis-server") is not None
    print(machine())
    began = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="hearth-bench-delivery-"))
    verdicts: list[tuple[str, str, str, bool, str]] = []
    try:
        if not args.skip_send:
            send_part(args, root, has_redis, verdicts)
        inbound_part(args, root, has_redis, verdicts)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(f"\n  {'goal (median of ' + str(args.runs) + ' runs)':<36} {'measured':>9} {'goal':>13}"
          "  result  runs")  # fmt: skip
    for label, measured, goal, met, each in verdicts:
        print(f"  {label:<36} {measured:>9} {goal:>13}  {'PASS' if met else 'MISS':<6}  {each}")
    print(f"\n{machine()}; took {time.monotonic() - began:.0f} s")


def send_part(
    args: argparse.Namespace,
    root: Path,
    has_redis: bool,
    verdicts: list[tuple[str, str, str, bool, str]],
) -> None:
    with ExitStack() as stack:
        pg_big = pg_small = ""
        if has_redis and not args.skip_postgres:
            pg_big = stack.enter_context(postgres_database("send_template_big")) or ""
            pg_small = stack.enter_context(postgres_database("send_template_small")) or ""
        _send_part(args, root, has_redis, verdicts, pg_big, pg_small)


def _send_part(
    args: argparse.Namespace,
    root: Path,
    has_redis: bool,
    verdicts: list[tuple[str, str, str, bool, str]],
    pg_big: str,
    pg_small: str,
) -> None:
    templates = {
        ("sqlite", args.recipients): (seed_outbound(root, args.recipients), ""),
        ("sqlite", CAP_RECIPIENTS): (seed_outbound(root, CAP_RECIPIENTS), ""),
    }
    # (database, queue, processes, threads per process): the embedded default's queue, and
    # the scale-out shape (PostgreSQL, Redis queue, several worker processes).
    throughput_configs = [("sqlite", "sqlite", 1, w) for w in args.workers]
    cap_configs = [("sqlite", "sqlite", 1, 8), ("sqlite", "sqlite", 2, 8)]
    if pg_big and pg_small:
        templates[("postgres", args.recipients)] = (
            seed_outbound(root, args.recipients, pg_big),
            pg_big,
        )
        templates[("postgres", CAP_RECIPIENTS)] = (
            seed_outbound(root, CAP_RECIPIENTS, pg_small),
            pg_small,
        )
        throughput_configs += [("postgres", "redis", n, args.workers[0]) for n in (1, 2)]
        cap_configs += [("postgres", "redis", n, 8) for n in (1, 2)]
    else:
        print("  PostgreSQL + Redis queue runs skipped (--skip-postgres, or no redis-server)")
    print(f"seeded {args.recipients} and {CAP_RECIPIENTS} English guardians, one urgent text each")

    def one(config: tuple[str, str, int, int], recipients: int, rate: float, n: int) -> SendRun:
        database, queue, processes, workers = config
        template, template_db = templates[(database, recipients)]
        if not template_db:
            return send_run(root, template, recipients, workers, rate, processes, queue)
        with postgres_database(f"send_{n}_{uuid.uuid4().hex[:6]}", template_db) as url:
            if url is None:
                raise RuntimeError("could not copy the PostgreSQL template database")
            return send_run(root, template, recipients, workers, rate, processes, queue, url)

    def label(config: tuple[str, str, int, int]) -> str:
        database, queue, processes, workers = config
        return f"{database}/{queue} {processes}x{workers}"

    print(
        f"\n1. sender throughput, `hearth worker` process(es), {args.recipients} SMS, "
        "rate cap 1e6/s"
    )
    print(
        f"  {'run':>3} {'db/queue procs x threads':>25} {'sent':>5} {'1st send':>8} "
        f"{'all sent':>8} {'msg/s e2e':>9} {'msg/s sending':>13} {'/worker':>7} "
        f"{'worker cpu':>10} {'ms cpu/msg':>10} {'double cpu':>10} {'huey results':>12}"
    )
    sending: dict[tuple, list[float]] = {c: [] for c in throughput_configs}
    for number in range(1, args.runs + 1):
        print(f"  run {number}: {load()}")
        for config in throughput_configs:
            run = one(config, args.recipients, 1e6, number)
            per_worker = run.sending_rate / run.processes
            sending[config].append(per_worker)
            stored = "-" if run.results_stored is None else str(run.results_stored)
            print(
                f"  {number:>3} {label(config):>25} {run.sent:>5} {run.first_send_s:>7.2f}s "
                f"{run.all_sent_s:>7.2f}s {run.end_to_end:>9.0f} {run.sending_rate:>13.0f} "
                f"{per_worker:>7.0f} {run.worker_cpu_s / run.window_s * 100:>9.0f}% "
                f"{run.worker_cpu_s / run.sent * 1000:>10.2f} "
                f"{run.bench_cpu_s / run.window_s * 100:>9.0f}% {stored:>12}"
            )
            if run.twilio_messages != run.expected:
                print(f"  ! the double recorded {run.twilio_messages} messages")
    print(
        "  (/worker: sending msg/s divided by the worker processes; cpu columns: share of one "
        "core during the sending window, all worker processes together; the double and the "
        "poller run in this process; huey results: result rows left in queue.db)"
    )
    for config, values in sending.items():
        verdicts.append(
            (
                f"sender msg/s per worker, {label(config)}",
                f"{med(values):.0f}",
                f">= {THROUGHPUT_GOAL:.0f}",
                med(values) >= THROUGHPUT_GOAL,
                runs_text(values),
            )
        )

    print(
        f"\n2. rate cap: {CAP_RECIPIENTS} one-segment SMS from one sender, "
        f"HEARTH_SMS_SEGMENTS_PER_SECOND={CAP_RATE:.0f}, burst {CAP_RATE:.0f}"
    )
    print(
        f"  {'run':>3} {'db/queue procs x threads':>25} {'configured':>10} {'steady':>7} "
        f"{'error':>7} {'max in 1 s':>10} {'over bound':>10} {'took':>6}"
    )
    errors: dict[tuple, list[float]] = {c: [] for c in cap_configs}
    for number in range(1, args.runs + 1):
        print(f"  run {number}: {load()}")
        for config in cap_configs:
            run = one(config, CAP_RECIPIENTS, CAP_RATE, number)
            achieved, most, excess = cap_figures(run)
            error = (achieved - CAP_RATE) / CAP_RATE * 100
            errors[config].append(error)
            print(
                f"  {number:>3} {label(config):>25} {CAP_RATE:>10.0f} {achieved:>7.2f} "
                f"{error:>+6.1f}% {most:>10} {excess:>10} {run.window_s:>5.1f}s"
            )
    print(
        f"  (steady: slope after the first {2 * int(CAP_RATE)} messages; max in 1 s may "
        f"reach rate + burst = {2 * int(CAP_RATE)}; over bound: the most messages beyond "
        "burst + rate x window in any window, 0 when the cap holds)"
    )
    for config, values in errors.items():
        middle = med(values)
        verdicts.append(
            (
                f"rate cap error, {label(config)}",
                f"{middle:+.1f} %",
                f"within ±{CAP_ERROR_GOAL:.0f} %",
                abs(middle) <= CAP_ERROR_GOAL,
                runs_text(values, "{:+.1f}"),
            )
        )


def inbound_part(
    args: argparse.Namespace,
    root: Path,
    has_redis: bool,
    verdicts: list[tuple[str, str, str, bool, str]],
) -> None:
    shapes = list(args.inbound)
    if args.skip_postgres:
        shapes = [n for n in shapes if INBOUND_SHAPES[n][0] != "PostgreSQL"]
        print("  PostgreSQL skipped (--skip-postgres)")
    if not has_redis:
        shapes = [n for n in shapes if INBOUND_SHAPES[n][2] != "redis"]
    if not shapes:
        return
    print(
        "\n3. inbound webhook: signed POST /webhooks/twilio/sms to one `hearth serve` "
        "(shapes: see the top of this script)"
    )
    print(
        f"  closed: {INBOUND_REQUESTS} requests, {INBOUND_CONCURRENCY} connections each "
        f"keeping one in flight; open: {OPEN_LOOP_REQUESTS} at {OPEN_LOOP_RATE:.0f}/s"
    )
    print(
        f"  {'run':>3} {'shape':>24} {'loop':>6} {'ok':>5} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>7} {'req/s':>6}"
    )
    results: dict[str, list[InboundRun]] = {name: [] for name in shapes}
    for number in range(1, args.runs + 1):
        print(f"  run {number}: {load()}")
        for name in shapes:
            backend, shape, queue = INBOUND_SHAPES[name]
            database = (
                nullcontext("")
                if backend == "SQLite"
                else postgres_database(f"{name.replace('-', '_')}_{number}")
            )
            with database as url:
                if url is None:
                    continue
                run3 = inbound_run(root, backend.lower(), url, shape, queue)
            results[name].append(run3)
            for loop, lat in (("open", run3.open), ("closed", run3.closed)):
                print(
                    f"  {number:>3} {name:>24} {loop:>6} {lat.ok:>5} {lat.p50_ms:>7.1f} "
                    f"{lat.p95_ms:>7.1f} {lat.p99_ms:>7.1f} {lat.max_ms:>7.1f} {lat.rps:>6.0f}"
                )
                if lat.ok != lat.requests:
                    print(f"  ! statuses {dict(lat.statuses)}")
            total = INBOUND_CONCURRENCY + OPEN_LOOP_REQUESTS + INBOUND_REQUESTS
            print(
                f"  {'':>28} rows stored {run3.stored}/{total}, processed by the end "
                f"{run3.processed_at_end}; backlog as the closed run began "
                f"{run3.backlog_before_closed}; client CPU {run3.client_cpu_s:.1f} s"
            )
    for name, runs in results.items():
        if not runs:
            continue
        for loop in ("closed", "open"):
            lats = [getattr(r, loop) for r in runs]
            p99s = [lat.p99_ms for lat in lats]
            all_ok = all(lat.ok == lat.requests for lat in lats)
            what = "p99 @100 conc" if loop == "closed" else f"(p99 @{OPEN_LOOP_RATE:.0f}/s open"
            verdicts.append(
                (
                    f"webhook {what}, {name}" + (")" if loop == "open" else ""),
                    f"{med(p99s):.0f} ms",
                    f"<= {WEBHOOK_P99_GOAL_MS:.0f} ms",
                    med(p99s) <= WEBHOOK_P99_GOAL_MS and all_ok,
                    f"p99 {runs_text(p99s)}; "
                    f"p50 {runs_text([lat.p50_ms for lat in lats], '{:.1f}')}"
                    f"; req/s {runs_text([lat.rps for lat in lats])}",
                )
            )


def load() -> str:
    return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


if __name__ == "__main__":
    main()
