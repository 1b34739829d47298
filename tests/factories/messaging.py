"""Threads, their families, messages and their translations."""

from datetime import timedelta

import factory

from app.core.db import utcnow
from app.messaging.models import (
    FamilyLink,
    InterpretationTask,
    Message,
    MessageSeen,
    MessageTranslation,
    ReadMark,
    Thread,
    ThreadGuardian,
)
from tests.factories.base import NOTE, NOTE_IN, Base, _link
from tests.factories.people import GuardianFactory, StaffFactory
from tests.factories.schools import SchoolFactory


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


class ThreadGuardianFactory(Base):
    class Meta:
        model = ThreadGuardian

    thread_id = factory.LazyAttribute(lambda o: o.thread.id)
    guardian_id = factory.LazyAttribute(lambda o: o.guardian.id)

    class Params:
        thread = factory.SubFactory(ThreadFactory)
        guardian = factory.SubFactory(GuardianFactory)


class MessageFactory(Base):
    """A teacher's note by default; pass direction="inbound", kind="reply" and
    author_guardian_id for a family's reply."""

    class Meta:
        model = Message

    thread_id = factory.LazyAttribute(lambda o: o.thread.id)
    direction = "outbound"
    author_staff_id = None
    author_guardian_id = None
    body = NOTE
    language = "en"
    kind = "note"

    class Params:
        thread = factory.SubFactory(ThreadFactory)


class MessageTranslationFactory(Base):
    class Meta:
        model = MessageTranslation

    message_id = factory.LazyAttribute(lambda o: o.message.id)
    language = "es"
    status = "translated"
    text = factory.LazyAttribute(lambda o: NOTE_IN.get(o.language, NOTE_IN["es"]))
    engine = factory.LazyAttribute(lambda o: f"argos:en-{o.language}@0.1.0")

    class Params:
        message = factory.SubFactory(MessageFactory)


class ReadMarkFactory(Base):
    """A staff member who has read a thread up to its latest message."""

    class Meta:
        model = ReadMark

    staff_id = factory.LazyAttribute(lambda o: o.staff.id)
    thread_id = factory.LazyAttribute(lambda o: o.message.thread_id)
    message_id = factory.LazyAttribute(lambda o: o.message.id)

    class Params:
        staff = factory.SubFactory(StaffFactory)
        message = factory.SubFactory(MessageFactory)


class InterpretationTaskFactory(Base):
    """A teacher's note for a Hmong family, which no model translates: open, due tomorrow."""

    class Meta:
        model = InterpretationTask

    school_id = factory.LazyAttribute(lambda o: o.thread.school_id)
    message_id = factory.LazyAttribute(lambda o: o.message.id)
    direction = "outbound"
    source_language = "en"
    language = "hmn"
    family_language = "hmn"
    reason = "no_route"
    status = "open"
    due_at = factory.LazyFunction(lambda: utcnow() + timedelta(hours=24))

    class Params:
        thread = factory.SubFactory(ThreadFactory)
        message = factory.SubFactory(MessageFactory, thread=factory.SelfAttribute("..thread"))


class FamilyLinkFactory(Base):
    """A guardian's link to the family page, made by staff, good for 90 days. The token is not
    kept (only its hash): tests that open the page mint one with messaging.family_links."""

    class Meta:
        model = FamilyLink

    guardian_id = factory.LazyAttribute(lambda o: o.guardian.id)
    token_hash = factory.Sequence(lambda n: f"{n:064x}")
    purpose = "staff"
    phone = factory.LazyAttribute(lambda o: o.guardian.phone)
    expires_at = factory.LazyFunction(lambda: utcnow() + timedelta(days=90))

    class Params:
        guardian = factory.SubFactory(GuardianFactory)


class MessageSeenFactory(Base):
    """A guardian who saw a teacher's note on the family page."""

    class Meta:
        model = MessageSeen

    message_id = factory.LazyAttribute(lambda o: o.message.id)
    guardian_id = factory.LazyAttribute(lambda o: o.guardian.id)

    class Params:
        message = factory.SubFactory(MessageFactory)
        guardian = factory.SubFactory(GuardianFactory)
