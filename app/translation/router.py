from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from app.audit import service as audit
from app.auth.dependencies import Reader, Writer
from app.core.db import SessionDep
from app.core.errors import Conflict, Invalid, NotFound
from app.core.schema import LanguageTag
from app.people import service as people
from app.schools import service as schools
from app.translation import detect, packages, service
from app.translation.languages import mt_code
from app.translation.models import GlossaryTerm
from app.translation.schemas import (
    GlossaryTermCreate,
    GlossaryTermRead,
    LanguageRead,
    TranslateRequest,
    TranslateResponse,
)

router = APIRouter(prefix="/api/v1", tags=["translation"])


@router.post("/translate", response_model=TranslateResponse)
def translate(data: TranslateRequest, session: SessionDep, subject: Reader):
    """Translate text offline. `status` says what happened: `translated`, `same_language`, or
    `unavailable` (no model; `reason` says which to install) — never English passed off as a
    translation."""
    detected = data.source is None
    source = data.source
    if source is None:
        candidates = packages.installed_languages() | {data.target, subject.ui_language}
        source = detect.detect(data.text, subject.ui_language, candidates).language
    result = service.translate(session, [data.text], source, data.target)[0]
    back = None
    if data.back_translate and result.status == "translated" and result.text:
        back = service.translate(session, [result.text], result.target, result.source)[0].text
    session.commit()
    return {**result.__dict__, "detected": detected, "back_translation": back}


@router.get("/languages", response_model=list[LanguageRead])
def languages(
    session: SessionDep, subject: Reader, source: Annotated[LanguageTag | None, Query()] = None
):
    """Every language the families you can see read, and every installed one, with its
    native name and how well it is covered from `source` (default: your language)."""
    origin = source or subject.ui_language
    counts: dict[str, int] = {}
    visible = (
        people.readable_guardians(subject)
        .with_only_columns(people.Guardian.language)
        .where(people.Guardian.active.is_(True))
    )
    for tag in session.scalars(visible):
        code = mt_code(tag)
        counts[code] = counts.get(code, 0) + 1
    codes = set(counts) | packages.installed_languages()
    out = []
    for code in sorted(codes):
        c = packages.coverage_for(code, origin)
        out.append(
            {
                "code": c.code,
                "name": c.name,
                "native_name": c.native_name,
                "coverage": c.to_family,
                "coverage_back": c.from_family,
                "guardians": counts.get(code, 0),
            }
        )
    return out


@router.get("/schools/{school_id}/glossary", response_model=list[GlossaryTermRead])
def list_glossary(school_id: int, session: SessionDep, subject: Reader):
    schools.get_school(session, subject, school_id)
    return list(
        session.scalars(
            select(GlossaryTerm)
            .where(GlossaryTerm.school_id == school_id)
            .order_by(GlossaryTerm.term)
        )
    )


@router.post(
    "/schools/{school_id}/glossary",
    response_model=GlossaryTermRead,
    status_code=status.HTTP_201_CREATED,
)
def add_glossary_term(
    school_id: int, data: GlossaryTermCreate, session: SessionDep, subject: Writer
):
    schools.get_school(session, subject, school_id)
    subject.require_role("office", "change the glossary")
    if not data.keep and not data.renderings:
        raise Invalid("Give renderings per language, or keep: true to keep the term as written.")
    term = " ".join(data.term.split())
    if session.scalar(
        select(GlossaryTerm.id).where(
            GlossaryTerm.school_id == school_id, GlossaryTerm.term == term
        )
    ):
        raise Conflict(f"'{term}' is already in this school's glossary.")
    row = GlossaryTerm(
        school_id=school_id, term=term, keep=data.keep, renderings=dict(data.renderings)
    )
    session.add(row)
    session.flush()
    audit.record(
        session, subject.actor, "glossary.create", "glossary_term", row.id, school_id=school_id
    )
    session.commit()
    return row


@router.delete("/schools/{school_id}/glossary/{term_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_glossary_term(
    school_id: int, term_id: int, session: SessionDep, subject: Writer
) -> None:
    schools.get_school(session, subject, school_id)
    subject.require_role("office", "change the glossary")
    row = session.get(GlossaryTerm, term_id)
    if row is None or row.school_id != school_id:
        raise NotFound("No such glossary term.")
    session.delete(row)
    session.commit()
