"""The demo district that `hearth serve --demo` seeds: small, multilingual, idempotent."""

import random
from dataclasses import dataclass
from datetime import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

import app.tasks  # noqa: F401  (the demo runs jobs by name: every job known)
from app.auth.models import ApiKey
from app.auth.service import authenticate_api_key, create_api_key, load_staff, subject_for_staff
from app.core.config import get_settings
from app.core.errors import Invalid
from app.core.migrations import project_root
from app.core.queue import after_commit, run_job
from app.core.security import hash_password
from app.messaging import replies
from app.messaging import service as messaging
from app.messaging.models import Thread
from app.messaging.schemas import MessageCreate, ThreadCreate
from app.people.models import (
    Guardian,
    Staff,
    StaffLanguage,
    StaffSchool,
    Student,
    StudentGuardian,
)
from app.schools.models import Enrollment, School, Section, SectionTeacher
from app.translation import packages

DEMO_SCHOOL_ID = "demo-riverside"
ADMIN_EMAIL = "admin@riverside.example.org"
OFFICE_EMAIL = "office@riverside.example.org"
INTERPRETER_EMAIL = "interpreter@riverside.example.org"
DEMO_PASSWORD = "riverside-demo"  # dev only: `hearth serve --demo` refuses production mode

TEACHERS = [
    ("Ana Rivera", "rivera@riverside.example.org"),
    ("David Chen", "chen@riverside.example.org"),
    ("Grace Okafor", "okafor@riverside.example.org"),
]
SECTIONS = [
    ("Grade 3 – Room 12", "3", 0),
    ("Grade 4 – Room 7", "4", 1),
    ("Grade 5 – Room 2", "5", 2),
]

# (given, family, language) — families whose home languages US districts commonly serve.
FAMILIES = [
    ("María", "García", "es"),
    ("José", "Hernández", "es"),
    ("Lucía", "Martínez", "es"),
    ("Carmen", "López", "es"),
    ("Luis", "Gonzalez", "es"),
    ("Rosa", "Ramírez", "es"),
    ("Pedro", "Flores", "es"),
    ("Elena", "Torres", "es"),
    ("Lan", "Nguyễn", "vi"),
    ("Minh", "Trần", "vi"),
    ("Hoa", "Lê", "vi"),
    ("Tuấn", "Phạm", "vi"),
    ("Wei", "Zhang", "zh-Hans"),
    ("Li", "Wang", "zh-Hans"),
    ("Mei", "Liu", "zh-Hans"),
    ("Fatima", "Hassan", "ar"),
    ("Omar", "Haddad", "ar"),
    ("Layla", "Mansour", "ar"),
    ("Ana", "Souza", "pt-BR"),
    ("João", "Silva", "pt-BR"),
    ("Marie", "Joseph", "ht"),
    ("Jean", "Pierre", "ht"),
    ("Amina", "Abdi", "so"),
    ("Hodan", "Warsame", "so"),
    ("Pa", "Vang", "hmn"),
    ("Sarah", "Miller", "en"),
    ("James", "Johnson", "en"),
    ("Emily", "Brown", "en"),
    ("Michael", "Davis", "en"),
    ("Jessica", "Wilson", "en"),
]
CHILD_NAMES = [
    "Sofía",
    "Mateo",
    "Valentina",
    "Diego",
    "An",
    "Bảo",
    "Yan",
    "Hao",
    "Yusuf",
    "Noor",
    "Gabriel",
    "Beatriz",
    "Widlene",
    "Samuel",
    "Hamza",
    "Ayaan",
    "Kou",
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Camila",
    "Lucas",
    "Linh",
    "Jun",
    "Zainab",
    "Davi",
    "Mia",
    "Ethan",
]


@dataclass
class DemoKeys:
    admin_key: str
    teacher_key: str
    teacher_email: str


def seed(session: Session) -> bool:
    """Creates the demo district unless it exists. Returns True when it created it."""
    if not get_settings().dev_tools:
        raise Invalid(
            "The demo district (known passwords, the dev phone) is only for HEARTH_ENV=dev "
            "with the dev SMS and email backends."
        )
    if session.scalar(select(School.id).where(School.external_id == DEMO_SCHOOL_ID)):
        return False
    rng = random.Random(7)
    school = School(
        name="Riverside Elementary",
        timezone="America/Chicago",
        default_language="en",
        sms_sender="+15125550100",
        email_sender="office@riverside.example.org",
        quiet_hours_start=time(20, 0),
        quiet_hours_end=time(7, 0),
        external_id=DEMO_SCHOOL_ID,
    )
    session.add(school)
    session.flush()
    password = hash_password(DEMO_PASSWORD)
    session.add(
        Staff(
            name="Riverside Admin",
            email=ADMIN_EMAIL,
            role="admin",
            password_hash=password,
            school_links=[StaffSchool(school_id=school.id)],
        )
    )
    session.add(
        Staff(
            name="Office – Pat Kim",
            email=OFFICE_EMAIL,
            role="office",
            password_hash=password,
            school_links=[StaffSchool(school_id=school.id)],
        )
    )
    # Interprets Hmong and Somali, which no model here translates: a note to those families
    # waits for her (sign in as her to write it).
    session.add(
        Staff(
            name="Interpreter – Mai Xiong",
            email=INTERPRETER_EMAIL,
            role="interpreter",
            password_hash=password,
            school_links=[StaffSchool(school_id=school.id)],
            language_links=[StaffLanguage(language="hmn"), StaffLanguage(language="so")],
        )
    )
    teachers = []
    for name, email in TEACHERS:
        teacher = Staff(
            name=name,
            email=email,
            role="teacher",
            password_hash=password,
            school_links=[StaffSchool(school_id=school.id)],
        )
        session.add(teacher)
        teachers.append(teacher)
    session.flush()
    sections = []
    for name, _grade, teacher_index in SECTIONS:
        section = Section(
            school_id=school.id,
            name=name,
            external_id=f"demo-{name[:7]}",
            teacher_links=[SectionTeacher(staff_id=teachers[teacher_index].id)],
        )
        session.add(section)
        sections.append(section)
    session.flush()
    for i, (given, family, language) in enumerate(FAMILIES):
        section_index = i % len(SECTIONS)
        student = Student(
            school_id=school.id,
            external_id=f"S{1001 + i}",
            given_name=CHILD_NAMES[i],
            family_name=family,
            grade=SECTIONS[section_index][1],
        )
        session.add(student)
        session.flush()
        session.add(Enrollment(section_id=sections[section_index].id, student_id=student.id))
        parents = [(given, "mother" if i % 2 == 0 else "father")]
        if i % 2 == 0:  # every other family has a second guardian: 45 guardians in all
            parents.append(
                (
                    rng.choice(["Carlos", "Thu", "Ahmed", "Rita", "Paul", "Grace"]),
                    "grandparent" if i % 4 == 0 else "father",
                )
            )
        for n, (parent_given, relationship) in enumerate(parents):
            phone = f"+1512555{2000 + i * 10 + n:04d}"
            email = f"{parent_given.lower()}.{i}{n}@family.example.org".encode(
                "ascii", "ignore"
            ).decode()
            channels = ["sms"] if n == 0 or i % 3 else ["sms", "email"]
            session.add(
                Guardian(
                    given_name=parent_given,
                    family_name=family,
                    phone=phone,
                    email=email,
                    language=language,
                    channels=channels,
                    student_links=[
                        StudentGuardian(student_id=student.id, relationship=relationship)
                    ],
                )
            )
    session.flush()
    return True


def demo_keys(session: Session, data_dir: Path) -> DemoKeys:
    """The demo's API keys, kept in the data dir so restarts print the same ones (dev only)."""
    path = data_dir / "demo-api-keys"
    teacher_email = TEACHERS[0][1]
    if path.exists():
        admin_key, _, teacher_key = path.read_text().strip().partition("\n")
        if authenticate_api_key(session, admin_key) and authenticate_api_key(session, teacher_key):
            return DemoKeys(admin_key, teacher_key, teacher_email)
    for old in session.scalars(select(ApiKey).where(ApiKey.name.like("demo %"))):
        session.delete(old)
    _, admin_key = create_api_key(session, name="demo admin", scopes=["admin"])
    _, teacher_key = create_api_key(
        session, name="demo teacher", scopes=["read", "write", "send"], staff_email=teacher_email
    )
    # Written once the keys are committed: a file naming keys that were rolled back would
    # be read at the next start and refused.
    after_commit(session, _keep_keys, path, f"{admin_key}\n{teacher_key}\n")
    return DemoKeys(admin_key, teacher_key, teacher_email)


def _keep_keys(path: Path, keys: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(keys)
    path.chmod(0o600)


DEMO_NOTE = "Sofía did well on the test. Have a nice weekend."
DEMO_REPLY = "Muchas gracias."


def ensure_models(models_dir: Path) -> list[str]:
    """With no translation models installed, install the project's own tiny ones (the test
    fixtures). Returns what was installed."""
    if packages.installed():
        return []
    folder = project_root() / "tests" / "fixtures" / "argos" / "packages"
    installed = []
    for path in sorted(folder.glob("*.argosmodel")):
        for pair in packages.install_file(path):
            installed.append(f"{pair.source}→{pair.target}")
    return installed


@dataclass(frozen=True)
class FirstNote:
    """The demo's first note, written in the command's first scope; its jobs run after."""

    thread_id: int
    guardian_id: int
    message_id: int
    delivery_ids: list[int]


def write_first_note(session: Session) -> FirstNote:
    """A first note from a teacher to a Spanish-speaking family, through the real path."""
    # The demo data holds each of these (a missing one is an error).
    teacher = session.scalars(select(Staff).where(Staff.email == TEACHERS[0][1])).one()
    student = session.scalars(select(Student).where(Student.given_name == "Sofía")).one()
    guardian = session.scalars(
        select(Guardian)
        .join(StudentGuardian, StudentGuardian.guardian_id == Guardian.id)
        .where(StudentGuardian.student_id == student.id, Guardian.language == "es")
        .order_by(Guardian.id)
        .limit(1)
    ).one()
    staff = load_staff(session, teacher.id)
    assert staff is not None  # (found just above)
    subject = subject_for_staff(staff, frozenset({"read", "write", "send"}))
    thread = messaging.create_thread(
        session,
        subject,
        ThreadCreate(student_id=student.id, guardian_ids=[guardian.id], subject="Sofía's progress"),
    )
    # Sent past the school's quiet hours (as an urgent note is): the demo shows its first
    # exchange at once, whatever the hour `make run` is started.
    note = messaging.post_message(
        session, subject, thread.id, MessageCreate(body=DEMO_NOTE, urgent=True)
    )
    return FirstNote(thread.id, guardian.id, note.id, [row.id for row in note.deliveries])


def deliver_first_note(note: FirstNote) -> None:
    """Translate and deliver the note now, so that the family's reply comes after it on the
    phone. Each job is a transaction of its own: call this with none open."""
    run_job("messaging.prepare", note.message_id)
    for delivery_id in note.delivery_ids:
        run_job("delivery.send", delivery_id)


def family_replies(session: Session, note: FirstNote) -> None:
    """The family's reply from the dev phone: a correctly signed Twilio webhook, read by the
    jobs once the caller commits (they translate it back for the teacher)."""
    guardian = session.get_one(Guardian, note.guardian_id)
    thread = session.get_one(Thread, note.thread_id)
    school = session.get_one(School, thread.school_id)
    settings = get_settings()
    url = settings.public_url.rstrip("/") + "/webhooks/twilio/sms"
    params = {
        "MessageSid": "SMdemo" + "0" * 26,
        "AccountSid": "AC" + "0" * 32,
        "From": guardian.phone or "",
        "To": school.sms_sender or "",
        "Body": DEMO_REPLY,
    }
    signature = RequestValidator(settings.webhook_auth_token()).compute_signature(url, params)
    replies.receive_sms(session, params, [url], signature)
