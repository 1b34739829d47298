"""A school number from the pool, assigned to one family for one staff member."""

import factory

from app.schools.models import SenderAssignment
from tests.factories.base import Base
from tests.factories.people import GuardianFactory, StaffFactory
from tests.factories.schools import SchoolFactory


class SenderAssignmentFactory(Base):
    """The number a family sees its child's teacher text from."""

    class Meta:
        model = SenderAssignment

    school_id = factory.LazyAttribute(lambda o: o.school.id)
    guardian_id = factory.LazyAttribute(lambda o: o.guardian.id)
    owner_staff_id = factory.LazyAttribute(lambda o: o.owner.id)
    owner_key = factory.LazyAttribute(lambda o: o.owner.id)
    sender = factory.Sequence(lambda n: f"+1512555{7000 + n:04d}")

    class Params:
        school = factory.SubFactory(SchoolFactory)
        owner = factory.SubFactory(StaffFactory, role="teacher")
        guardian = factory.SubFactory(GuardianFactory)
