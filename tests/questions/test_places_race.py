"""Twenty families answering at once for the last two conference slots: exactly two get one,
the others are told, in their language, what is still open. Real concurrent transactions, in a
database of its own (a SQLite file here; a PostgreSQL database of its own on a PostgreSQL run)."""

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from app.devtools.twilio_double import TwilioDouble

ROOT = Path(__file__).resolve().parents[2]
RACERS = 20

RACE = textwrap.dedent("""
    import json, threading, time
    from collections import Counter
    from sqlalchemy import select
    from sqlalchemy.exc import OperationalError, TimeoutError
    import app.models, app.tasks
    from app.auth.service import AuthSubject
    from app.broadcasts import service as broadcasts
    from app.broadcasts.models import Broadcast
    from app.broadcasts.schemas import Audience, BroadcastDraft
    from app.core import migrations
    from app.core.db import get_sessionmaker
    from app.core.queue import run_job
    from app.delivery.models import InboundSms
    from app.messaging.models import Message
    from app.people.models import Guardian, Student, StudentGuardian
    from app.questions import service as questions
    from app.questions.models import Answer, Place
    from app.questions.schemas import QuestionDraft
    from app.schools.models import School

    migrations.upgrade()
    Session = get_sessionmaker()
    SENDER = "+15125550100"
    with Session() as s:
        school = School(name="Race School", sms_sender=SENDER)
        s.add(school); s.flush()
        student = Student(school_id=school.id, external_id="S1", given_name="A", family_name="B")
        s.add(student); s.flush()
        for i in range(%(n)d + 1):
            s.add(Guardian(given_name="G", family_name=str(i), phone=f"+1512555{i:04d}",
                           language=("es" if i %% 2 else "en"), channels=["sms"],
                           student_links=[StudentGuardian(student_id=student.id)]))
        office = AuthSubject(role="office", scopes=frozenset({"read", "send"}),
                             school_ids=frozenset({school.id}))
        created = broadcasts.create(s, office, BroadcastDraft(
            school_id=school.id, audience=Audience(whole_school=True), title="Conferences",
            template="event_reminder",
            params={"event": "family_night", "date": "2026-12-14", "time": "3:00 PM"},
            urgent=True,
            question=QuestionDraft(kind="choice", options=["Mon 3 pm", "Tue 3 pm", "Wed 3 pm"],
                                   places=[1, 1, 1])))
        s.commit()
        broadcast_id = created.id
    run_job("broadcasts.fan_out", broadcast_id)

    def reply(session, guardian, body):
        thread_id = session.get(Broadcast, broadcast_id).thread_id
        message = Message(thread_id=thread_id, direction="inbound", kind="reply",
                          author_guardian_id=guardian.id, body=body, language=guardian.language)
        session.add(message); session.flush()
        session.add(InboundSms(message_sid="SM" + str(message.id), from_number=guardian.phone,
                               to_number=SENDER, body=body, status="processed",
                               message_id=message.id))
        return message.id

    with Session() as s:
        guardians = s.scalars(select(Guardian).order_by(Guardian.id)).all()
        first = reply(s, guardians[0], "1")  # Monday is booked already
        racing = [(reply(s, g, "2" if i %% 2 else "3"), g.phone)
                  for i, g in enumerate(guardians[1:])]
        s.commit()
    with Session() as s:
        assert questions.read_reply(s, first) == "1"
        s.commit()

    results = []
    start = threading.Barrier(len(racing))

    def race(message_id):
        start.wait()
        for attempt in range(50):
            try:
                with Session() as s:
                    outcome = questions.read_reply(s, message_id)
                    s.commit()
                results.append(outcome)
                return
            except (OperationalError, TimeoutError):  # busy: answered again, like a job
                time.sleep(0.05 * attempt)
        results.append("gave up")

    threads = [threading.Thread(target=race, args=(mid,)) for mid, _ in racing]
    for t in threads: t.start()
    for t in threads: t.join()
    with Session() as s:
        taken = dict(s.execute(select(Place.number, Place.taken)).all())
        current = Counter(s.scalars(select(Answer.value).where(Answer.current.is_(True))))
    print(json.dumps({"results": Counter(results), "taken": taken, "current": current,
                      "racers": [p for _, p in racing]}))
""") % {"n": RACERS}


def _database(tmp_path: Path) -> tuple[str, str | None]:
    """(database URL, PostgreSQL database to drop afterwards or None)."""
    url = os.environ.get("HEARTH_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return f"sqlite:///{tmp_path / 'race.db'}", None
    name = f"hearth_race_{uuid.uuid4().hex[:8]}"
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(url).set(database=name).render_as_string(hide_password=False), name


def test_twenty_families_answering_at_once_for_the_last_two_slots(tmp_path):
    url, created = _database(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    double = TwilioDouble().start()
    env.update(
        HEARTH_DATA_DIR=str(tmp_path),
        HEARTH_DATABASE_URL=url,
        HEARTH_SMS_BACKEND="twilio",
        HEARTH_TWILIO_ACCOUNT_SID=double.account_sid,
        HEARTH_TWILIO_AUTH_TOKEN=double.auth_token,
        HEARTH_TWILIO_API_URL=double.url,
    )
    try:
        run = subprocess.run(
            [sys.executable, "-c", RACE],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        double.stop()
        if created:
            base = os.environ["HEARTH_DATABASE_URL"]
            with create_engine(base, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)'))
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"\n{found['results']}, places taken {found['taken']}")
    assert found["taken"] == {"1": 1, "2": 1, "3": 1}
    assert found["results"] == {"2": 1, "3": 1, "full": RACERS - 2}
    assert found["current"] == {"1": 1, "2": 1, "3": 1}
    # Every family that lost was told at once, in its language, that nothing is open any more.
    racers = set(found["racers"])
    told = [m.body for m in double.messages if m.to in racers]
    assert len(told) == RACERS - 2
    assert all(
        body in ("Sorry, every choice is full.", "Lo sentimos, todas las opciones están llenas.")
        or body.startswith(("Sorry, that choice is full.", "Lo sentimos, esa opción está llena."))
        for body in told
    ), told
