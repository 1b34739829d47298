"""Every model, imported in one place so metadata (Alembic, tests) sees all tables."""

from app.audit.models import AuditEvent
from app.auth.models import ApiKey, PasswordReset, SignInAttempt, WebSession
from app.broadcasts.models import Broadcast
from app.channels.models import DevOutbox
from app.conferences.models import Conference, ConferenceSlot
from app.core.leases import ProcessLease
from app.delivery.models import Delivery, InboundEmail, InboundSms, OptOut
from app.messaging.models import (
    InterpretationTask,
    Message,
    MessageTranslation,
    Thread,
    ThreadGuardian,
)
from app.people.models import (
    Guardian,
    Staff,
    StaffLanguage,
    StaffSchool,
    Student,
    StudentGuardian,
)
from app.questions.models import Answer, Place, Question
from app.reports.models import EngagementGoal
from app.roster.models import RosterImport
from app.schools.models import Enrollment, School, Section, SectionTeacher, SenderAssignment
from app.translation.models import CachedTranslation, GlossaryTerm, HumanTranslation, LanguageEngine

__all__ = [
    "ApiKey",
    "Broadcast",
    "Conference",
    "ConferenceSlot",
    "Delivery",
    "DevOutbox",
    "InboundEmail",
    "InboundSms",
    "OptOut",
    "CachedTranslation",
    "GlossaryTerm",
    "LanguageEngine",
    "HumanTranslation",
    "InterpretationTask",
    "StaffLanguage",
    "MessageTranslation",
    "RosterImport",
    "AuditEvent",
    "Enrollment",
    "EngagementGoal",
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
    "Answer",
    "Place",
    "Question",
    "ProcessLease",
    "SignInAttempt",
    "WebSession",
]
