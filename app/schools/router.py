from typing import Annotated

from fastapi import APIRouter, Query, status

from app.auth.dependencies import Reader, Writer
from app.core.db import SessionDep
from app.core.pagination import ListResource, PageDep, list_resource, paginate
from app.core.schema import Id, Text
from app.schools import service
from app.schools.schemas import (
    EnrollmentCreate,
    SchoolCreate,
    SchoolRead,
    SchoolUpdate,
    SectionCreate,
    SectionRead,
    SectionUpdate,
    TeacherAssign,
)

router = APIRouter(prefix="/api/v1", tags=["schools"])


@router.get("/schools", response_model=ListResource[SchoolRead])
def list_schools(
    session: SessionDep,
    subject: Reader,
    page: PageDep,
    q: Annotated[Text | None, Query(max_length=100)] = None,
):
    stmt = service.readable_schools(subject)
    if q:
        stmt = stmt.where(service.School.name.ilike(f"%{q}%"))
    items, total = paginate(session, stmt.order_by(service.School.name), page)
    return list_resource(items, total, page)


@router.post("/schools", response_model=SchoolRead, status_code=status.HTTP_201_CREATED)
def create_school(data: SchoolCreate, session: SessionDep, subject: Writer):
    return service.create_school(session, subject, data)


@router.get("/schools/{school_id}", response_model=SchoolRead)
def get_school(school_id: Id, session: SessionDep, subject: Reader):
    return service.get_school(session, subject, school_id)


@router.patch("/schools/{school_id}", response_model=SchoolRead)
def update_school(school_id: Id, data: SchoolUpdate, session: SessionDep, subject: Writer):
    return service.update_school(session, subject, school_id, data)


@router.delete("/schools/{school_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_school(school_id: Id, session: SessionDep, subject: Writer) -> None:
    service.delete_school(session, subject, school_id)


@router.get("/sections", response_model=ListResource[SectionRead])
def list_sections(
    session: SessionDep,
    subject: Reader,
    page: PageDep,
    school_id: Id | None = None,
    staff_id: Id | None = None,
    q: Annotated[Text | None, Query(max_length=100)] = None,
):
    stmt = service.section_filters(
        service.readable_sections(subject), school_id=school_id, staff_id=staff_id, q=q
    )
    items, total = paginate(session, stmt, page)
    return list_resource([service.section_read(s) for s in items], total, page)


@router.post("/sections", response_model=SectionRead, status_code=status.HTTP_201_CREATED)
def create_section(data: SectionCreate, session: SessionDep, subject: Writer):
    return service.section_read(service.create_section(session, subject, data))


@router.get("/sections/{section_id}", response_model=SectionRead)
def get_section(section_id: Id, session: SessionDep, subject: Reader):
    return service.section_read(service.get_section(session, subject, section_id))


@router.patch("/sections/{section_id}", response_model=SectionRead)
def update_section(section_id: Id, data: SectionUpdate, session: SessionDep, subject: Writer):
    return service.section_read(service.update_section(session, subject, section_id, data))


@router.delete("/sections/{section_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_section(section_id: Id, session: SessionDep, subject: Writer) -> None:
    service.delete_section(session, subject, section_id)


@router.post("/sections/{section_id}/enrollments", response_model=SectionRead)
def enroll(section_id: Id, data: EnrollmentCreate, session: SessionDep, subject: Writer):
    return service.section_read(service.enroll(session, subject, section_id, data.student_id))


@router.delete("/sections/{section_id}/enrollments/{student_id}", response_model=SectionRead)
def unenroll(section_id: Id, student_id: Id, session: SessionDep, subject: Writer):
    return service.section_read(service.unenroll(session, subject, section_id, student_id))


@router.post("/sections/{section_id}/teachers", response_model=SectionRead)
def assign_teacher(section_id: Id, data: TeacherAssign, session: SessionDep, subject: Writer):
    return service.section_read(service.assign_teacher(session, subject, section_id, data.staff_id))


@router.delete("/sections/{section_id}/teachers/{staff_id}", response_model=SectionRead)
def unassign_teacher(section_id: Id, staff_id: Id, session: SessionDep, subject: Writer):
    return service.section_read(service.unassign_teacher(session, subject, section_id, staff_id))
