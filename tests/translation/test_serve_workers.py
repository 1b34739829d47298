"""`hearth serve --workers 2`: two real server processes on one port and one SQLite data dir.
Both answer the translate API (50 concurrent requests, each its own correct translation), and
the embedded job consumers run in one of them only: an urgent broadcast is texted to each
family exactly once (the real Twilio SDK against the local double)."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.devtools.twilio_double import TwilioDouble
from app.translation import service
from tests.conftest import FIXTURES, run_hearth
from tests.delivery.test_worker_crash import _statuses
from tests.servers import free_port
from tests.translation.test_batching import _sentences

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = 6

SEED = textwrap.dedent("""
    import app.models, app.tasks
    from app.auth.service import AuthSubject
    from app.broadcasts import service as broadcasts
    from app.broadcasts.schemas import Audience, BroadcastDraft
    from app.core.db import get_sessionmaker
    from app.people.models import Guardian, Student, StudentGuardian
    from app.schools.models import School

    with get_sessionmaker()() as s:
        school = School(name="Two Process School", sms_sender="+15125550100")
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
            body="School closes at noon today.", urgent=True))
        s.commit()
""") % {"n": FAMILIES}


@pytest.mark.skipif(
    os.environ.get("HEARTH_DATABASE_URL", "").startswith("postgresql"),
    reason="the embedded default (SQLite, consumers in the server) is what --workers must keep",
)
def test_two_server_processes_answer_and_send_each_text_once(tmp_path, session, argos_models):
    with TwilioDouble(latency=0.01).start() as double:
        settings = {
            "HEARTH_SMS_BACKEND": "twilio",
            "HEARTH_TWILIO_ACCOUNT_SID": double.account_sid,
            "HEARTH_TWILIO_AUTH_TOKEN": double.auth_token,
            "HEARTH_TWILIO_API_URL": double.url,
        }
        for args in (
            ("db", "upgrade"),
            ("models", "install-file", str(FIXTURES / "packages" / "translate-en_es.argosmodel")),
        ):
            done = run_hearth(tmp_path, *args, settings=settings)
            assert done.returncode == 0, done.stderr
        made = run_hearth(tmp_path, "apikeys", "create", "--name", "t", "--scopes", "read")
        assert made.returncode == 0, made.stderr
        key = made.stdout.strip().splitlines()[-1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
        env.update(settings, HEARTH_DATA_DIR=str(tmp_path))
        seeded = subprocess.run(
            [sys.executable, "-c", SEED], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert seeded.returncode == 0, seeded.stderr

        port = free_port()
        log = tmp_path / "serve.log"
        with open(log, "ab") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", "2"],
                cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True,
            )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            sentences = _sentences(50)

            def translate(text: str) -> dict:
                answer = httpx.post(
                    f"{base}/api/v1/translate",
                    headers={"Authorization": f"Bearer {key}"},
                    json={"text": text, "source": "en", "target": "es"},
                    timeout=60,
                )
                assert answer.status_code == 200, answer.text
                return answer.json()

            with ThreadPoolExecutor(max_workers=25) as pool:
                served = list(pool.map(translate, sentences))
            one_by_one = service.translate(session, sentences, "en", "es")
            assert [a["text"] for a in served] == [r.text for r in one_by_one]
            assert all(a["status"] == "translated" for a in served)

            deadline = time.monotonic() + 90
            db = tmp_path / "hearth.db"
            while _statuses(db).get("sent", 0) < FAMILIES and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)  # a second consumer, were there one, would have sent by now too
            processes = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text()
            listening = _listening_sockets(port)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
        text = log.read_text()
        assert len(processes.split()) >= 2, text[-3000:]
        # A listening socket each (SO_REUSEPORT): the kernel spreads connections over both.
        assert listening == 2, text[-3000:]
        assert text.count("embedded job consumers started") == 1, text[-3000:]
        assert _statuses(db) == Counter({"sent": FAMILIES}), text[-3000:]
        per_number = Counter(m.to for m in double.messages)
        assert len(per_number) == FAMILIES and max(per_number.values()) == 1


def _listening_sockets(port: int) -> int:
    """How many sockets listen on 127.0.0.1:`port` (state 0A in /proc/net/tcp)."""
    rows = [row.split() for row in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows if row[1] == f"0100007F:{port:04X}" and row[3] == "0A")
