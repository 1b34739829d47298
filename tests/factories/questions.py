"""Questions on broadcasts, the families' answers, a sign-up's places."""

import factory

from app.questions.models import Answer, Place, Question
from tests.factories.base import Base
from tests.factories.broadcasts import BroadcastFactory
from tests.factories.people import GuardianFactory


class QuestionFactory(Base):
    """A yes/no RSVP on a broadcast of its school; pass kind="choice" and options for a poll."""

    class Meta:
        model = Question

    school_id = factory.LazyAttribute(lambda o: o.broadcast.school_id)
    broadcast_id = factory.LazyAttribute(lambda o: o.broadcast.id)
    kind = "yes_no"
    options = factory.LazyFunction(list)

    class Params:
        broadcast = factory.SubFactory(BroadcastFactory)


class AnswerFactory(Base):
    """A family's current "sí" to a question."""

    class Meta:
        model = Answer

    question_id = factory.LazyAttribute(lambda o: o.question.id)
    guardian_id = factory.LazyAttribute(lambda o: o.guardian.id)
    value = "yes"
    text = "Sí, ahí estaremos"
    language = "es"
    current = True

    class Params:
        question = factory.SubFactory(QuestionFactory)
        guardian = factory.SubFactory(GuardianFactory, language="es")


class PlaceFactory(Base):
    """One conference slot (a place for one family) of a choice."""

    class Meta:
        model = Place

    question_id = factory.LazyAttribute(lambda o: o.question.id)
    number = factory.Sequence(lambda n: n + 1)
    capacity = 1
    taken = 0

    class Params:
        question = factory.SubFactory(
            QuestionFactory, kind="choice", options=["Mon 3 pm", "Tue 3 pm", "Wed 3 pm"]
        )
