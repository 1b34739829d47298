"""Schools, their sections, who teaches and who is enrolled."""

import factory

from app.schools.models import Enrollment, School, Section, SectionTeacher
from tests.factories.base import SCHOOL_NAMES, SENDER, Base, _link


class SchoolFactory(Base):
    class Meta:
        model = School

    name = factory.Sequence(lambda n: SCHOOL_NAMES[n % len(SCHOOL_NAMES)])
    timezone = "America/Chicago"
    default_language = "en"
    sms_sender = SENDER


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


class SectionTeacherFactory(Base):
    class Meta:
        model = SectionTeacher

    section_id = factory.LazyAttribute(lambda o: o.section.id)
    staff_id = factory.LazyAttribute(lambda o: o.staff.id)

    class Params:
        section = factory.SubFactory(SectionFactory)
        staff = factory.SubFactory("tests.factories.people.StaffFactory")


class EnrollmentFactory(Base):
    class Meta:
        model = Enrollment

    section_id = factory.LazyAttribute(lambda o: o.section.id)
    student_id = factory.LazyAttribute(lambda o: o.student.id)

    class Params:
        section = factory.SubFactory(SectionFactory)
        student = factory.SubFactory(
            "tests.factories.people.StudentFactory",
            school_id=factory.SelfAttribute("..section.school_id"),
        )
