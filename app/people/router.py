from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from app.auth.dependencies import Reader, Writer
from app.core.db import SessionDep
from app.core.pagination import ListResource, PageDep, list_resource, paginate
from app.core.schema import Id, Text
from app.people import search, service
from app.people.models import Staff, StaffSchool
from app.people.schemas import (
    Family,
    GuardianCreate,
    GuardianLink,
    GuardianRead,
    GuardianUpdate,
    StaffCreate,
    StaffRead,
    StaffUpdate,
    StudentCreate,
    StudentRead,
    StudentUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["people"])
Q = Annotated[Text | None, Query(max_length=100, description="Free-text search")]


@router.get("/staff", response_model=ListResource[StaffRead])
def list_staff(
    session: SessionDep,
    subject: Reader,
    page: PageDep,
    q: Q = None,
    school_id: Id | None = None,
    role: Text | None = None,
):
    stmt = service.readable_staff(subject)
    if school_id is not None:
        stmt = stmt.where(
            Staff.id.in_(select(StaffSchool.staff_id).where(StaffSchool.school_id == school_id))
        )
    if role:
        stmt = stmt.where(Staff.role == role)
    if q:
        stmt = stmt.where(search.matches(Staff.search_key, q))
    items, total = paginate(session, stmt.order_by(Staff.name, Staff.id), page)
    return list_resource(items, total, page)


@router.post("/staff", response_model=StaffRead, status_code=status.HTTP_201_CREATED)
def create_staff(data: StaffCreate, session: SessionDep, subject: Writer):
    return service.create_staff(session, subject, data)


@router.get("/staff/{staff_id}", response_model=StaffRead)
def get_staff(staff_id: Id, session: SessionDep, subject: Reader):
    return service.get_staff(session, subject, staff_id)


@router.patch("/staff/{staff_id}", response_model=StaffRead)
def update_staff(staff_id: Id, data: StaffUpdate, session: SessionDep, subject: Writer):
    return service.update_staff(session, subject, staff_id, data)


@router.get("/students", response_model=ListResource[StudentRead])
def list_students(
    session: SessionDep,
    subject: Reader,
    page: PageDep,
    q: Q = None,
    school_id: Id | None = None,
    section_id: Id | None = None,
    grade: Text | None = None,
    active: bool | None = None,
):
    stmt = service.student_filters(
        service.readable_students(subject),
        school_id=school_id,
        section_id=section_id,
        grade=grade,
        q=q,
        active=active,
    )
    items, total = paginate(session, stmt, page)
    return list_resource(items, total, page)


@router.post("/students", response_model=StudentRead, status_code=status.HTTP_201_CREATED)
def create_student(data: StudentCreate, session: SessionDep, subject: Writer):
    return service.create_student(session, subject, data)


@router.get("/students/{student_id}", response_model=StudentRead)
def get_student(student_id: Id, session: SessionDep, subject: Reader):
    return service.get_student(session, subject, student_id)


@router.patch("/students/{student_id}", response_model=StudentRead)
def update_student(student_id: Id, data: StudentUpdate, session: SessionDep, subject: Writer):
    return service.update_student(session, subject, student_id, data)


@router.delete("/students/{student_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_student(student_id: Id, session: SessionDep, subject: Writer) -> None:
    service.delete_student(session, subject, student_id)


@router.get("/students/{student_id}/family", response_model=Family)
def get_family(student_id: Id, session: SessionDep, subject: Reader):
    """The student's guardians, with their languages, channels and relationship."""
    return service.family(session, subject, student_id)


@router.get("/guardians", response_model=ListResource[GuardianRead])
def list_guardians(
    session: SessionDep,
    subject: Reader,
    page: PageDep,
    q: Q = None,
    school_id: Id | None = None,
    section_id: Id | None = None,
    student_id: Id | None = None,
    language: Annotated[Text | None, Query(max_length=35)] = None,
    active: bool | None = None,
):
    stmt = service.guardian_filters(
        service.readable_guardians(subject),
        school_id=school_id,
        section_id=section_id,
        student_id=student_id,
        language=language,
        q=q,
        active=active,
    )
    items, total = paginate(session, stmt, page)
    return list_resource([service.guardian_read(g) for g in items], total, page)


@router.post("/guardians", response_model=GuardianRead, status_code=status.HTTP_201_CREATED)
def create_guardian(data: GuardianCreate, session: SessionDep, subject: Writer):
    return service.guardian_read(service.create_guardian(session, subject, data))


@router.get("/guardians/{guardian_id}", response_model=GuardianRead)
def get_guardian(guardian_id: Id, session: SessionDep, subject: Reader):
    return service.guardian_read(service.get_guardian(session, subject, guardian_id))


@router.patch("/guardians/{guardian_id}", response_model=GuardianRead)
def update_guardian(guardian_id: Id, data: GuardianUpdate, session: SessionDep, subject: Writer):
    return service.guardian_read(service.update_guardian(session, subject, guardian_id, data))


@router.post("/guardians/{guardian_id}/students", response_model=GuardianRead)
def link_student(guardian_id: Id, data: GuardianLink, session: SessionDep, subject: Writer):
    return service.guardian_read(
        service.link_student(session, subject, guardian_id, data.student_id, data.relationship)
    )


@router.delete("/guardians/{guardian_id}/students/{student_id}", response_model=GuardianRead)
def unlink_student(guardian_id: Id, student_id: Id, session: SessionDep, subject: Writer):
    return service.guardian_read(service.unlink_student(session, subject, guardian_id, student_id))
