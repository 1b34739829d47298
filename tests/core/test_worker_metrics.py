"""`hearth worker --metrics-port`: a real worker process serves Prometheus metrics on its own
port, and its job counter moves once a job it took from the queue has run; a process pool's
children are counted through PROMETHEUS_MULTIPROC_DIR. SQLite and the SQLite queue in a data
dir of the test's own: nothing to install."""

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.scaleout.harness import ROOT, hearth_env, migrate, run_python
from tests.servers import free_port

ENQUEUE = (
    "import sys, app.tasks\n"
    "from app.core.queue import registered\n"
    "registered(sys.argv[1])(int(sys.argv[2]))\n"
)


@pytest.fixture
def env(tmp_path) -> dict:
    environment = hearth_env(tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'hearth.db'}", "")
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    (tmp_path / "data").mkdir()
    migrate(environment)
    return environment


@contextmanager
def worker(env: dict, log: Path, *args: str) -> Iterator[subprocess.Popen]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "worker", *args],
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


def jobs_run(port: int, job: str) -> float:
    """hearth_jobs_total of `job` (every outcome) on the worker's metrics port; 0 if not yet."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return 0
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "hearth_jobs_total" and sample.labels.get("job") == job
    )


def wait_for_job(proc: subprocess.Popen, log: Path, port: int, job: str) -> float:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the worker stopped:\n{log.read_text()[-3000:]}"
        count = jobs_run(port, job)
        if count:
            return count
        time.sleep(0.3)
    pytest.fail(f"no {job} job counted on :{port}/metrics:\n{log.read_text()[-3000:]}")


def test_a_thread_worker_counts_the_jobs_it_ran(env, tmp_path):
    port, log = free_port(), tmp_path / "send.log"
    with worker(env, log, "--queue", "send", "-w", "2", "--metrics-port", str(port)) as proc:
        # The outbox sweep it runs at start, then a job taken from the queue.
        assert wait_for_job(proc, log, port, "delivery.sweep") >= 1
        assert jobs_run(port, "delivery.send") == 0
        run_python(ENQUEUE, env, "delivery.send", "999999")
        assert wait_for_job(proc, log, port, "delivery.send") == 1
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert re.search(r'hearth_job_seconds_count\{job="delivery.send"\} 1\.0', text)


def test_a_process_pool_counts_its_children_through_the_multiprocess_dir(env, tmp_path):
    port, log = free_port(), tmp_path / "translate.log"
    args = ("--queue", "translate", "--worker-type", "process", "-w", "1")
    refused = subprocess.run(
        [sys.executable, "-m", "app", "worker", *args, "--metrics-port", str(port)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0 and "PROMETHEUS_MULTIPROC_DIR" in refused.stderr

    shared = tmp_path / "prometheus"
    shared.mkdir()
    with worker(
        {**env, "PROMETHEUS_MULTIPROC_DIR": str(shared)}, log, *args, "--metrics-port", str(port)
    ) as proc:
        run_python(ENQUEUE, env, "messaging.prepare", "999999")
        assert wait_for_job(proc, log, port, "messaging.prepare") >= 1
    # The job ran in a child process: its figures came from the shared folder.
    assert any(shared.glob("*.db"))
