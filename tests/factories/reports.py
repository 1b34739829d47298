"""District goals for a term."""

import factory

from app.reports.community import MEASURES
from app.reports.models import EngagementGoal
from tests.factories.base import Base


class EngagementGoalFactory(Base):
    """A district-wide goal: 90 % of families reached in their language this fall."""

    class Meta:
        model = EngagementGoal

    term = "2026-fall"
    school_id = None
    measure = factory.Iterator(MEASURES)
    target = 0.9
