"""The scale-out deployment, for real, on loopback only: PostgreSQL, a redis-server started here
on a free port, `hearth worker` subprocesses, and the official Twilio SDK talking to the Twilio
double (a thread of the test process). Every wait is bounded; every process started here is
stopped here."""

import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from app.devtools.twilio_double import TwilioDouble
from tests.servers import free_port, redis_server  # noqa: F401  (used by the tests too)

ROOT = Path(__file__).resolve().parents[2]
SENDER = "+15125550100"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
UNSETTLED = ("queued", "sending")


def skip_reason() -> str | None:
    """Why the scale-out tests cannot run here, or None. With SCALEOUT_TESTS=required (CI's
    PostgreSQL pass) a reason is a failure, not a skip."""
    if not os.environ.get("HEARTH_DATABASE_URL", "").startswith("postgresql"):
        return (
            "scale-out runs on PostgreSQL: set HEARTH_DATABASE_URL=postgresql+psycopg://… "
            "(CI's PostgreSQL pass runs it)"
        )
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (Debian package redis-server)"
    return None


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


# Redis -----------------------------------------------------------------------------------------


# PostgreSQL ------------------------------------------------------------------------------------


@contextmanager
def scratch_database(server_url: str, template: str | None = None) -> Iterator[str]:
    """A new database on the server of `server_url` (named after its database), optionally a
    copy of `template`; dropped afterwards. Yields its SQLAlchemy URL."""
    parts = urlsplit(server_url)
    name = f"{parts.path.lstrip('/')}_so_{uuid.uuid4().hex[:8]}"
    copy = f" TEMPLATE {template}" if template else ""
    with psycopg.connect(libpq(server_url), autocommit=True) as conn:
        for attempt in range(20):
            try:
                conn.execute(f"CREATE DATABASE {name}{copy}")
                break
            except psycopg.errors.ObjectInUse:
                # Autovacuum may be visiting the template for a moment.
                if attempt == 19:
                    raise
                time.sleep(0.5)
        # Commits not waiting for the disk: what is tested is who sends what, not durability
        # across a power cut, and the machine's other tests share that disk.
        conn.execute(f"ALTER DATABASE {name} SET synchronous_commit = off")
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(libpq(server_url), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class PrivateCluster:
    """A PostgreSQL 15 cluster of this test's own (initdb into a temporary directory), so it
    can be restarted without touching the server other tests use."""

    root: Path
    port: int
    as_postgres: bool
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / "postgres.log"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://hearth:hearth@127.0.0.1:{self.port}/hearth"

    def _run(self, *command: str) -> None:
        # initdb and postgres refuse to run as root: CI runs the tests as root.
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        done = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, timeout=60, cwd=self.root
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stderr or done.stdout}")

    def initdb(self) -> None:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-sync")  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}"
            " -c fsync=off -c max_connections=200"
        )
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.log), "-w", "-t", "30", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_hearth_database(self) -> None:
        admin = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE ROLE hearth LOGIN PASSWORD 'hearth'")
            conn.execute("CREATE DATABASE hearth OWNER hearth")


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError(f"{PG_BIN}/initdb is missing (Debian package postgresql-15)")
    root = Path(tempfile.mkdtemp(prefix="hearth-pg-"))
    as_postgres = os.geteuid() == 0
    if as_postgres:
        postgres = pwd.getpwnam("postgres")
        os.chown(root, postgres.pw_uid, postgres.pw_gid)
    cluster = PrivateCluster(root, free_port(), as_postgres)
    started = False
    try:
        cluster.initdb()
        cluster.start()
        started = True
        cluster.create_hearth_database()
        yield cluster
    finally:
        if started:
            with contextlib.suppress(RuntimeError):  # already down
                cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def delivery_statuses(database_url: str) -> Counter:
    with psycopg.connect(libpq(database_url), autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall()
    return Counter(dict(rows))


def delivery_attempts(database_url: str) -> Counter:
    """How many deliveries took 1, 2, 3... attempts."""
    with psycopg.connect(libpq(database_url), autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute("SELECT attempts, count(*) FROM deliveries GROUP BY 1").fetchall()
    return Counter(dict(rows))


# The app, in subprocesses ----------------------------------------------------------------------


def hearth_env(data_dir: Path, database_url: str, queue_url: str, **settings: str) -> dict:
    """The environment of every process of one deployment; settings are HEARTH_<NAME>."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(
        HEARTH_ENV="dev",
        HEARTH_DATA_DIR=str(data_dir),
        HEARTH_SECRET_KEY="scale-out-test-secret-" + "k" * 24,
        HEARTH_DATABASE_URL=database_url,
        HEARTH_QUEUE_URL=queue_url,
        HEARTH_LOG_LEVEL="INFO",
        HEARTH_SMS_SEGMENTS_PER_SECOND="100000",
    )
    env.update({f"HEARTH_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def twilio_settings(double: TwilioDouble) -> dict[str, str]:
    return {
        "sms_backend": "twilio",
        "twilio_account_sid": double.account_sid,
        "twilio_auth_token": double.auth_token,
        "twilio_api_url": double.url,
    }


def run_python(code: str, env: dict, *args: str, timeout: float = 180) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"script failed:\n{done.stderr[-4000:]}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def migrate(env: dict) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if done.returncode != 0:
        raise RuntimeError(f"hearth db upgrade failed:\n{done.stderr[-4000:]}")


_SEED = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from sqlalchemy import insert
    import app.models, app.tasks
    from app.auth.service import AuthSubject
    from app.broadcasts import service
    from app.broadcasts.schemas import BroadcastDraft
    from app.core.db import get_sessionmaker
    from app.people.models import Guardian, Student, StudentGuardian
    from app.schools.models import School

    spec = json.loads(sys.argv[1])
    if spec["argos_fixtures"]:
        from app.translation import packages
        for path in sorted(Path(spec["argos_fixtures"]).glob("*.argosmodel")):
            packages.install_file(path)
    languages, n = spec["languages"], spec["guardians"]
    with get_sessionmaker()() as s:
        school = School(name="Scale-out School", sms_sender=spec["sender"])
        s.add(school); s.flush()
        student = Student(school_id=school.id, external_id="S1", given_name="A", family_name="B")
        s.add(student); s.flush()
        ids = s.execute(insert(Guardian).returning(Guardian.id), [
            {"given_name": "G", "family_name": str(i), "phone": f"+1512{i:07d}",
             "email": f"family{i}@scale.example.org", "language": languages[i % len(languages)],
             "channels": spec["channels"], "language_confirmed": True,
             "channels_confirmed": True, "active": True}
            for i in range(n)]).scalars().all()
        s.execute(insert(StudentGuardian), [
            {"student_id": student.id, "guardian_id": g, "relationship": "guardian"}
            for g in ids])
        s.commit()
        # An urgent whole-school broadcast, as the API creates it: its fan-out job goes to the
        # queue, for whichever worker takes it.
        office = AuthSubject(role="office", scopes=frozenset({"read", "send"}),
                             school_ids=frozenset({school.id}))
        draft = BroadcastDraft(school_id=school.id, audience={"whole_school": True},
                               urgent=True, body=spec["body"])
        broadcast = service.create(s, office, draft)
        s.commit()  # its fan-out job goes on the queue with this commit
        print(broadcast.id)
""")


def seed_and_broadcast(
    env: dict,
    guardians: int,
    body: str,
    *,
    languages: tuple[str, ...] = ("en",),
    channels: tuple[str, ...] = ("sms",),
    argos_fixtures: Path | None = None,
) -> int:
    """A school with one student and `guardians` families, and a broadcast of `body` to them
    all waiting on the queue; returns the broadcast's id."""
    spec = {
        "guardians": guardians,
        "body": body,
        "languages": list(languages),
        "channels": list(channels),
        "sender": SENDER,
        "argos_fixtures": str(argos_fixtures) if argos_fixtures else "",
    }
    return int(run_python(_SEED, env, json.dumps(spec)))


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, to the whole process group: nothing gets to clean up."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def records(self) -> Iterator[dict]:
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by SIGKILL

    def outcomes(self) -> Counter:
        """What this worker's delivery jobs reported, from its log (one line per send)."""
        return Counter(
            r["outcome"]
            for r in self.records()
            if r.get("logger") == "hearth.delivery" and "outcome" in r
        )

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def start_worker(name: str, env: dict, directory: Path, *args: str) -> Worker:
    log = directory / f"{name}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "worker", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    return Worker(name, proc, log)


@contextmanager
def workers(env: dict, directory: Path, *specs: tuple[str, list[str]]) -> Iterator[list[Worker]]:
    """Start a worker per (name, args); every one (and any appended later) stopped at the end."""
    running = [start_worker(name, env, directory, *args) for name, args in specs]
    try:
        yield running
    finally:
        for worker in running:
            worker.stop()


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, workers: list[Worker] = ()
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {w.name} ---\n{w.tail()}" for w in workers)
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{logs}")
        time.sleep(0.1)


def wait_until_settled(
    database_url: str, expected: int, timeout: float, workers: list[Worker]
) -> Counter:
    """Until all `expected` deliveries exist and none is queued or sending. A database that is
    restarting just means: look again."""
    last: list[Counter] = [Counter()]

    def settled() -> bool:
        try:
            last[0] = delivery_statuses(database_url)
        except psycopg.OperationalError:
            return False
        total = sum(last[0].values())
        return total == expected and not any(last[0][s] for s in UNSETTLED)

    try:
        wait_for(settled, timeout, f"{expected} deliveries to settle", workers)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nrows: {dict(last[0])}") from None
    return last[0]


def per_recipient(double: TwilioDouble) -> Counter:
    """Texts the double accepted (answered 201), per phone number."""
    return Counter(m.to for m in double.messages)
