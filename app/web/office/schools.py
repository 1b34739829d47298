"""The viewer's schools as the office pages offer them."""

from sqlalchemy.orm import Session

from app.auth.service import AuthSubject
from app.schools import service as schools
from app.schools.models import School


def school_choices(session: Session, subject: AuthSubject) -> list[School]:
    """The schools the viewer may choose, by name."""
    return list(session.scalars(schools.readable_schools(subject).order_by(School.name)))


def timezone_of(session: Session, subject: AuthSubject) -> str:
    """For pages not about one school (imports): the viewer's first school's timezone."""
    school = session.scalar(schools.readable_schools(subject).order_by(School.id).limit(1))
    return school.timezone if school is not None else "UTC"
