"""Fault test: `hearth serve` (the embedded default: SQLite, consumer threads in the server)
killed with SIGKILL in the middle of an urgent broadcast, then started again with the default
settings. Real processes, the real Twilio SDK against the double."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from app.devtools.twilio_double import TwilioDouble
from tests.delivery.test_worker_crash import _statuses
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = 12

SEED = textwrap.dedent("""
    import app.models, app.tasks
    from app.auth.service import AuthSubject
    from app.broadcasts import service as broadcasts
    from app.broadcasts.schemas import Audience, BroadcastDraft
    from app.core import migrations
    from app.core.db import get_sessionmaker
    from app.people.models import Guardian, Student, StudentGuardian
    from app.schools.models import School

    migrations.upgrade()
    with get_sessionmaker()() as s:
        school = School(name="Crash Test School", sms_sender="+15125550100")
        s.add(school); s.flush()
        student = Student(school_id=school.id, external_id="S1", given_name="A", family_name="B")
        s.add(student); s.flush()
        for i in range(%(n)d):
            s.add(Guardian(given_name="G", family_name=str(i), phone=f"+1512555{i:04d}",
                           language="en", channels=["sms"],
                           student_links=[StudentGuardian(student_id=student.id)]))
        office = AuthSubject(role="office", scopes=frozenset({"read", "send"}),
                             school_ids=frozenset({school.id}))
        broadcasts.create(s, office, BroadcastDraft(
            school_id=school.id, audience=Audience(whole_school=True), title="Early dismissal",
            body="School closes at noon today because of the storm.", urgent=True))
        s.commit()
""") % {"n": FAMILIES}


def _env(tmp_path: Path, double: TwilioDouble) -> dict[str, str]:
    # Only what points Hearth at its data dir and at the Twilio double: every recovery and
    # rate setting is the default (one text per second per number, the default lease).
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(
        {
            "HEARTH_DATA_DIR": str(tmp_path),
            "HEARTH_SMS_BACKEND": "twilio",
            "HEARTH_TWILIO_ACCOUNT_SID": double.account_sid,
            "HEARTH_TWILIO_AUTH_TOKEN": double.auth_token,
            "HEARTH_TWILIO_API_URL": double.url,
        }
    )
    return env


def _serve(env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(free_port())],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )


@pytest.mark.skipif(
    os.environ.get("HEARTH_DATABASE_URL", "").startswith("postgresql"),
    reason="the embedded default is SQLite; the PostgreSQL run covers the scale-out shape",
)
def test_server_killed_mid_broadcast_resumes_within_30_s_and_sends_each_text_once(tmp_path):
    with TwilioDouble(latency=0.02).start() as double:
        env = _env(tmp_path, double)
        seeded = subprocess.run(
            [sys.executable, "-c", SEED],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert seeded.returncode == 0, seeded.stderr
        log = tmp_path / "serve.log"

        first = _serve(env, log)
        deadline = time.monotonic() + 90
        while len(double.messages) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        before = len(double.messages)
        db = tmp_path / "hearth.db"
        print(
            f"\ninjected: SIGKILL of `hearth serve` after {before} of {FAMILIES} texts; "
            f"rows then: {dict(_statuses(db))}"
        )
        assert 0 < before < FAMILIES, log.read_text()[-3000:]

        second = _serve(env, log)
        restarted = time.monotonic()
        try:
            while len(double.messages) == before and time.monotonic() < restarted + 60:
                time.sleep(0.1)
            resumed = time.monotonic() - restarted
            deadline = time.monotonic() + 90
            while _statuses(db).get("sent", 0) < FAMILIES and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(30)
        per_number = Counter(m.to for m in double.messages)
        print(
            f"counted: sending resumed {resumed:.1f} s after the restart; "
            f"{len(double.messages)} texts for {len(per_number)} numbers; "
            f"rows: {dict(_statuses(db))}"
        )
        assert resumed <= 30, log.read_text()[-3000:]
        assert _statuses(db) == Counter({"sent": FAMILIES}), log.read_text()[-3000:]
        assert len(per_number) == FAMILIES
        assert max(per_number.values()) == 1
