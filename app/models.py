"""Every model, imported in one place so metadata (Alembic, tests) sees all tables."""

from app.audit.models import AuditEvent
from app.auth.models import ApiKey, PasswordReset, SignInAttempt, WebSession
from app.broadcasts.models import Broadcast
from app.channels.models import DevOutbox
from app.delivery.models import Delivery, InboundEmail, InboundSms, OptOut
from app.messaging.models import Message, MessageTranslation, Thread, ThreadGuardian
from app.people.models import Guardian, Staff, StaffSchool, Student, StudentGuardian
from app.roster.models import RosterImport
from app.schools.models import Enrollment, School, Section, SectionTeacher, SenderAssignment
from app.translation.models import CachedTranslation, GlossaryTerm

__all__ = [
    "ApiKey",
    "Broadcast",
    "Delivery",
    "DevOutbox",
    "InboundEmail",
    "InboundSms",
    "OptOut",
    "CachedTranslation",
    "GlossaryTerm",
    "MessageTranslation",
    "RosterImport",
    "AuditEvent",
    "Enrollment",
    "Guardian",
    "Message",
    "School",
    "SenderAssignment",
    "Section",
    "SectionTeacher",
    "Staff",
    "StaffSchool",
    "Student",
    "StudentGuardian",
    "Thread",
    "ThreadGuardian",
    "PasswordReset",
    "SignInAttempt",
    "WebSession",
]
