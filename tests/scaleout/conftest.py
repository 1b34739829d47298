"""Fixtures of the scale-out tests: a migrated PostgreSQL database and a redis-server per test."""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scaleout import harness


def skip_unless_ready() -> None:
    reason = harness.skip_reason()
    if reason and os.environ.get("SCALEOUT_TESTS") == "required":
        pytest.fail(f"SCALEOUT_TESTS=required, but {reason}")
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def scaleout_template() -> Iterator[str]:
    """A database migrated once; each test gets a copy (CREATE DATABASE … TEMPLATE)."""
    skip_unless_ready()
    server = os.environ["HEARTH_DATABASE_URL"]
    with harness.scratch_database(server) as url, tempfile.TemporaryDirectory() as data_dir:
        harness.migrate(harness.hearth_env(Path(data_dir), url, "memory://"))
        yield url.rsplit("/", 1)[1]


@pytest.fixture
def private_postgres() -> Iterator[harness.PrivateCluster]:
    """A PostgreSQL cluster of the test's own, free to be restarted."""
    skip_unless_ready()
    with harness.private_cluster() as cluster:
        yield cluster


@pytest.fixture
def database_url(scaleout_template: str) -> Iterator[str]:
    with harness.scratch_database(
        os.environ["HEARTH_DATABASE_URL"], template=scaleout_template
    ) as url:
        yield url


@pytest.fixture
def redis_url() -> Iterator[str]:
    skip_unless_ready()
    with harness.redis_server() as url:
        yield url
