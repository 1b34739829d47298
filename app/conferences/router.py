from fastapi import APIRouter, status

from app.auth.dependencies import Reader, Sender
from app.conferences import service
from app.conferences.schemas import ConferenceCreate, ConferenceList, ConferenceRead
from app.core.db import SessionDep
from app.core.schema import Id

router = APIRouter(prefix="/api/v1/conferences", tags=["conferences"])


@router.post("", response_model=ConferenceRead, status_code=status.HTTP_201_CREATED)
def create(draft: ConferenceCreate, session: SessionDep, subject: Sender):
    """Publish a teacher's conference times (made from each block: a day, from–to, a length)
    and text the invitation to the families of their students, each in its language. A
    teacher publishes their own; office staff and admins of the school name the teacher."""
    conference = service.create(session, subject, draft)
    return service.read(session, conference)


@router.get("", response_model=ConferenceList)
def listing(session: SessionDep, subject: Reader):
    """A teacher's own conferences; office staff and admins see their schools'."""
    return {"items": [service.read(session, c) for c in service.listing(session, subject)]}


@router.get("/{conference_id}", response_model=ConferenceRead)
def get(conference_id: Id, session: SessionDep, subject: Reader):
    """The times and who booked each (the family, its language, whether an interpreter is
    needed)."""
    return service.read(session, service.get(session, subject, conference_id))
