"""The classroom: one school and its people, shared by the tests that tell a story about them.

Riverside Elementary texts from +1 512-555-0100 (America/Chicago). Ana Rivera teaches Room 12:
Mateo Ruiz, whose mother Marisol Quintanilla (Spanish) and Lan Nguyễn (Vietnamese) get texts, and
Sofía López, whose mother Ana López (Spanish) gets texts and email. David Chen teaches Room 14:
Hao Zhang, whose father 张伟 (Chinese) reads email only. Beatriz Salgado runs the office; Kwame
Mensah is a district admin. A test changes what its story needs (a channel, an email) on the rows.

Use the `classroom` fixture (tests/conftest.py); it needs the translation models, since the
families write in their own languages."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.people.models import Guardian, Staff, Student
from app.schools.models import School, Section
from tests.factories import (
    SENDER,
    GuardianFactory,
    SchoolFactory,
    SectionFactory,
    StaffFactory,
    StudentFactory,
)


@dataclass
class Classroom:
    school: School
    admin: Staff  # district-wide: no school of their own
    office: Staff
    teacher: Staff  # Ana Rivera
    section: Section  # Room 12: Mateo and Sofía
    mateo: Student
    sofia: Student
    marisol: Guardian  # Mateo's mother: Spanish, texts
    lan: Guardian  # Mateo's other guardian: Vietnamese, texts
    ana: Guardian  # Sofía's mother: Spanish (Mexico), texts and email
    colleague: Staff  # David Chen, another teacher of the school
    colleague_section: Section  # Room 14: Hao
    hao: Student
    wei: Guardian  # Hao's father: Chinese, email only

    @property
    def guardians(self) -> list[Guardian]:
        return [self.marisol, self.lan, self.ana, self.wei]


def build_classroom(session: Session) -> Classroom:
    school = SchoolFactory(
        name="Riverside Elementary", sms_sender=SENDER, timezone="America/Chicago"
    )
    admin = StaffFactory(role="admin", name="Kwame Mensah", email="mensah@district.example.org")
    office = StaffFactory(
        role="office",
        schools=[school],
        name="Beatriz Salgado",
        email="salgado@riverside.example.org",
        ui_language="es",
    )
    teacher = StaffFactory(
        schools=[school], name="Ana Rivera", email="rivera@riverside.example.org"
    )
    colleague = StaffFactory(
        schools=[school], name="David Chen", email="chen@riverside.example.org"
    )
    mateo = StudentFactory(school=school, given_name="Mateo", family_name="Ruiz", grade="3")
    sofia = StudentFactory(school=school, given_name="Sofía", family_name="López", grade="3")
    hao = StudentFactory(school=school, given_name="Hao", family_name="Zhang", grade="4")
    section = SectionFactory(
        school=school, name="Room 12", teachers=[teacher], students=[mateo, sofia]
    )
    colleague_section = SectionFactory(
        school=school, name="Room 14", teachers=[colleague], students=[hao]
    )
    marisol = GuardianFactory(
        students=[mateo],
        language="es",
        given_name="Marisol",
        family_name="Quintanilla",
        phone="+15125552001",
        email="marisol.q@family.example.org",
        channels=["sms"],
    )
    lan = GuardianFactory(
        students=[mateo],
        language="vi",
        given_name="Lan",
        family_name="Nguyễn",
        phone="+15125552002",
        email="lan@family.example.org",
        channels=["sms"],
    )
    ana = GuardianFactory(
        students=[sofia],
        language="es-MX",
        given_name="Ana",
        family_name="López",
        phone="+15125552003",
        email="ana@family.example.org",
        channels=["sms", "email"],
    )
    wei = GuardianFactory(
        students=[hao],
        language="zh-Hans",
        given_name="伟",
        family_name="张",
        phone=None,
        email="wei.zhang@family.example.org",
        channels=["email"],
    )
    # Committed into the test's own transaction (rolled back after it): requests find it.
    session.commit()
    return Classroom(
        school, admin, office, teacher, section, mateo, sofia, marisol, lan, ana,
        colleague, colleague_section, hao, wei,
    )  # fmt: skip
