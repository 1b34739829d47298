"""Staff, students and their families (names fit the family's language)."""

import factory

from app.people.models import (
    Guardian,
    Staff,
    StaffLanguage,
    StaffSchool,
    Student,
    StudentGuardian,
)
from tests.factories.base import STAFF_NAMES, STUDENT_NAMES, Base, _family_name, _link
from tests.factories.schools import SchoolFactory


class StaffFactory(Base):
    class Meta:
        model = Staff

    name = factory.Sequence(lambda n: STAFF_NAMES[n % len(STAFF_NAMES)])
    email = factory.Sequence(lambda n: f"staff{n}@school.example.org")
    role = "teacher"
    ui_language = "en"

    @factory.post_generation
    def schools(self, create, extracted, **kwargs):
        _link(self, [StaffSchool(staff_id=self.id, school_id=s.id) for s in extracted or []])


class StaffSchoolFactory(Base):
    class Meta:
        model = StaffSchool

    staff_id = factory.LazyAttribute(lambda o: o.staff.id)
    school_id = factory.LazyAttribute(lambda o: o.school.id)

    class Params:
        staff = factory.SubFactory(StaffFactory)
        school = factory.SubFactory(SchoolFactory)


class StudentFactory(Base):
    class Meta:
        model = Student

    school_id = factory.LazyAttribute(lambda o: o.school.id)
    external_id = factory.Sequence(lambda n: f"S{n:05d}")
    given_name = factory.Sequence(lambda n: STUDENT_NAMES[n % len(STUDENT_NAMES)][0])
    family_name = factory.Sequence(lambda n: STUDENT_NAMES[n % len(STUDENT_NAMES)][1])
    grade = "3"

    class Params:
        school = factory.SubFactory(SchoolFactory)


class GuardianFactory(Base):
    """A family member; the name fits the `language` (Vietnamese, Chinese, Arabic...)."""

    class Meta:
        model = Guardian

    language = "es"
    given_name = factory.LazyAttributeSequence(lambda o, n: _family_name(o.language, n)[0])
    family_name = factory.LazyAttributeSequence(lambda o, n: _family_name(o.language, n)[1])
    phone = factory.Sequence(lambda n: f"+1512555{3000 + n % 7000:04d}")
    email = factory.Sequence(lambda n: f"family{n}@example.org")
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


class StudentGuardianFactory(Base):
    class Meta:
        model = StudentGuardian

    student_id = factory.LazyAttribute(lambda o: o.student.id)
    guardian_id = factory.LazyAttribute(lambda o: o.guardian.id)
    relationship = "father"

    class Params:
        student = factory.SubFactory(StudentFactory)
        guardian = factory.SubFactory(GuardianFactory)


class StaffLanguageFactory(Base):
    """A language an interpreter on the staff can translate: Hmong."""

    class Meta:
        model = StaffLanguage

    staff_id = factory.LazyAttribute(lambda o: o.staff.id)
    language = "hmn"

    class Params:
        staff = factory.SubFactory(StaffFactory, role="interpreter")
