"""Translating text offline: routing (same language, direct, English pivot, unavailable; the
engine per language, see engines.py), protected spans, the cache, and a school's glossary."""

import hashlib
import logging
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from sqlalchemy import Row, Select, Table, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.service import AuthSubject
from app.core import deferred, metrics
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Conflict, Invalid, NotFound
from app.core.languages import ENGLISH, display_names, mt_code
from app.schools import service as schools
from app.translation import detect, phrasebook, quality, recent
from app.translation.engines import CHOICES, Choice, Hop, best_hop, installed_languages
from app.translation.models import (
    CachedTranslation,
    GlossaryTerm,
    HumanTranslation,
    LanguageEngine,
)
from app.translation.protect import (
    PLACEHOLDER_RE,
    GlossaryEntry,
    Masked,
    Protection,
    has_letters,
    join_pieces,
    mask,
    place_terms,
    restore,
)
from app.translation.quality import Level, Quality
from app.translation.schemas import GlossaryTermCreate

log = logging.getLogger("hearth.translation")

Status = Literal["translated", "same_language", "unavailable"]
Coverage = Literal["same", "direct", "pivot", "none"]


@dataclass(frozen=True)
class Route:
    source: str
    target: str
    coverage: Coverage
    hops: tuple[Hop, ...] = ()
    choice: Choice = "auto"  # the engine an admin chose for the family's language

    @property
    def engine(self) -> str | None:
        return "+".join(h.engine for h in self.hops) or None

    @property
    def test_model(self) -> bool:
        """A model on the way was built for tests: not for families."""
        return any(h.test_model for h in self.hops)

    @property
    def reason(self) -> str | None:
        if self.coverage != "none":
            return None
        source_name, target_name = display_names(self.source)[0], display_names(self.target)[0]
        missing = self.target if self.source == ENGLISH else self.source
        return (
            f"No translation model from {source_name} to {target_name} is installed, "
            f"directly or through English (install one: hearth models install {missing}, an "
            "imported OPUS-MT pair or a multilingual model with hearth models install-file)."
        )


# Where a translation's text comes from: the model just now, the model earlier (the cache),
# people (a catalog or an interpreter; set by callers, never by `translate`), the phrasebook
# of short replies, or nowhere (the same language, or nothing to translate).
Origin = Literal["mt", "cache", "human", "phrasebook", "same_language"]

NOTHING_TO_TRANSLATE = "Only emoji, numbers or punctuation: nothing to translate."
HUMAN_ENGINE = "interpreter"  # the engine named on a translation a person wrote
SPANS_LOST = "The translation could not keep every name, link and number intact."


@dataclass(frozen=True)
class TranslationResult:
    text: str | None  # None when unavailable: never the original passed off as a translation
    source: str
    target: str
    status: Status
    engine: str | None = None
    cached: bool = False
    reason: str | None = None
    origin: Origin | None = None  # None when unavailable
    quality: Quality | None = None  # for machine translations (origin mt or cache)
    test_model: bool = False  # made by a model built for tests: not for families


TEST_MODEL = "test model — not for families"


class TestModelRefused(Conflict):
    code = "test_model"


def test_models_allowed() -> bool:
    """Outside production, or with HEARTH_ALLOW_TEST_MODELS=true."""
    settings = get_settings()
    return settings.env != "production" or settings.allow_test_models


def refuse_test_models(source: str, targets: Iterable[str]) -> None:
    """In production nothing is sent to families through a model built for tests, unless
    HEARTH_ALLOW_TEST_MODELS=true: refused before anything is saved, so the author keeps the
    text and loses nothing."""
    if test_models_allowed():
        return
    names = sorted(
        display_names(code)[0]
        for code in {mt_code(t) for t in targets}
        if find_route(source, code).test_model
    )
    if names:
        raise TestModelRefused(
            f"The translation model for {', '.join(names)} on this server is a test model, "
            "not for families: nothing was sent. Ask an administrator to install a real model "
            "(hearth models install), or to set HEARTH_ALLOW_TEST_MODELS=true."
        )


def find_route(source: str, target: str, choices: Mapping[str, str] | None = None) -> Route:
    """The one place a translation's way is decided: one model for the direction if there is
    one (engines.best_hop: Argos, an imported pair, the multilingual model), else two through
    English. `choices` are the admins' engine per language (engine_choices): the target's
    applies, else the source's."""
    src, tgt = mt_code(source), mt_code(target)
    if src == tgt:
        return Route(src, tgt, "same")
    choices = choices or {}
    choice: Choice = "auto"
    for code in (tgt, src):
        if choices.get(code) in CHOICES:
            choice = choices[code]  # type: ignore[assignment]
            break
    direct = best_hop(src, tgt, choice)
    if direct is not None:
        return Route(src, tgt, "direct", (direct,), choice)
    first, second = best_hop(src, ENGLISH, choice), best_hop(ENGLISH, tgt, choice)
    if first is not None and second is not None:
        return Route(src, tgt, "pivot", (first, second), choice)
    return Route(src, tgt, "none", (), choice)


def written_language(text: str, writer: str, protection: Protection | None = None) -> str:
    """The language a staff member wrote `text` in, detected among the languages the installed
    models translate; the writer's own (`writer`, their interface's) when the text does not say.
    Names, links and numbers are set aside first: "Sofía" says nothing of the sentence."""
    words = " ".join(mask(text, protection).pieces)
    found = detect.detect(words, writer, installed_languages() | {writer}).language
    return writer if found == mt_code(writer) else found


def engine_choices(session: Session) -> dict[str, str]:
    """The engine admins chose per language (the district's), by MT code."""
    found = dict(session.execute(select(LanguageEngine.language, LanguageEngine.engine)).all())
    recent.choices.put((), found)
    return found


def set_engine_choice(session: Session, subject: AuthSubject, tag: str, choice: str) -> str:
    """Choose the engine for one language, district-wide: `auto` (the default order),
    `argos` or `multilingual`. Returns the language's MT code."""
    subject.require_district_admin("choose translation engines")
    if choice not in CHOICES:
        raise Invalid(f"Choose the engine among {', '.join(CHOICES)}.")
    code = mt_code(tag)
    if not code.isalpha() or not 2 <= len(code) <= 3:
        raise Invalid("Give a language code, such as ko or uk.")
    if code == ENGLISH:
        raise Invalid("English is not translated: there is no engine to choose for it.")
    row = session.scalar(select(LanguageEngine).where(LanguageEngine.language == code))
    if choice == "auto":
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(LanguageEngine(language=code, engine=choice))
    else:
        row.engine = choice
    session.flush()
    audit.record(
        session, subject.actor, "language_engine.set", "language", code, details={"engine": choice}
    )
    recent.choices.clear()
    return code


def normalize(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _cache_key(masked: Masked) -> str:
    """The cache's `text_hash` of a masked text. Glossary terms are translated as written
    (see `_machine_translate`), so what the model saw, and said, depends on them."""
    terms = [span.text for _, span in masked.terms]
    return _hash("\x1f".join([masked.text, *terms]) if terms else masked.text)


@dataclass
class _Machine:
    """One fresh machine translation on its way: what the model was given and said, and
    what it said in the cache's form (placeholders for every span)."""

    masked: Masked
    said: str = ""
    model: float | None = None  # mean log-probability per token, the route's worst hop
    given: str = ""
    stored: str | None = None
    notes: list[str] = field(default_factory=list)  # reason codes the translating found
    # Made with the glossary terms as written when their wording could not be placed in it:
    # used instead if it is better than the translation with the terms as placeholders.
    unplaced: "_Machine | None" = None


def _run_scored(route: Route, texts: list[str]) -> list[tuple[str, float | None]]:
    """Translations with the model's confidence: the lowest of the hops (a confident second
    hop over a confused first one is no better than the first)."""
    worst: list[float | None] = [None] * len(texts)
    for hop in route.hops:
        scored = hop.translate_scored(texts)
        texts = [s.text for s in scored]
        for i, s in enumerate(scored):
            if s.tokens:  # else nothing went through the model (only emoji or spans)
                current = worst[i]
                worst[i] = s.mean_log_prob if current is None else min(current, s.mean_log_prob)
    return list(zip(texts, worst, strict=True))


def _machine_translate(route: Route, masked: list[Masked]) -> list[_Machine]:
    """Masked translations whose placeholders are exactly those of the input, with what the
    quality check needs.

    Glossary terms go to the model as written, not as placeholders: a model that knows
    "book fair" translates "The book fair starts on Monday." well and "The <x1> starts on
    Monday." badly. Their rendering in its output (the school's fixed text, the term as
    written, or the model's translation of the term alone) then becomes the term's
    placeholder. Where that fails, the term goes in as a placeholder after all; where the
    model lost or invented a placeholder, the pieces between the spans are translated on
    their own."""
    work = [_Machine(m) for m in masked]
    terms = sorted({span.text for m in masked for _, span in m.terms})
    inputs = [m.with_terms_as_written() if m.terms else m.text for m in masked]
    results = _run_scored(route, inputs + terms)
    texts, alone = results[: len(inputs)], results[len(inputs) :]
    own = {term: text for term, (text, _) in zip(terms, alone, strict=True)}
    as_placeholders = []
    for i, (item, given, (said, model)) in enumerate(zip(work, inputs, texts, strict=True)):
        item.given, item.said, item.model = given, said, model
        item.stored = (
            place_terms(said, item.masked, route.target, own) if item.masked.terms else said
        )
        if item.stored is None:
            as_placeholders.append(i)
            if restore(said, item.masked, route.target, terms_in_words=True) is not None:
                item.unplaced = _Machine(
                    item.masked, said, model, given, said, notes=["glossary_unplaced"]
                )
    if as_placeholders:
        again = _run_scored(route, [work[i].masked.text for i in as_placeholders])
        for i, (said, model) in zip(as_placeholders, again, strict=True):
            work[i].given, work[i].said, work[i].model = work[i].masked.text, said, model
            work[i].stored = said
    retry = [
        i for i, w in enumerate(work) if restore(w.stored or "", w.masked, route.target) is None
    ]
    if retry:
        _translate_pieces(route, [work[i] for i in retry])
        log.info(
            "placeholders lost in %d of %d texts; translated those piecewise",
            len(retry),
            len(masked),
        )
    return work


def _translate_pieces(route: Route, work: list[_Machine]) -> None:
    """The text between the spans translated on its own, the spans kept in place."""
    pieces = [(w, p) for w in work for p in w.masked.pieces]
    wordy = [p.strip() for _, p in pieces if has_letters(p)]
    done = iter(_run_scored(route, wordy) if wordy else [])
    by_text: dict[int, list[str]] = {id(w): [] for w in work}
    worst: dict[int, float | None] = {id(w): None for w in work}
    for w, original in pieces:
        if has_letters(original):
            said, model = next(done)
            # A piece had no placeholder: any in its translation were invented.
            clean = " ".join(PLACEHOLDER_RE.sub(" ", said).split())
            by_text[id(w)].append(_keep_spacing(original, clean))
            if model is not None:
                current = worst[id(w)]
                worst[id(w)] = model if current is None else min(current, model)
        else:  # punctuation and spaces between spans stay as written
            by_text[id(w)].append(original)
    for w in work:
        w.stored = join_pieces(by_text[id(w)], w.masked.placeholders)
        w.given, w.said, w.model = w.masked.text, w.stored, worst[id(w)]
        w.notes.append("spans_lost")


def _keep_spacing(original: str, translated: str) -> str:
    lead = original[: len(original) - len(original.lstrip())]
    trail = original[len(original.rstrip()) :]
    return f"{lead}{translated.strip()}{trail}"


def _assess(route: Route, work: list[_Machine]) -> list[tuple[_Machine, Quality]]:
    """Each fresh translation with its quality (the round trip in one batch per hop of the
    way back). Where a glossary term could not be placed, the better of the two ways."""
    candidates = [*work, *(w.unplaced for w in work if w.unplaced is not None)]
    back_route = find_route(
        route.target, route.source, {route.source: route.choice, route.target: route.choice}
    )
    backs: list[str | None] = [None] * len(candidates)
    if back_route.coverage in ("direct", "pivot"):
        texts = [c.said for c in candidates]
        for hop in back_route.hops:
            texts = hop.translate_back(texts)
        backs = list(texts)
    judged = {
        id(c): quality.assess(
            c.given, c.said, route.source, route.target, model=c.model, back=back, notes=c.notes
        )
        for c, back in zip(candidates, backs, strict=True)
    }
    out = []
    for w in work:
        chosen = w
        if w.unplaced is not None and judged[id(w.unplaced)].score > judged[id(w)].score:
            chosen = w.unplaced
        out.append((chosen, judged[id(chosen)]))
    return out


def translate(
    session: Session,
    texts: Sequence[str],
    source: str,
    target: str,
    *,
    protection: Protection | None = None,
    short_replies: bool = False,
    defer_store: bool = False,
    recent_reads: bool = False,
    school_id: int | None = None,
) -> list[TranslationResult]:
    """Translate every text from `source` to `target` with one model call per hop for all of
    the texts that are not already cached (and one more for the quality check's way back).
    Adds new cache rows to `session`. A text with nothing to translate (emoji, numbers) comes
    back as written. A text a person of `school_id` translated before gets their translation
    (translation memory is kept per school; with no school, none is used). With
    `short_replies`, a short reply the phrasebook knows ("sí", "gracias 🙏") is answered from
    it, not by the model. With `defer_store`, new cache rows
    are written later in a transaction of their own (app/core/deferred.py), not in `session`;
    with `recent_reads`, what this process read in the last `api_cache_seconds` serves instead
    of reading it again: the engine choices, and whether people translated anything in this
    direction (if not, translation memory is not searched for these texts)."""
    choices = recent.choices.get(()) if recent_reads else recent.MISSING
    if choices is recent.MISSING:
        choices = engine_choices(session)
    route = find_route(source, target, choices)
    src, tgt = route.source, route.target
    remembered = {}
    if (
        school_id is not None
        and route.coverage != "same"
        and (not recent_reads or people_translated(session, src, tgt))
    ):
        remembered = recalled(session, school_id, src, tgt, texts)
    results: list[TranslationResult | None] = [
        _settled(route, text, remembered.get(memory_text_hash(text)), short_replies, source, target)
        for text in texts
    ]
    todo = [i for i, r in enumerate(results) if r is None]
    if todo:
        machine = _translate_cached(
            session, route, [texts[i] for i in todo], protection, defer_store=defer_store
        )
        for i, result in zip(todo, machine, strict=True):
            results[i] = result
    return [r for r in results if r is not None]


def _settled(
    route: Route,
    text: str,
    human: str | None,
    short_replies: bool,
    source: str,
    target: str,
) -> TranslationResult | None:
    """The answer for a text that needs no machine translation, or None."""
    src, tgt = route.source, route.target
    if route.coverage == "same":
        return TranslationResult(text, src, tgt, "same_language", origin="same_language")
    if not has_letters(text):
        return TranslationResult(
            text, src, tgt, "same_language", reason=NOTHING_TO_TRANSLATE, origin="same_language"
        )
    if human is not None:
        # A person translated this very text before: theirs first, over any model.
        return TranslationResult(human, src, tgt, "translated", HUMAN_ENGINE, origin="human")
    if short_replies and (phrase := phrasebook.lookup(text, source, target)) is not None:
        return TranslationResult(
            phrase, src, tgt, "translated", phrasebook.DOMAIN, origin="phrasebook"
        )
    if route.coverage == "none":
        return TranslationResult(None, src, tgt, "unavailable", reason=route.reason)
    return None


def translate_from_memory(
    text: str,
    source: str,
    target: str,
    *,
    short_replies: bool = False,
    school_id: int | None = None,
) -> TranslationResult | None:
    """`translate` of one unprotected text from what this process remembers (recent.py),
    without the database or a model; None when something it needs is not there."""
    choices = recent.choices.get(())
    if choices is recent.MISSING:
        return None
    route = find_route(source, target, choices)
    src, tgt = route.source, route.target
    human = None
    if school_id is not None and route.coverage != "same" and has_letters(text):
        human = recent.people.get((school_id, src, tgt, memory_text_hash(text)))
        if human is recent.MISSING:
            if recent.people_directions.get((src, tgt)) is not False:
                return None
            human = None  # people translated nothing in this direction
    settled = _settled(route, text, human, short_replies, source, target)
    if settled is not None:
        return settled
    masked = mask(normalize(text), None)
    hit = recent.translations.get((src, tgt, route.engine or "", _cache_key(masked)))
    if hit is recent.MISSING:
        return None
    translated, judgement = hit
    restored = _restore(translated, masked, tgt, judgement)
    if restored is None:
        return None
    metrics.TRANSLATION_CACHE_HITS.inc()
    return TranslationResult(
        restored,
        src,
        tgt,
        "translated",
        route.engine,
        cached=True,
        origin="cache",
        quality=judgement,
        test_model=route.test_model,
    )


def _translate_cached(
    session: Session,
    route: Route,
    texts: list[str],
    protection: Protection | None,
    *,
    defer_store: bool = False,
) -> list[TranslationResult]:
    src, tgt = route.source, route.target
    engine_id = route.engine or ""
    masked = [mask(normalize(t), protection) for t in texts]
    hashes = [_cache_key(m) for m in masked]
    # This process's recent translations first: the same rows, without the database.
    cached: dict[str, tuple[str, Quality]] = {}
    for h in hashes:
        if (hit := recent.translations.get((src, tgt, engine_id, h))) is not recent.MISSING:
            cached[h] = hit
    asked = set(hashes) - set(cached)
    rows = _cache_rows(session, src, tgt, engine_id, asked) if asked else []
    # Rows from before quality was kept are translated again, and get their quality.
    for h, text, level, score, reasons in rows:
        if level is not None and score is not None:
            cached[h] = (text, Quality(cast(Level, level), score, list(reasons or [])))
            recent.translations.put((src, tgt, engine_id, h), cached[h])
    todo = [i for i, h in enumerate(hashes) if h not in cached]
    metrics.TRANSLATION_CACHE_HITS.inc(len(texts) - len(todo))
    metrics.TRANSLATION_CACHE_MISSES.inc(len(todo))
    unique_todo = list({hashes[i]: i for i in todo}.values())
    fresh: dict[str, tuple[str, Quality]] = {}
    if unique_todo:
        with metrics.TRANSLATION_SECONDS.labels(route=route.coverage).time():
            judged = _assess(route, _machine_translate(route, [masked[i] for i in unique_todo]))
        fresh = {
            hashes[i]: (w.stored or "", q) for i, (w, q) in zip(unique_todo, judged, strict=True)
        }
        for h, row in fresh.items():
            recent.translations.put((src, tgt, engine_id, h), row)
        if defer_store:
            _store_later(src, tgt, engine_id, fresh)
        else:
            _store(session, src, tgt, engine_id, fresh)
    results = []
    for i, m in enumerate(masked):
        hit = hashes[i] in cached
        translated, judgement = cached[hashes[i]] if hit else fresh[hashes[i]]
        restored = _restore(translated, m, tgt, judgement)
        if restored is None:  # a cache row from another placeholder scheme: translate again
            again, judgement = _assess(route, _machine_translate(route, [m]))[0]
            restored = _restore(again.stored or "", m, tgt, judgement)
        if restored is None:  # never a translation that lost a name or a link
            results.append(TranslationResult(None, src, tgt, "unavailable", reason=SPANS_LOST))
            continue
        results.append(
            TranslationResult(
                restored,
                src,
                tgt,
                "translated",
                engine_id,
                cached=hit,
                origin="cache" if hit else "mt",
                quality=judgement,
                test_model=route.test_model,
            )
        )
    return results


_CACHE = cast(Table, CachedTranslation.__table__)  # (typed as any FromClause)


def _cache_lookup(one: bool) -> Select[Any]:
    c = _CACHE.c
    return select(
        c.text_hash, c.translated, c.quality_level, c.quality_score, c.quality_reasons
    ).where(
        c.source == bindparam("src"),
        c.target == bindparam("tgt"),
        c.engine == bindparam("engine"),
        c.text_hash == bindparam("hashes")
        if one
        else c.text_hash.in_(bindparam("hashes", expanding=True)),
    )


# Built once: a Core query (the table's columns, not the mapped class's) for the translate
# API's one text, and one for many. Built for each lookup, the statement cost more than the
# rest of the read: a read session with the lookup took 0.36 ms of CPU, 0.20 ms with this.
_CACHE_LOOKUP_ONE, _CACHE_LOOKUP_MANY = _cache_lookup(True), _cache_lookup(False)


def _cache_rows(
    session: Session, src: str, tgt: str, engine_id: str, hashes: set[str]
) -> Sequence[Row[Any, Any, Any, Any, Any]]:
    """The cache's rows for these texts: (text_hash, translated, quality_level,
    quality_score, quality_reasons)."""
    one = len(hashes) == 1
    return session.execute(
        _CACHE_LOOKUP_ONE if one else _CACHE_LOOKUP_MANY,
        {
            "src": src,
            "tgt": tgt,
            "engine": engine_id,
            "hashes": next(iter(hashes)) if one else list(hashes),
        },
    ).all()


def _restore(translated: str, masked: Masked, target: str, judgement: Quality) -> str | None:
    terms_in_words = "glossary_unplaced" in judgement.reasons
    return restore(translated, masked, target, terms_in_words=terms_in_words)


# Fresh translations for the cache, by (source, target, engine), waiting for the next round of
# deferred writes: one statement per direction for all of them, not one per request.
_unstored: dict[tuple[str, str, str], dict[str, tuple[str, Quality]]] = {}
_unstored_lock = threading.Lock()


def _store_later(src: str, tgt: str, engine_id: str, rows: dict[str, tuple[str, Quality]]) -> None:
    with _unstored_lock:
        first = not _unstored
        _unstored.setdefault((src, tgt, engine_id), {}).update(rows)
    if first:  # else a deferred write is already on its way and will take these too
        deferred.write(_store_unstored)


def _store_unstored(session: Session) -> None:
    with _unstored_lock:
        waiting = dict(_unstored)
        _unstored.clear()
    for (src, tgt, engine_id), rows in waiting.items():
        _store(session, src, tgt, engine_id, rows)


def _store(
    session: Session, src: str, tgt: str, engine_id: str, rows: dict[str, tuple[str, Quality]]
) -> None:
    values = [
        {
            "source": src,
            "target": tgt,
            "engine": engine_id,
            "text_hash": h,
            "translated": text,
            "quality_level": judged.level,
            "quality_score": judged.score,
            "quality_reasons": judged.reasons,
        }
        for h, (text, judged) in rows.items()
    ]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(_CACHE)
    # Two workers may translate the same text at once: the first row wins, both are right.
    # A row from before quality was kept gets this translation and its quality.
    # executemany, not one multi-row VALUES: measured ~8x cheaper for a few hundred rows.
    # Core's, not the ORM's bulk insert: no objects come of it.
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["source", "target", "engine", "text_hash"],
            set_={
                "translated": statement.excluded.translated,
                "quality_level": statement.excluded.quality_level,
                "quality_score": statement.excluded.quality_score,
                "quality_reasons": statement.excluded.quality_reasons,
            },
            where=_CACHE.c.quality_level.is_(None),
        ),
        values,
    )


def recalled(
    session: Session, school_id: int, source: str, target: str, texts: Sequence[str]
) -> dict[str, str]:
    """Translation memory: the hash of each text a person of the school has translated →
    their text."""
    hashes = {memory_text_hash(t) for t in texts}
    src, tgt = mt_code(source), mt_code(target)
    found = dict(
        session.execute(
            select(HumanTranslation.text_hash, HumanTranslation.translated).where(
                HumanTranslation.school_id == school_id,
                HumanTranslation.source == src,
                HumanTranslation.target == tgt,
                HumanTranslation.text_hash.in_(hashes),
            )
        ).all()
    )
    for h in hashes:
        recent.people.put((school_id, src, tgt, h), found.get(h))
    return found


def people_translated(session: Session, source: str, target: str) -> bool:
    """Whether people translated anything from `source` to `target` (translation memory has
    a row for the direction, at any school), as this process read it in the last
    `api_cache_seconds`."""
    src, tgt = mt_code(source), mt_code(target)
    known = recent.people_directions.get((src, tgt))
    if known is recent.MISSING:
        known = bool(
            session.scalar(
                select(HumanTranslation.id)
                .where(HumanTranslation.source == src, HumanTranslation.target == tgt)
                .limit(1)
            )
        )
        recent.people_directions.put((src, tgt), known)
    return bool(known)


def remember(
    session: Session,
    school_id: int,
    source: str,
    target: str,
    text: str,
    translated: str,
    staff_id: int | None,
) -> None:
    """A person's translation of `text` for a school, used before the model whenever it comes
    again there (the newest person's wording wins)."""
    recent.people.pop((school_id, mt_code(source), mt_code(target), memory_text_hash(text)))
    recent.people_directions.pop((mt_code(source), mt_code(target)))
    values = {
        "school_id": school_id,
        "source": mt_code(source),
        "target": mt_code(target),
        "text_hash": memory_text_hash(text),
        "translated": translated,
        "staff_id": staff_id,
        "created_at": utcnow(),
    }
    dialect = session.get_bind().dialect.name
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(HumanTranslation)
    session.execute(
        statement.values(values).on_conflict_do_update(
            index_elements=["school_id", "source", "target", "text_hash"],
            set_={k: statement.excluded[k] for k in ("translated", "staff_id", "created_at")},
        )
    )


def memory_text_hash(text: str) -> str:
    """Translation memory's `text_hash` for `text`: how records deletion finds what people
    translated of a family's messages."""
    return _hash(normalize(text))


def cache_text_hash(text: str, protection: Protection | None = None) -> str:
    """The cache's `text_hash` for `text`, as `translate` computes it: how records deletion
    finds the cache rows a family's messages left behind."""
    return _cache_key(mask(normalize(text), protection))


def forget_recent() -> None:
    """After cache rows or people's translations were deleted: nothing of them stays in this
    process's memory either, nor waits to be written again."""
    recent.forget()
    with _unstored_lock:
        _unstored.clear()


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
