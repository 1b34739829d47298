"""factory-boy factories, one per model, bound to the test's session (`bind`).

Every factory builds a valid row with the rows it needs (a `school`, `staff`, `thread`... as a
SubFactory param, its id copied into the foreign key: the models keep ids, not relationships).
The data looks like a real district's: families write in many languages and scripts, phones
are E.164 (555 numbers), addresses are .example.org. One module per domain, as in app/;
tests/core/test_factories.py checks that every model has a factory and that each row flushes."""

from tests.factories.audit import AuditEventFactory
from tests.factories.auth import (
    ApiKeyFactory,
    PasswordResetFactory,
    SignInAttemptFactory,
    WebSessionFactory,
)
from tests.factories.base import FAMILY_NAMES, NOTE, NOTE_IN, SENDER, all_factories, bind
from tests.factories.broadcasts import BroadcastFactory
from tests.factories.channels import DevOutboxFactory
from tests.factories.conferences import ConferenceFactory, ConferenceSlotFactory
from tests.factories.core import ProcessLeaseFactory
from tests.factories.delivery import (
    AttachmentFactory,
    DeliveryFactory,
    InboundEmailFactory,
    InboundMediaFactory,
    InboundSmsFactory,
    OptOutFactory,
)
from tests.factories.messaging import (
    FamilyLinkFactory,
    InterpretationTaskFactory,
    MessageFactory,
    MessageSeenFactory,
    MessageTranslationFactory,
    ReadMarkFactory,
    ThreadFactory,
    ThreadGuardianFactory,
)
from tests.factories.people import (
    GuardianFactory,
    StaffFactory,
    StaffLanguageFactory,
    StaffSchoolFactory,
    StudentFactory,
    StudentGuardianFactory,
)
from tests.factories.questions import AnswerFactory, PlaceFactory, QuestionFactory
from tests.factories.reports import EngagementGoalFactory
from tests.factories.roster import RosterImportFactory
from tests.factories.schools import (
    EnrollmentFactory,
    SchoolFactory,
    SectionFactory,
    SectionTeacherFactory,
)
from tests.factories.senders import SenderAssignmentFactory
from tests.factories.translation import (
    CachedTranslationFactory,
    GlossaryTermFactory,
    HumanTranslationFactory,
    LanguageEngineFactory,
)

__all__ = [
    "ConferenceFactory",
    "ConferenceSlotFactory",
    "FAMILY_NAMES",
    "NOTE",
    "NOTE_IN",
    "SENDER",
    "AnswerFactory",
    "ApiKeyFactory",
    "AuditEventFactory",
    "BroadcastFactory",
    "CachedTranslationFactory",
    "AttachmentFactory",
    "InboundMediaFactory",
    "DeliveryFactory",
    "DevOutboxFactory",
    "EngagementGoalFactory",
    "EnrollmentFactory",
    "GlossaryTermFactory",
    "GuardianFactory",
    "InboundEmailFactory",
    "HumanTranslationFactory",
    "InboundSmsFactory",
    "InterpretationTaskFactory",
    "LanguageEngineFactory",
    "MessageFactory",
    "MessageTranslationFactory",
    "OptOutFactory",
    "PlaceFactory",
    "PasswordResetFactory",
    "ProcessLeaseFactory",
    "FamilyLinkFactory",
    "MessageSeenFactory",
    "QuestionFactory",
    "ReadMarkFactory",
    "RosterImportFactory",
    "SchoolFactory",
    "SectionFactory",
    "SenderAssignmentFactory",
    "SectionTeacherFactory",
    "SignInAttemptFactory",
    "StaffFactory",
    "StaffLanguageFactory",
    "StaffSchoolFactory",
    "StudentFactory",
    "StudentGuardianFactory",
    "ThreadFactory",
    "ThreadGuardianFactory",
    "WebSessionFactory",
    "bind",
    "all_factories",
]
