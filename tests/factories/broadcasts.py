"""Notices to many families."""

import factory

from app.broadcasts.models import Broadcast
from app.people.models import StaffSchool
from tests.factories.base import Base, _link, _session
from tests.factories.people import StaffFactory
from tests.factories.schools import SchoolFactory


class BroadcastFactory(Base):
    """A notice to the whole school, scheduled now, by one of its office staff."""

    class Meta:
        model = Broadcast

    school_id = factory.LazyAttribute(lambda o: o.school.id)
    author_staff_id = factory.LazyAttribute(lambda o: o.author.id)
    actor = factory.LazyAttribute(lambda o: f"staff:{o.author.id}")
    title = "Closed on Monday"
    body = "School is closed on Monday."
    language = "en"
    audience = factory.LazyFunction(lambda: {"whole_school": True})

    class Params:
        school = factory.SubFactory(SchoolFactory)
        author = factory.SubFactory(StaffFactory, role="office")

    @factory.post_generation
    def author_works_there(self, create, extracted, **kwargs):
        if self.author_staff_id and not _session().get(
            StaffSchool, (self.author_staff_id, self.school_id)
        ):
            _link(self, [StaffSchool(staff_id=self.author_staff_id, school_id=self.school_id)])
