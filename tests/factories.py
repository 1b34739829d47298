"""factory-boy factories, one per model, bound to the test's session."""

import factory
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy.orm import Session

from app.messaging.models import Thread, ThreadGuardian
from app.people.models import Guardian, Staff, StaffSchool, Student, StudentGuardian
from app.schools.models import Enrollment, School, Section, SectionTeacher

_ALL: list[type[SQLAlchemyModelFactory]] = []


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_persistence = "flush"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _ALL.append(cls)


def _link(_owner: object, rows: list[object]) -> None:
    """Adds association rows directly (collections are lazy="raise" outside explicit loads)."""
    if rows:
        session = _ALL[0]._meta.sqlalchemy_session
        session.add_all(rows)
        session.flush()


def bind(session: Session) -> None:
    for cls in _ALL:
        cls._meta.sqlalchemy_session = session


class SchoolFactory(Base):
    class Meta:
        model = School

    name = factory.Sequence(lambda n: f"School {n}")
    timezone = "America/Chicago"
    default_language = "en"
    sms_sender = "+15125550100"


class StaffFactory(Base):
    class Meta:
        model = Staff

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"staff{n}@school.example.org")
    role = "teacher"
    ui_language = "en"

    @factory.post_generation
    def schools(self, create, extracted, **kwargs):
        _link(self, [StaffSchool(staff_id=self.id, school_id=s.id) for s in extracted or []])


class SectionFactory(Base):
    class Meta:
        model = Section

    school_id = factory.LazyAttribute(lambda o: o.school.id)
    name = factory.Sequence(lambda n: f"Room {n}")

    class Params:
        school = factory.SubFactory(SchoolFactory)

    @factory.post_generation
    def teachers(self, create, extracted, **kwargs):
        _link(self, [SectionTeacher(section_id=self.id, staff_id=s.id) for s in extracted or []])

    @factory.post_generation
    def students(self, create, extracted, **kwargs):
        _link(self, [Enrollment(section_id=self.id, student_id=s.id) for s in extracted or []])


class StudentFactory(Base):
    class Meta:
        model = Student

    school_id = factory.LazyAttribute(lambda o: o.school.id)
    external_id = factory.Sequence(lambda n: f"S{n:05d}")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    grade = "3"

    class Params:
        school = factory.SubFactory(SchoolFactory)


class GuardianFactory(Base):
    class Meta:
        model = Guardian

    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    phone = factory.Sequence(lambda n: f"+1512555{3000 + n % 7000:04d}")
    email = factory.Sequence(lambda n: f"family{n}@example.org")
    language = "es"
    channels = factory.LazyFunction(lambda: ["sms"])

    @factory.post_generation
    def students(self, create, extracted, **kwargs):
        _link(
            self,
            [
                StudentGuardian(guardian_id=self.id, student_id=s.id, relationship="mother")
                for s in extracted or []
            ],
        )


class ThreadFactory(Base):
    class Meta:
        model = Thread

    school_id = factory.LazyAttribute(lambda o: o.school.id)
    subject = "Progress"
    owner_staff_id = None
    student_id = None

    class Params:
        school = factory.SubFactory(SchoolFactory)

    @factory.post_generation
    def guardians(self, create, extracted, **kwargs):
        _link(self, [ThreadGuardian(thread_id=self.id, guardian_id=g.id) for g in extracted or []])
