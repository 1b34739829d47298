"""Every model, imported in one place so metadata (Alembic, tests) sees all tables."""

from app.audit.models import AuditEvent
from app.auth.models import ApiKey
from app.messaging.models import Message, Thread, ThreadGuardian
from app.people.models import Guardian, Staff, StaffSchool, Student, StudentGuardian
from app.schools.models import Enrollment, School, Section, SectionTeacher

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Enrollment",
    "Guardian",
    "Message",
    "School",
    "Section",
    "SectionTeacher",
    "Staff",
    "StaffSchool",
    "Student",
    "StudentGuardian",
    "Thread",
    "ThreadGuardian",
]
