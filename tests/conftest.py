"""Test setup: one migrated database per run (SQLite by default, PostgreSQL when
HEARTH_DATABASE_URL says so); every test runs inside a transaction that is rolled back."""

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

_DATA_DIR = Path(tempfile.mkdtemp(prefix="hearth-test-"))
os.environ["HEARTH_DATA_DIR"] = str(_DATA_DIR)
os.environ.setdefault("HEARTH_ENV", "dev")
# Tests send many texts from one number; the per-sender cap has its own tests.
os.environ["HEARTH_SMS_SEGMENTS_PER_SECOND"] = "10000"

os.environ.pop("HEARTH_SECRET_KEY", None)

from fastapi.testclient import TestClient  # noqa: E402

from app.auth.service import create_api_key, forget_subjects  # noqa: E402
from app.core import migrations  # noqa: E402
from app.core.config import get_settings  # noqa: E402
from app.core.db import (  # noqa: E402
    get_engine,
    get_session,
    get_sessionmaker,
    use_sessionmaker,
)
from app.core.queue import QUEUES  # noqa: E402
from app.main import create_app  # noqa: E402
from app.translation import packages  # noqa: E402
from app.translation.argos import engine as argos_engine  # noqa: E402
from app.translation.service import forget_recent  # noqa: E402
from tests import factories  # noqa: E402
from tests.scenes import Classroom, build_classroom  # noqa: E402
from tests.servers import redis_server  # noqa: E402

# Ends every run with what did not run and why.
pytest_plugins = ["tests.skip_summary"]

for queue in QUEUES.values():
    queue.immediate = True  # jobs run synchronously, right after the commit that queued them


def _reset_caches() -> None:
    get_settings.cache_clear()
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    _reset_caches()
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    with engine.begin() as conn:
        migrations.upgrade(conn)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    # Jobs, and any code that opens its own session, share this test's connection.
    use_sessionmaker(
        sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
    )
    factories.bind(session)
    # Nothing one test translated or checked stays in this process's memory for the next.
    forget_recent()
    forget_subjects()
    try:
        yield session
    finally:
        use_sessionmaker(None)
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def app(session: Session):
    application = create_app()

    def request_session() -> Iterator[Session]:
        # As get_session: one transaction per request, committed on success, undone on error.
        # What the test set up is committed first (it is in the database before the request);
        # the request runs in a SAVEPOINT so that its failure undoes only its own writes.
        session.commit()
        # A request starts from what the database holds, as a request's own session does: no
        # object (or loaded collection) the test or an earlier request left in this one.
        session.expire_all()
        request = session.begin_nested()
        try:
            yield session
        except BaseException:
            # (A service that still commits on its own has already ended the SAVEPOINT.)
            (request if request.is_active else session).rollback()
            raise
        if request.is_active:
            request.commit()
        session.commit()

    application.dependency_overrides[get_session] = request_session
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def auth(session: Session) -> Callable[..., dict[str, str]]:
    """auth(scopes="admin", staff=None, school=None) -> Authorization headers for a new key."""

    def make(scopes: str = "admin", staff=None, school=None) -> dict[str, str]:
        _, key = create_api_key(
            session,
            name="test",
            scopes=scopes.split(","),
            school_id=school.id if school is not None else None,
            staff_email=staff.email if staff is not None else None,
        )
        session.flush()
        return {"Authorization": f"Bearer {key}"}

    return make


@pytest.fixture
def classroom(session: Session, argos_models) -> Classroom:
    """The shared school and its people (tests/scenes.py), with the translation models."""
    return build_classroom(session)


def count_rows(session: Session, table: str) -> int:
    return session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


# The project's own tiny Argos packages (tests/fixtures/argos), installed through
# argostranslate's own install_from_path into this test run's models folder.
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "argos"


@pytest.fixture(scope="session")
def argos_models() -> list:
    paths = sorted((FIXTURES / "packages").glob("*.argosmodel"))
    assert paths, "tests/fixtures/argos/packages holds no .argosmodel"
    if len(argos_engine.pairs()) < len(paths):
        for path in paths:
            packages.install_file(path)
    return packages.installed()


MULTILINGUAL = (
    Path(__file__).resolve().parent
    / "fixtures"
    / "multilingual"
    / "packages"
    / "multilingual-m2m100-tiny.hearthmodel"
)


@pytest.fixture(scope="module")
def multilingual_model():
    """The tiny multilingual model (tests/fixtures/multilingual) installed through the real
    install code, and removed after the module: while installed it is the route for every
    language it knows that no Argos package covers (Haitian Creole)."""
    from app.translation import multilingual

    model = multilingual.install(MULTILINGUAL)
    yield model
    shutil.rmtree(model.path, ignore_errors=True)
    multilingual.reset()


@pytest.fixture(scope="session")
def heldout() -> list[dict[str, str]]:
    with open(FIXTURES / "corpus.tsv", encoding="utf-8") as f:
        return [row for row in csv.DictReader(f, delimiter="\t") if row["split"] == "heldout"]


ROOT = Path(__file__).resolve().parents[1]


def run_hearth(
    data_dir: Path,
    *args: str,
    database_url: str = "",
    timeout: float = 180,
    settings: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The `hearth` command in a subprocess, on its own data dir (and database), with
    `settings` (HEARTH_* variables) on top of the defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env["HEARTH_DATA_DIR"] = str(data_dir)
    if database_url:
        env["HEARTH_DATABASE_URL"] = database_url
    env.update(settings or {})
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A real redis-server of this test module's own (the Debian package)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    with redis_server() as url:
        yield url


@dataclass
class S3Bucket:
    """A fresh bucket of the local S3 server, which Hearth keeps its attachments in."""

    endpoint: str
    name: str
    prefix: str
    client: Any

    def keys(self) -> set[str]:
        return {o.object_name for o in self.client.list_objects(self.name, recursive=True)}

    def read(self, sha256: str) -> bytes:
        response = self.client.get_object(self.name, self.prefix + sha256)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def has(self, sha256: str) -> bool:
        return self.prefix + sha256 in self.keys()


S3_KEYS = ("hearth-test-access", "hearth-test-secret-value")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A real S3-compatible server on a free local port (moto's server mode), for this run."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_server: str) -> Iterator[S3Bucket]:
    """HEARTH_ATTACHMENT_STORE=s3 on a new, empty bucket for this test (settings as they were
    afterwards)."""
    from minio import Minio

    name = f"hearth-{uuid.uuid4().hex[:12]}"
    client = Minio(
        s3_server, access_key=S3_KEYS[0], secret_key=S3_KEYS[1], secure=False, region="us-east-1"
    )
    client.make_bucket(name)
    settings = {
        "HEARTH_ATTACHMENT_STORE": "s3",
        "HEARTH_S3_ENDPOINT": s3_server,
        "HEARTH_S3_BUCKET": name,
        "HEARTH_S3_ACCESS_KEY": S3_KEYS[0],
        "HEARTH_S3_SECRET_KEY": S3_KEYS[1],
        "HEARTH_S3_REGION": "us-east-1",
        "HEARTH_S3_SECURE": "false",
    }
    before = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    get_settings.cache_clear()
    try:
        yield S3Bucket(s3_server, name, get_settings().s3_prefix, client)
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
