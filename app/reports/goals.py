"""District goals: what an admin expects of the district or a school in a term, and each
school's progress against them (the term's figure, the goal, and the previous term's figure).

A school's own goal for a measure takes the place of the district's."""

from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.service import AuthSubject
from app.core.errors import Invalid
from app.reports.community import LOWER_IS_BETTER, MEASURES, TermFigures, term_figures
from app.reports.models import EngagementGoal
from app.reports.service import scope_for, visible_schools
from app.reports.terms import Term, term
from app.schools import service as schools
from app.schools.models import School


@dataclass(frozen=True)
class Progress:
    measure: str
    target: float
    district_wide: bool  # the district's goal (no goal of the school's own)
    value: float | None  # this term's figure (None: nothing to measure yet)
    previous: float | None  # the previous term's

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        if self.measure in LOWER_IS_BETTER:
            return self.value <= self.target
        return self.value >= self.target

    @property
    def trend(self) -> str:
        """better | worse | same | unknown, against the previous term."""
        if self.value is None or self.previous is None:
            return "unknown"
        if abs(self.value - self.previous) < 1e-9:
            return "same"
        up = self.value > self.previous
        return "better" if up != (self.measure in LOWER_IS_BETTER) else "worse"


@dataclass(frozen=True)
class SchoolProgress:
    school: School
    figures: TermFigures
    previous: TermFigures
    progress: list[Progress]


def check_measure(measure: str) -> None:
    if measure not in MEASURES:
        raise Invalid(f"A goal is set on one of {', '.join(MEASURES)}, not {measure!r}.")


def check_target(measure: str, target: float) -> float:
    check_measure(measure)
    if measure in LOWER_IS_BETTER:
        if not 0 < target <= 24 * 60:
            raise Invalid("A response time goal is between 0 and 1440 hours.")
    elif not 0 <= target <= 1:
        raise Invalid("A share is between 0 and 1 (0.8 is 80%).")
    return float(target)


def list_goals(session: Session, term_key: str) -> list[EngagementGoal]:
    term(term_key)
    return list(
        session.scalars(
            select(EngagementGoal)
            .where(EngagementGoal.term == term_key)
            .order_by(EngagementGoal.school_id.is_not(None), EngagementGoal.school_id)
        )
    )


def set_goal(
    session: Session,
    subject: AuthSubject,
    term_key: str,
    school_id: int | None,
    measure: str,
    target: float | None,
) -> EngagementGoal | None:
    """Set (or, with no target, remove) the goal for a measure in a term, for the district or
    one school. Only a district-wide admin sets goals."""
    subject.require_district_admin("set district goals")
    term(term_key)
    check_measure(measure)
    if school_id is not None:
        schools.get_school(session, subject, school_id)
    same = (
        EngagementGoal.term == term_key,
        EngagementGoal.measure == measure,
        EngagementGoal.school_id.is_(None)
        if school_id is None
        else EngagementGoal.school_id == school_id,
    )
    goal = session.scalar(select(EngagementGoal).where(*same))
    if target is None:
        if goal is not None:
            session.execute(delete(EngagementGoal).where(EngagementGoal.id == goal.id))
            audit.record(
                session, subject.actor, "goal.delete", "goal", goal.id, school_id=school_id
            )
        return None
    value = check_target(measure, target)
    if goal is None:
        goal = EngagementGoal(term=term_key, school_id=school_id, measure=measure, target=value)
        session.add(goal)
    goal.target = value
    goal.set_by_staff_id = subject.staff_id
    session.flush()
    audit.record(session, subject.actor, "goal.set", "goal", goal.id, school_id=school_id)
    return goal


def goals_for(session: Session, term_key: str, school_id: int) -> dict[str, tuple[float, bool]]:
    """measure → (target, district_wide) for a school in a term."""
    rows = session.scalars(
        select(EngagementGoal).where(
            EngagementGoal.term == term_key,
            or_(EngagementGoal.school_id.is_(None), EngagementGoal.school_id == school_id),
        )
    )
    found: dict[str, tuple[float, bool]] = {}
    for goal in rows:
        if goal.school_id is not None or goal.measure not in found:
            found[goal.measure] = (goal.target, goal.school_id is None)
    return found


def school_progress(
    session: Session, subject: AuthSubject, school_id: int, current: Term
) -> SchoolProgress:
    scope = scope_for(session, subject, school_id)
    figures = term_figures(session, scope, current)
    previous = term_figures(session, scope, current.previous())
    targets = goals_for(session, current.key, school_id)
    progress = [
        Progress(measure, *targets[measure], figures.value(measure), previous.value(measure))
        for measure in MEASURES
        if measure in targets
    ]
    school = schools.get_school(session, subject, school_id)
    return SchoolProgress(school, figures, previous, progress)


def district_progress(
    session: Session, subject: AuthSubject, current: Term, school_id: int | None = None
) -> list[SchoolProgress]:
    """Each school the caller sees (or the chosen one) that has a goal this term."""
    has_goals = session.scalar(
        select(EngagementGoal.id).where(EngagementGoal.term == current.key).limit(1)
    )
    if has_goals is None:
        return []
    chosen = [
        school
        for school in visible_schools(session, subject)
        if school_id is None or school.id == school_id
    ]
    out = [school_progress(session, subject, school.id, current) for school in chosen]
    return [p for p in out if p.progress]
