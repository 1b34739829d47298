"""The engagement dashboard: reach by channel and language, messages and replies per week,
reply rate by language, languages without coverage; the same figures as CSV."""

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.auth.service import IMPLIED, load_staff, subject_for_staff
from app.delivery.models import Delivery, OptOut
from app.messaging.models import Message, Thread
from app.reports import service as reports
from app.schools.models import School
from tests import factories

TZ = "America/Chicago"


@dataclass
class Seeded:
    school_a: School
    school_b: School
    week_2: str  # ISO date of the Monday two weeks back
    week_1: str  # last week's Monday


def _at(monday: str, days: int, hour: int) -> datetime:
    day = datetime.fromisoformat(monday).date() + timedelta(days=days)
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(TZ)).astimezone(UTC)


def _message(session, thread, kind: str, when: datetime, guardian=None) -> Message:
    message = Message(
        thread_id=thread.id,
        direction="inbound" if guardian is not None else "outbound",
        author_guardian_id=guardian.id if guardian is not None else None,
        body="Hola" if guardian is not None else "Hello",
        language="en",
        kind=kind,
        created_at=when,
    )
    session.add(message)
    session.flush()
    return message


def _delivered(session, message, guardian, channel: str, when: datetime, status="delivered"):
    session.add(
        Delivery(
            message_id=message.id,
            guardian_id=guardian.id,
            school_id=session.get(Thread, message.thread_id).school_id,
            channel=channel,
            address=guardian.phone if channel == "sms" else guardian.email,
            language="es",
            status=status,
            sent_at=when if status in ("sent", "delivered") else None,
        )
    )


@pytest.fixture
def seeded(session) -> Seeded:
    """School A: 7 active families (3 text only, 1 email only, 1 both, 1 opted out, 1 with no
    usable address) and one inactive; school B: 4 Hmong families. Messages two weeks back and
    last week, in both schools."""
    a = factories.SchoolFactory(name="A School", timezone=TZ, sms_sender="+15125550100")
    b = factories.SchoolFactory(name="B School", timezone=TZ, sms_sender="+15125550200")
    student_a = factories.StudentFactory(school=a)
    student_b = factories.StudentFactory(school=b)

    def family(student, language, channels, **kw):
        return factories.GuardianFactory(
            language=language, channels=channels, students=[student], **kw
        )

    g1 = family(student_a, "es", ["sms"])
    g2 = family(student_a, "es-MX", ["sms"])
    g3 = family(student_a, "vi", ["sms"])
    g4 = family(student_a, "zh-Hans", ["email"])
    g5 = family(student_a, "so", ["sms"])
    g6 = family(student_a, "es", ["sms", "email"])
    family(student_a, "en", ["sms"], phone=None)
    family(student_a, "es", ["sms"], active=False)
    hmong = [family(student_b, "hmn", ["sms"]) for _ in range(4)]
    session.add(OptOut(phone=g5.phone, sender=a.sms_sender, school_id=a.id, keyword="STOP"))
    # STOP to school B's number does not stop school A's texts.
    session.add(OptOut(phone=g1.phone, sender=b.sms_sender, school_id=b.id, keyword="STOP"))

    starts = reports.week_starts(TZ, 3)
    week_2, week_1 = starts[0].isoformat(), starts[1].isoformat()
    thread_a = factories.ThreadFactory(school=a, guardians=[g1, g2, g3, g4, g6])
    thread_b = factories.ThreadFactory(school=b, guardians=hmong)

    note = _message(session, thread_a, "note", _at(week_2, 1, 10))
    _delivered(session, note, g1, "sms", _at(week_2, 1, 10))
    _delivered(session, note, g2, "sms", _at(week_2, 1, 10), status="sent")
    _delivered(session, note, g3, "sms", _at(week_2, 1, 10), status="failed")
    _delivered(session, note, g4, "email", _at(week_2, 1, 10))
    _message(session, thread_a, "reply", _at(week_2, 2, 18), guardian=g1)

    notice = _message(session, thread_a, "broadcast", _at(week_1, 0, 9))
    for g in (g1, g2, g3, g6):
        _delivered(session, notice, g, "sms", _at(week_1, 0, 9))
    _delivered(session, notice, g6, "email", _at(week_1, 0, 9))
    _message(session, thread_a, "note", _at(week_1, 3, 14))
    _message(session, thread_a, "system", _at(week_1, 3, 14))
    _message(session, thread_a, "reply", _at(week_1, 4, 20), guardian=g3)
    # Sunday 23:30 in Chicago is still last week, though it is Monday in UTC.
    _message(session, thread_a, "reply", _at(week_1, 6, 23) + timedelta(minutes=30), guardian=g1)

    note_b = _message(session, thread_b, "note", _at(week_1, 1, 10))
    for g in hmong[:2]:
        _delivered(session, note_b, g, "sms", _at(week_1, 1, 10))
    _message(session, thread_b, "reply", _at(week_1, 1, 12), guardian=hmong[0])
    session.commit()
    return Seeded(a, b, week_2, week_1)


def _subject(session, staff, scopes=frozenset({"read", "write", "send"})):
    return subject_for_staff(load_staff(session, staff.id), scopes)


def _row(html: str, attribute: str, value: str) -> list[str]:
    match = re.search(rf'<tr {attribute}="{re.escape(value)}">(.*?)</tr>', html, re.S)
    assert match, f"no row {attribute}={value}"
    return re.findall(r"<td>(.*?)</td>", match.group(1), re.S)


def test_teachers_cannot_open_the_dashboard(signed_in, session):
    school = factories.SchoolFactory()
    web = signed_in(factories.StaffFactory(role="teacher", schools=[school]))
    assert web.get("/dashboard").status_code == 403
    assert web.get("/dashboard/reach.csv").status_code == 403


def test_the_figures_match_the_seeded_school(session, seeded, argos_models):
    office = factories.StaffFactory(role="office", schools=[seeded.school_a])
    subject = _subject(session, office)
    board = reports.dashboard(session, subject)

    assert board.scope.school_ids == (seeded.school_a.id,)
    assert board.reach == {"both": 1, "sms": 3, "email": 1, "voice": 0, "opted_out": 1, "none": 1}
    languages = {lang.code: lang for lang in board.languages}
    assert set(languages) == {"es", "vi", "zh", "so", "en"}  # es-MX counted as Spanish
    assert languages["es"].families == 3 and languages["es"].reachable == 3
    assert languages["so"].reach["opted_out"] == 1 and languages["so"].reachable == 0
    assert languages["en"].reach["none"] == 1
    assert [lang.code for lang in board.uncovered] == ["so"]

    weeks = {w.start.isoformat(): w for w in board.weeks}
    assert len(board.weeks) == reports.DEFAULT_WEEKS
    w2, w1 = weeks[seeded.week_2], weeks[seeded.week_1]
    assert (w2.notes, w2.broadcasts, w2.texts, w2.emails, w2.replies) == (1, 0, 2, 1, 1)
    assert (w1.notes, w1.broadcasts, w1.texts, w1.emails, w1.replies) == (1, 1, 4, 1, 2)
    assert sum(w.replies for w in board.weeks) == 3

    rates = {r.code: (r.reached, r.replied) for r in board.replies}
    assert rates == {"es": (3, 1), "vi": (1, 1), "zh": (1, 0)}
    assert board.reply_totals == (5, 2)


def test_an_admin_sees_every_school_or_one(session, seeded):
    admin = factories.StaffFactory(role="admin")
    subject = _subject(session, admin, frozenset(IMPLIED["admin"]))
    everything = reports.dashboard(session, subject)
    assert everything.families == 7 + 4
    assert {lang.code: lang.families for lang in everything.languages}["hmn"] == 4
    assert sum(w.notes for w in everything.weeks) == 3
    only_b = reports.dashboard(session, subject, seeded.school_b.id)
    assert only_b.reach == {"both": 0, "sms": 4, "email": 0, "voice": 0, "opted_out": 0, "none": 0}
    assert {r.code: (r.reached, r.replied) for r in only_b.replies} == {"hmn": (2, 1)}


def test_weeks_start_on_monday_in_the_schools_timezone():
    # Sunday 23:30 in Chicago is Monday 05:30 UTC: the week is still the Chicago one.
    sunday_night = datetime(2026, 3, 16, 4, 30, tzinfo=UTC)
    assert reports.week_starts(TZ, 2, sunday_night)[-1].isoformat() == "2026-03-09"
    assert reports.week_starts("UTC", 2, sunday_night)[-1].isoformat() == "2026-03-16"


def test_the_dashboard_page_shows_the_office_its_own_school_only(
    signed_in, session, seeded, argos_models
):
    office = factories.StaffFactory(role="office", schools=[seeded.school_a])
    session.commit()
    web = signed_in(office)
    page = web.get("/dashboard")
    assert page.status_code == 200
    html = page.text
    assert _row(html, "data-reach", "sms") == ["3", "43%"]
    assert _row(html, "data-reach", "email") == ["1", "14%"]
    assert _row(html, "data-reach", "opted_out") == ["1", "14%"]
    assert _row(html, "data-reach", "both")[0] == "1"
    assert _row(html, "data-week", seeded.week_2) == ["1", "0", "2", "1", "1"]
    assert _row(html, "data-week", seeded.week_1) == ["1", "1", "4", "1", "2"]
    assert "Hmong" not in html and "B School</option>" not in html
    replies = re.search(r'<h2 id="replies">.*?</table>', html, re.S).group(0)
    assert _row(replies, "data-language", "es") == ["3", "1", "33%"]
    assert _row(replies, "data-language", "vi") == ["1", "1", "100%"]
    uncovered = re.search(r'<h2 id="uncovered">.*?</section>', html, re.S).group(0)
    assert "Somali: 1 family needs an interpreter" in uncovered
    assert "Spanish" not in uncovered

    assert web.get(f"/dashboard?school={seeded.school_b.id}").status_code == 404
    assert web.get(f"/dashboard/reach.csv?school={seeded.school_b.id}").status_code == 404
    assert web.get("/dashboard?school=abc").status_code == 404


def test_the_tables_download_as_csv(signed_in, session, seeded):
    office = factories.StaffFactory(role="office", schools=[seeded.school_a])
    session.commit()
    web = signed_in(office)
    response = web.get(f"/dashboard/weeks.csv?school={seeded.school_a.id}&weeks=4")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 4
    week_1 = next(r for r in rows if r["week_start"] == seeded.week_1)
    assert week_1 == {
        "week_start": seeded.week_1,
        "notes": "1",
        "broadcasts": "1",
        "texts": "4",
        "emails": "1",
        "replies": "2",
    }
    reach = dict(csv.reader(io.StringIO(web.get("/dashboard/reach.csv").text)))
    assert reach == {
        "reach": "families",
        "both": "1",
        "sms": "3",
        "email": "1",
        "voice": "0",
        "opted_out": "1",
        "none": "1",
    }
    replies = list(csv.DictReader(io.StringIO(web.get("/dashboard/replies.csv").text)))
    assert {r["language"]: r["reply_rate"] for r in replies} == {
        "es": "0.3333",
        "vi": "1.0000",
        "zh": "0.0000",
    }
    assert web.get("/dashboard/secrets.csv").status_code == 404
