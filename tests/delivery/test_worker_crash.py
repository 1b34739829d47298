"""Fault test: a worker killed (SIGKILL) in the middle of 500 deliveries, then restarted.
Real processes, a real SQLite file and Huey queue, the real Twilio SDK against the double."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from app.devtools.twilio_double import TwilioDouble

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 500

SEED = textwrap.dedent("""
    from sqlalchemy.orm import selectinload
    from sqlalchemy import select
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
        school = School(name="Crash Test School", sms_sender="+15125550100")
        s.add(school); s.flush()
        staff = Staff(name="Office", email="office@crash.example.org", role="office",
                      school_links=[StaffSchool(school_id=school.id)])
        s.add(staff)
        student = Student(school_id=school.id, external_id="S1", given_name="A", family_name="B")
        s.add(student); s.flush()
        thread = Thread(school_id=school.id, subject="Closure")
        s.add(thread); s.flush()
        for i in range(%(n)d):
            g = Guardian(given_name="G", family_name=str(i), phone=f"+1512555{i:04d}",
                         language="en", channels=["sms"],
                         student_links=[StudentGuardian(student_id=student.id)])
            s.add(g); s.flush()
            s.add(ThreadGuardian(thread_id=thread.id, guardian_id=g.id))
        s.commit()
        staff = s.scalar(select(Staff).options(selectinload(Staff.school_links)))
        subject = subject_for_staff(staff, frozenset({"read", "write", "send"}))
        messaging.post_message(s, subject, thread.id,
                               MessageCreate(body="School is closed today.", urgent=True))
        s.commit()
""") % {"n": RECIPIENTS}


def _env(tmp_path: Path, double: TwilioDouble) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(
        {
            "HEARTH_DATA_DIR": str(tmp_path),
            "HEARTH_SMS_BACKEND": "twilio",
            "HEARTH_TWILIO_ACCOUNT_SID": double.account_sid,
            "HEARTH_TWILIO_AUTH_TOKEN": double.auth_token,
            "HEARTH_TWILIO_API_URL": double.url,
            "HEARTH_SMS_SEGMENTS_PER_SECOND": "100000",
            "HEARTH_SENDING_STALE_SECONDS": "2",
            "HEARTH_OUTBOX_GRACE_SECONDS": "2",
        }
    )
    return env


def _statuses(db: Path) -> Counter:
    with sqlite3.connect(db) as conn:
        return Counter(dict(conn.execute("SELECT status, count(*) FROM deliveries GROUP BY 1")))


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app", "worker", "--workers", "4"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )


@pytest.mark.skipif(
    os.environ.get("HEARTH_DATABASE_URL", "").startswith("postgresql"),
    reason="runs on its own SQLite file; the PostgreSQL run covers the rest",
)
def test_killed_worker_loses_nothing_and_sends_nothing_twice(tmp_path):
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
        db = tmp_path / "hearth.db"
        assert _statuses(db) == Counter({"queued": RECIPIENTS})

        first = _worker(env, tmp_path / "worker.log")
        deadline = time.monotonic() + 60
        while len(double.attempts) < RECIPIENTS // 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        sent_before_restart = len(double.messages)
        at_kill = _statuses(db)
        print(
            f"\ninjected: SIGKILL after {sent_before_restart} of {RECIPIENTS} texts reached "
            f"Twilio; rows then: {dict(at_kill)}"
        )
        assert 0 < sent_before_restart < RECIPIENTS

        time.sleep(2.5)  # past HEARTH_SENDING_STALE_SECONDS: interrupted rows get reconciled
        second = _worker(env, tmp_path / "worker.log")
        try:
            deadline = time.monotonic() + 120
            while _statuses(db).get("sent", 0) < RECIPIENTS and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(20)
        per_number = Counter(m.to for m in double.messages)
        print(
            f"counted: {len(double.messages)} texts received by Twilio for {len(per_number)} "
            f"numbers; rows: {dict(_statuses(db))}"
        )
        assert _statuses(db) == Counter({"sent": RECIPIENTS})
        assert len(per_number) == RECIPIENTS
        assert max(per_number.values()) == 1
