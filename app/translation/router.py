from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from app.auth import service as auth_service
from app.auth.dependencies import (
    API_KEY,
    AdminScope,
    Reader,
    Writer,
    bearer_key,
    require_scope,
)
from app.auth.service import AuthSubject
from app.core.db import SessionDep, read_session
from app.core.errors import Unauthorized
from app.core.languages import mt_code
from app.core.schema import Id, LanguageTag
from app.people import service as people
from app.translation import batching, detect, packages, service
from app.translation.models import GlossaryTerm
from app.translation.quality import Quality
from app.translation.schemas import (
    EngineChoice,
    EngineChoiceRead,
    GlossaryTermCreate,
    GlossaryTermRead,
    LanguageRead,
    TranslateRequest,
    TranslateResponse,
)

router = APIRouter(prefix="/api/v1", tags=["translation"])


# The key is read by hand (the fast path below), so the document is told it needs one.
@router.post(
    "/translate",
    response_model=TranslateResponse,
    openapi_extra={"security": [{API_KEY.scheme_name: []}]},
)
async def translate(data: TranslateRequest, request: Request) -> dict[str, Any]:
    """Translate text offline. `status` says what happened: `translated`, `same_language`, or
    `unavailable` (no model; `reason` says which to install) — never English passed off as a
    translation. `origin` says where the text comes from (`mt`, `cache`, `phrasebook` for a
    short reply such as "sí" or "gracias", `same_language`), and `quality` how far a machine
    translation can be trusted: `good`, `check` or `poor`, a score and the reasons."""
    # The fast path: a key, engine choices, people's translations and the translation itself
    # all in this process's memory (app/translation/recent.py) — answered on the event loop,
    # with no database and no model. Anything else reads in a thread (app/core/db.read_session:
    # no write lock on SQLite), translates through the batching model, and writes its cache
    # rows afterwards (app/core/deferred.py).
    key = bearer_key(request)
    subject = auth_service.recent_subject(key)
    if subject is not None:
        require_scope(subject, "read")
        answer = _from_memory(data, subject)
        if answer is not None:
            return answer
    return await run_in_threadpool(_translate_reading, data, key, subject)


def _from_memory(data: TranslateRequest, subject: AuthSubject) -> dict[str, Any] | None:
    if data.source is None:
        return None  # detection is cheap, but its candidates come from the database
    result = service.translate_from_memory(
        data.text, data.source, data.target, short_replies=True, school_id=_school(subject)
    )
    if result is None:
        return None
    back = None
    if data.back_translate and result.status == "translated" and result.text:
        again = service.translate_from_memory(result.text, result.target, result.source)
        if again is None:
            return None
        back = again.text
    return _answer(result, False, back)


def _translate_reading(
    data: TranslateRequest, key: str, subject: AuthSubject | None
) -> dict[str, Any]:
    with batching.expecting(), read_session() as session:
        if subject is None:
            subject = auth_service.authenticate_api_key(session, key, touch_later=True)
            if subject is None:
                raise Unauthorized("This API key is not valid or has been revoked.")
            auth_service.remember_subject(key, subject)
            require_scope(subject, "read")
        detected = data.source is None
        source = data.source
        if source is None:
            candidates = packages.installed_languages() | {data.target, subject.ui_language}
            source = detect.detect(data.text, subject.ui_language, candidates).language
        result = service.translate(
            session,
            [data.text],
            source,
            data.target,
            short_replies=True,
            defer_store=True,
            recent_reads=True,
            school_id=_school(subject),
        )[0]
        back = None
        if data.back_translate and result.status == "translated" and result.text:
            back = service.translate(
                session,
                [result.text],
                result.target,
                result.source,
                defer_store=True,
                recent_reads=True,
            )[0].text
        return _answer(result, detected, back)


def _school(subject: AuthSubject) -> int | None:
    """Whose translation memory a caller's texts may be given: their school's, when they act
    for exactly one (people's translations are kept per school); else none."""
    if subject.school_ids is not None and len(subject.school_ids) == 1:
        return next(iter(subject.school_ids))
    return None


def _answer(result: service.TranslationResult, detected: bool, back: str | None) -> dict[str, Any]:
    return {
        **result.__dict__,
        "detected": detected,
        "back_translation": back,
        "quality": _quality(result.quality),
    }


def _quality(judged: Quality | None) -> dict[str, Any] | None:
    return judged.as_dict() if judged else None


@router.get("/languages", response_model=list[LanguageRead])
def languages(
    session: SessionDep, subject: Reader, source: Annotated[LanguageTag | None, Query()] = None
) -> list[dict[str, Any]]:
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
    choices = service.engine_choices(session)
    out = []
    for code in sorted(codes):
        c = packages.coverage_for(code, origin, choices)
        out.append(
            {
                "code": c.code,
                "name": c.name,
                "native_name": c.native_name,
                "coverage": c.to_family,
                "coverage_back": c.from_family,
                "guardians": counts.get(code, 0),
                "engine_choice": c.choice,
                "to_language": _direction(c.to),
                "from_language": _direction(c.back),
            }
        )
    return out


def _direction(way: packages.Direction | None) -> dict[str, Any]:
    assert way is not None  # coverage_for describes both directions
    return {
        "coverage": way.coverage,
        "engine": way.engine,
        "models": list(way.models),
        "licences": list(way.licences),
        "quality_tier": way.tier,
    }


@router.put("/languages/{tag}/engine", response_model=EngineChoiceRead)
def choose_engine(
    tag: LanguageTag, data: EngineChoice, session: SessionDep, subject: AdminScope
) -> dict[str, str]:
    """Choose the translation engine for one language, for the whole district (a district-wide
    admin): `multilingual` prefers the multilingual model where it knows the language (e.g. for
    ko, uk, ar, whose old Argos models are weak), `argos` never uses it, `auto` is the default
    order. Cached translations by the other engine are not reused."""
    code = service.set_engine_choice(session, subject, tag, data.engine)
    return {"code": code, "engine": data.engine}


@router.get("/schools/{school_id}/glossary", response_model=list[GlossaryTermRead])
def list_glossary(school_id: Id, session: SessionDep, subject: Reader) -> list[GlossaryTerm]:
    return service.glossary_terms(session, subject, school_id)


@router.post(
    "/schools/{school_id}/glossary",
    response_model=GlossaryTermRead,
    status_code=status.HTTP_201_CREATED,
)
def add_glossary_term(
    school_id: Id, data: GlossaryTermCreate, session: SessionDep, subject: Writer
) -> GlossaryTerm:
    return service.add_glossary_term(session, subject, school_id, data)


@router.delete("/schools/{school_id}/glossary/{term_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_glossary_term(school_id: Id, term_id: Id, session: SessionDep, subject: Writer) -> None:
    service.delete_glossary_term(session, subject, school_id, term_id)
