"""Twenty families replying at once for a teacher's last two conference times: exactly two are
booked, never two families in one time, and every other family is offered, in its language,
the times still open. Real concurrent transactions, in a database of its own (a SQLite file
here; a PostgreSQL database of its own on a PostgreSQL run)."""

import json
import os
import subprocess
import sys
import textwrap

from app.devtools.twilio_double import TwilioDouble
from tests.questions.test_places_race import ROOT, _database

RACERS = 20

RACE = textwrap.dedent("""
    import json, threading, time
    from collections import Counter
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo
    from sqlalchemy import select
    from sqlalchemy.exc import OperationalError, TimeoutError
    import app.models, app.tasks
    from app.auth.service import load_staff, subject_for_staff
    from app.conferences import service as conferences
    from app.conferences.schemas import ConferenceCreate
    from app.core import migrations
    from app.core.db import get_sessionmaker
    from app.delivery.models import InboundSms
    from app.messaging.models import Message
    from app.people.models import Guardian, Staff, StaffSchool, Student, StudentGuardian
    from app.questions import service as questions
    from app.questions.models import Answer, Place, Question
    from app.schools.models import Enrollment, School, Section, SectionTeacher

    migrations.upgrade()
    Session = get_sessionmaker()
    SENDER = "+15125550100"
    with Session() as s:
        school = School(name="Race School", sms_sender=SENDER, timezone="America/Chicago")
        s.add(school); s.flush()
        teacher = Staff(name="Ana Rivera", email="rivera@race.example.org", role="teacher")
        s.add(teacher); s.flush()
        s.add(StaffSchool(staff_id=teacher.id, school_id=school.id))
        section = Section(school_id=school.id, name="Room 12")
        s.add(section); s.flush()
        s.add(SectionTeacher(section_id=section.id, staff_id=teacher.id))
        for i in range(%(n)d + 1):
            student = Student(school_id=school.id, external_id=f"S{i}", given_name="A",
                              family_name=str(i))
            s.add(student); s.flush()
            s.add(Enrollment(section_id=section.id, student_id=student.id))
            s.add(Guardian(given_name="G", family_name=str(i), phone=f"+1512555{i:04d}",
                           language=("es" if i %% 2 else "en"), channels=["sms"],
                           student_links=[StudentGuardian(student_id=student.id)]))
        s.flush()
        day = (datetime.now(ZoneInfo("America/Chicago")) + timedelta(days=7)).date()
        subject = subject_for_staff(load_staff(s, teacher.id), frozenset({"read", "send"}))
        conference = conferences.create(s, subject, ConferenceCreate(blocks=[
            {"day": day.isoformat(), "start": "15:00", "end": "16:00", "minutes": 20,
             "place": "Room 12"}]))
        s.commit()
        question_id = conference.question_id

    def reply(session, guardian, body):
        thread_id = session.get(Message, session.get(Question, question_id).message_id).thread_id
        message = Message(thread_id=thread_id, direction="inbound", kind="reply",
                          author_guardian_id=guardian.id, body=body, language=guardian.language)
        session.add(message); session.flush()
        session.add(InboundSms(message_sid="SM" + str(message.id), from_number=guardian.phone,
                               to_number=SENDER, body=body, status="processed",
                               message_id=message.id))
        return message.id

    with Session() as s:
        guardians = s.scalars(select(Guardian).order_by(Guardian.id)).all()
        first = reply(s, guardians[0], "1")  # the first time is booked already
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
        booked = {slot["number"]: slot["booking"]["guardian_id"] if slot["booking"] else None
                  for slot in conferences.read(s, s.get(type(conference), conference.id))["slots"]}
    print(json.dumps({"results": Counter(results), "taken": taken, "current": current,
                      "booked": booked, "racers": [p for _, p in racing]}))
""") % {"n": RACERS}


def test_twenty_families_replying_at_once_for_the_last_two_times(tmp_path):
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
            from sqlalchemy import create_engine, text

            base = os.environ["HEARTH_DATABASE_URL"]
            with create_engine(base, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)'))
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"\n{found['results']}, places taken {found['taken']}")
    assert found["taken"] == {"1": 1, "2": 1, "3": 1}
    assert found["results"] == {"2": 1, "3": 1, "full": RACERS - 2}
    assert found["current"] == {"1": 1, "2": 1, "3": 1}
    assert len(set(found["booked"].values())) == 3  # three families, one time each
    racers = set(found["racers"])
    told = [m for m in double.messages if m.to in racers]
    # The two who got a time are told it is booked; every other is offered what is open.
    booked = [m.body for m in told if m.body.startswith(("Booked:", "Reservado:"))]
    offered = [m.body for m in told if not m.body.startswith(("Booked:", "Reservado:"))]
    assert len(booked) == 2 and len(offered) == RACERS - 2
    assert all(
        body.startswith(("Sorry, that choice is full. Still open:", "Lo sentimos, esa opción"))
        or body in ("Sorry, every choice is full.", "Lo sentimos, todas las opciones están llenas.")
        for body in offered
    ), offered
