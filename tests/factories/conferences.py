"""A teacher's conference times and their slots."""

from datetime import UTC, datetime, timedelta

import factory

from app.conferences.models import Conference, ConferenceSlot
from tests.factories.base import Base
from tests.factories.people import StaffFactory
from tests.factories.questions import QuestionFactory


class ConferenceFactory(Base):
    """A teacher's fall conferences, sent as a choice of times."""

    class Meta:
        model = Conference

    school_id = factory.LazyAttribute(lambda o: o.question.school_id)
    teacher_staff_id = factory.LazyAttribute(lambda o: o.teacher.id)
    question_id = factory.LazyAttribute(lambda o: o.question.id)
    title = "Fall conferences"
    actor = factory.LazyAttribute(lambda o: f"staff:{o.teacher.id}")

    class Params:
        question = factory.SubFactory(
            QuestionFactory, kind="choice", options=["Tue 3:00 PM", "Tue 3:20 PM"]
        )
        teacher = factory.SubFactory(StaffFactory, role="teacher")


class ConferenceSlotFactory(Base):
    """Twenty minutes in room 12, a week from now."""

    class Meta:
        model = ConferenceSlot

    conference_id = factory.LazyAttribute(lambda o: o.conference.id)
    number = factory.Sequence(lambda n: n + 1)
    starts_at = factory.Sequence(
        lambda n: datetime(2026, 12, 15, 21, 0, tzinfo=UTC) + timedelta(minutes=20 * n)
    )
    minutes = 20
    place = "Room 12"

    class Params:
        conference = factory.SubFactory(ConferenceFactory)
