"""Translating text offline: routing (same language, direct, English pivot, unavailable),
protected spans, the cache, and a school's glossary."""

import hashlib
import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.service import AuthSubject
from app.core import metrics
from app.core.errors import Conflict, Invalid, NotFound
from app.schools import service as schools
from app.translation.argos import InstalledPair, engine
from app.translation.languages import ENGLISH, display_names, mt_code
from app.translation.models import CachedTranslation, GlossaryTerm
from app.translation.protect import (
    PLACEHOLDER_RE,
    GlossaryEntry,
    Masked,
    Protection,
    join_pieces,
    mask,
    restore,
)
from app.translation.schemas import GlossaryTermCreate

log = logging.getLogger("hearth.translation")

Status = Literal["translated", "same_language", "unavailable"]
Coverage = Literal["same", "direct", "pivot", "none"]


@dataclass(frozen=True)
class Route:
    source: str
    target: str
    coverage: Coverage
    hops: tuple[InstalledPair, ...] = ()

    @property
    def engine(self) -> str | None:
        return "+".join(h.engine for h in self.hops) or None

    @property
    def reason(self) -> str | None:
        if self.coverage != "none":
            return None
        source_name, target_name = display_names(self.source)[0], display_names(self.target)[0]
        missing = self.target if self.source == ENGLISH else self.source
        return (
            f"No translation model from {source_name} to {target_name} is installed, "
            f"directly or through English (install one: hearth models install {missing})."
        )


@dataclass(frozen=True)
class TranslationResult:
    text: str | None  # None when unavailable: never the original passed off as a translation
    source: str
    target: str
    status: Status
    engine: str | None = None
    cached: bool = False
    reason: str | None = None


def find_route(source: str, target: str) -> Route:
    src, tgt = mt_code(source), mt_code(target)
    if src == tgt:
        return Route(src, tgt, "same")
    pairs = engine.pairs()
    if (src, tgt) in pairs:
        return Route(src, tgt, "direct", (pairs[(src, tgt)],))
    if (src, ENGLISH) in pairs and (ENGLISH, tgt) in pairs:
        return Route(src, tgt, "pivot", (pairs[(src, ENGLISH)], pairs[(ENGLISH, tgt)]))
    return Route(src, tgt, "none")


def normalize(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _run(route: Route, texts: list[str]) -> list[str]:
    for hop in route.hops:
        texts = engine.translate(texts, hop.source, hop.target)
    return texts


def _translate_masked(route: Route, masked: list[Masked]) -> list[str]:
    """Masked translations whose placeholders are exactly those of the input. Where the model
    lost or invented one, the pieces between the spans are translated on their own."""
    out = _run(route, [m.text for m in masked])
    retry = [
        i
        for i, (t, m) in enumerate(zip(out, masked, strict=True))
        if restore(t, m, route.target) is None
    ]
    if retry:
        pieces = [(i, p) for i in retry for p in masked[i].pieces]
        wordy = [p.strip() for _, p in pieces if any(ch.isalpha() for ch in p)]
        done = iter(_run(route, wordy) if wordy else [])
        translated = [next(done) if any(ch.isalpha() for ch in p) else p for _, p in pieces]

        by_message: dict[int, list[str]] = {i: [] for i in retry}
        for (i, original), result in zip(pieces, translated, strict=True):
            if any(ch.isalpha() for ch in original):
                # A piece had no placeholder: any in its translation were invented.
                clean = " ".join(PLACEHOLDER_RE.sub(" ", result).split())
                by_message[i].append(_keep_spacing(original, clean))
            else:  # punctuation and spaces between spans stay as written
                by_message[i].append(original)

        for i in retry:
            out[i] = join_pieces(by_message[i], masked[i].placeholders)
        log.info(
            "placeholders lost in %d of %d texts; translated those piecewise",
            len(retry),
            len(masked),
        )
    return out


def _keep_spacing(original: str, translated: str) -> str:
    lead = original[: len(original) - len(original.lstrip())]
    trail = original[len(original.rstrip()) :]
    return f"{lead}{translated.strip()}{trail}"


def translate(
    session: Session,
    texts: Sequence[str],
    source: str,
    target: str,
    *,
    protection: Protection | None = None,
) -> list[TranslationResult]:
    """Translate every text from `source` to `target` with one model call per hop for all of
    the texts that are not already cached. Adds new cache rows to `session`."""
    route = find_route(source, target)
    src, tgt = route.source, route.target
    if route.coverage == "same":
        return [TranslationResult(t, src, tgt, "same_language") for t in texts]
    if route.coverage == "none":
        return [
            TranslationResult(None, src, tgt, "unavailable", reason=route.reason) for _ in texts
        ]
    engine_id = route.engine or ""
    masked = [mask(normalize(t), protection) for t in texts]
    hashes = [_hash(m.text) for m in masked]
    cached = dict(
        session.execute(
            select(CachedTranslation.text_hash, CachedTranslation.translated).where(
                CachedTranslation.source == src,
                CachedTranslation.target == tgt,
                CachedTranslation.engine == engine_id,
                CachedTranslation.text_hash.in_(set(hashes)),
            )
        ).all()
    )
    todo = [i for i, h in enumerate(hashes) if h not in cached]
    metrics.TRANSLATION_CACHE_HITS.inc(len(texts) - len(todo))
    metrics.TRANSLATION_CACHE_MISSES.inc(len(todo))
    unique_todo = list({hashes[i]: i for i in todo}.values())
    if unique_todo:
        with metrics.TRANSLATION_SECONDS.labels(route=route.coverage).time():
            fresh = _translate_masked(route, [masked[i] for i in unique_todo])
        new_rows = {hashes[i]: text for i, text in zip(unique_todo, fresh, strict=True)}
        _store(session, src, tgt, engine_id, new_rows)
    else:
        new_rows = {}
    results = []
    for i, m in enumerate(masked):
        hit = hashes[i] in cached
        translated = cached[hashes[i]] if hit else new_rows[hashes[i]]
        restored = restore(translated, m, tgt)
        if restored is None:  # a cache row from another placeholder scheme: translate again
            restored = restore(_translate_masked(route, [m])[0], m, tgt)
        if restored is None:  # never a translation that lost a name or a link
            reason = "The translation could not keep every name, link and number intact."
            results.append(TranslationResult(None, src, tgt, "unavailable", reason=reason))
            continue
        results.append(TranslationResult(restored, src, tgt, "translated", engine_id, hit))
    return results


def _store(session: Session, src: str, tgt: str, engine_id: str, rows: dict[str, str]) -> None:
    values = [
        {"source": src, "target": tgt, "engine": engine_id, "text_hash": h, "translated": t}
        for h, t in rows.items()
    ]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # Two workers may translate the same text at once: the first row wins, both are right.
    # executemany, not one multi-row VALUES: measured ~8x cheaper for a few hundred rows.
    session.execute(insert(CachedTranslation).on_conflict_do_nothing(), values)


def cache_text_hash(text: str, protection: Protection | None = None) -> str:
    """The cache's `text_hash` for `text`, as `translate` computes it: how records deletion
    finds the cache rows a family's messages left behind."""
    return _hash(mask(normalize(text), protection).text)


def glossary(session: Session, school_id: int) -> list[GlossaryEntry]:
    return [
        GlossaryEntry(g.term, {mt_code(k): v for k, v in g.renderings.items()}, g.keep)
        for g in session.scalars(select(GlossaryTerm).where(GlossaryTerm.school_id == school_id))
    ]


# A school's glossary: the same rules for the API and the admin pages --------------------------


def glossary_terms(session: Session, subject: AuthSubject, school_id: int) -> list[GlossaryTerm]:
    schools.get_school(session, subject, school_id)
    return list(
        session.scalars(
            select(GlossaryTerm)
            .where(GlossaryTerm.school_id == school_id)
            .order_by(GlossaryTerm.term)
        )
    )


def add_glossary_term(
    session: Session, subject: AuthSubject, school_id: int, data: GlossaryTermCreate
) -> GlossaryTerm:
    schools.get_school(session, subject, school_id)
    subject.require_role("admin", "change the glossary")
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
    return row


def delete_glossary_term(
    session: Session, subject: AuthSubject, school_id: int, term_id: int
) -> None:
    schools.get_school(session, subject, school_id)
    subject.require_role("admin", "change the glossary")
    row = session.get(GlossaryTerm, term_id)
    if row is None or row.school_id != school_id:
        raise NotFound("No such glossary term.")
    audit.record(
        session, subject.actor, "glossary.delete", "glossary_term", row.id, school_id=school_id
    )
    session.delete(row)
    session.flush()
