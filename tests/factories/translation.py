"""The translation cache and a school's glossary."""

import hashlib

import factory

from app.translation.models import (
    CachedTranslation,
    GlossaryTerm,
    HumanTranslation,
    LanguageEngine,
)
from tests.factories.base import NOTE, NOTE_IN, Base
from tests.factories.schools import SchoolFactory


class CachedTranslationFactory(Base):
    class Meta:
        model = CachedTranslation

    source = "en"
    target = "es"
    engine = factory.LazyAttribute(lambda o: f"argos:{o.source}-{o.target}@0.1.0")
    text_hash = factory.Sequence(lambda n: hashlib.sha256(f"{NOTE} {n}".encode()).hexdigest())
    translated = NOTE_IN["es"]
    quality_level = "good"
    quality_score = 0.82
    quality_reasons = factory.LazyFunction(list)


class GlossaryTermFactory(Base):
    """A school's fixed wording: "Día de Muertos" kept as written unless renderings say."""

    class Meta:
        model = GlossaryTerm

    school_id = factory.LazyAttribute(lambda o: o.school.id)
    term = factory.Sequence(lambda n: f"Family Night {n}")
    keep = False
    renderings = factory.LazyFunction(
        lambda: {"es": "Noche Familiar", "vi": "Đêm Gia Đình", "zh": "家庭之夜"}
    )

    class Params:
        school = factory.SubFactory(SchoolFactory)


class LanguageEngineFactory(Base):
    """An admin's choice: the multilingual model for Korean, where the old Argos one is weak."""

    class Meta:
        model = LanguageEngine

    language = factory.Iterator(["ko", "uk", "ar", "fa", "ru", "pt"])
    engine = "multilingual"


class HumanTranslationFactory(Base):
    """An interpreter's Hmong text, remembered for the same note later."""

    class Meta:
        model = HumanTranslation

    source = "en"
    target = "hmn"
    text_hash = factory.Sequence(lambda n: hashlib.sha256(f"{NOTE} {n}".encode()).hexdigest())
    translated = "Hnub Friday yuav mus kawm sab nraud."
