"""The quality signal: its parts as pure functions, then on the real tiny models (correct on
their held-out sentences, nonsense on everything else)."""

import csv
from pathlib import Path

import pytest

from app.translation import quality, service
from app.translation.protect import Protection
from app.translation.quality import assess, negated, repeats, structural_reasons

OUT_OF_DOMAIN = Path(__file__).parent / "data" / "out_of_domain.tsv"
GOOD_MODEL = -0.07  # what the tiny models give the sentences they know
UNSURE_MODEL = -0.6


def test_a_confident_model_and_an_exact_round_trip_are_good():
    q = assess(
        "School is closed on Monday.",
        "La escuela está cerrada el lunes.",
        "en",
        "es",
        model=GOOD_MODEL,
        back="School is closed on Monday.",
    )
    assert (q.level, q.reasons) == ("good", [])
    assert q.score > 0.9


def test_a_round_trip_that_says_something_else_is_flagged_with_its_reason():
    q = assess(
        "My son is allergic to peanuts.",
        "Mi hijo está en el miércoles.",
        "en",
        "es",
        model=UNSURE_MODEL,
        back="My son is on Wednesday.",
    )
    assert q.level in ("check", "poor")
    assert "round_trip_differs" in q.reasons and "model_unsure" in q.reasons
    assert all(message for message in q.messages)


def test_without_a_way_back_only_a_very_confident_model_is_good():
    sure = assess("Thank you.", "Gracias.", "en", "es", model=GOOD_MODEL, back=None)
    fairly = assess("Thank you.", "Gracias.", "en", "es", model=-0.3, back=None)
    assert sure.level == "good" and "no_round_trip" in sure.reasons
    assert fairly.level == "check"
    assert sure.score <= 0.68  # less evidence, never as sure as with a round trip


@pytest.mark.parametrize(
    ("source", "translation", "reason"),
    [
        # The example that started it: emoji that became a word ("No").
        ("<x1> was absent today. 🎉👏", "<x1> estuvo ausente hoy. No", "words_invented"),
        ("<x1> was absent today. 🎉👏", "<x1> estuvo ausente hoy. No", "emoji_changed"),
        ("Bring 2 pencils.", "Traiga 3 lápices.", "numbers_changed"),
        ("The bus is late today.", "The bus is late today.", "copied_source"),
        ("Thank you.", "Gracias gracias gracias gracias.", "repetition"),
        ("Is there school tomorrow?", "Hay clases mañana.", "question_changed"),
        ("There is no school on Monday.", "Hay clases el lunes.", "negation_changed"),
        ("School is closed. Bring lunch.", "La escuela está cerrada.", "sentence_count"),
        ("Please bring the signed form on Friday.", "Sí.", "length_mismatch"),
    ],
)
def test_structural_checks_name_what_broke(source, translation, reason):
    assert reason in structural_reasons(source, translation, "en", "es")
    q = assess(source, translation, "en", "es", model=GOOD_MODEL, back=source)
    assert q.level != "good" and reason in q.reasons


def test_severe_structural_reasons_make_it_poor_whatever_the_scores():
    q = assess("Bring 2 pencils.", "Traiga 3 lápices.", "en", "es", model=-0.01, back="x")
    assert q.level == "poor"


def test_structural_checks_leave_correct_translations_alone():
    pairs = [
        ("Sorry, I will be late.", "对不起，我会迟到。", "en", "zh"),  # 对不起 says no "not"
        ("Is there school tomorrow?", "明天上课吗？", "en", "zh"),
        ("Cháu có khỏe không?", "Is my child well?", "vi", "en"),  # "không?" asks
        ("I do not understand.", "No entiendo.", "en", "es"),
        ("I don't understand.", "Tôi không hiểu.", "en", "vi"),
        ("<x1> will be late tomorrow.", "<x1>明天会迟到。", "en", "zh"),
        ("Thank you 🙏", "Gracias 🙏", "en", "es"),
        ("We miss you!! ❤️❤️", "¡¡Te extrañamos!! ❤️❤️", "en", "es"),
    ]
    for source, translation, src, tgt in pairs:
        assert structural_reasons(source, translation, src, tgt) == [], (source, translation)


def test_negation_and_repetition_helpers():
    assert negated("I can't come.", "en") and negated("No puedo ir.", "es")
    assert not negated("Cảm ơn cô, cháu có đi học không?", "vi")
    assert negated("我去不了。", "zh") and not negated("不好意思。", "zh")
    assert negated("Bonjour", "so") is None  # no word list: not judged
    assert repeats("el el el lunes") and repeats("星期星期星期") and not repeats("Muy muy bien")


def test_only_spans_is_good():
    q = assess("<x1> <x2>", "<x1> <x2>", "en", "es", model=None, back="<x1> <x2>")
    assert (q.level, q.score) == ("good", 1.0)


def test_notes_from_translating_are_reasons():
    q = assess(
        "<x1> is here.",
        "<x1> está aquí.",
        "en",
        "es",
        model=GOOD_MODEL,
        back="<x1> is here.",
        notes=["spans_lost"],
    )
    assert q.level == "check" and q.reasons[0] == "spans_lost"


# On the real tiny models --------------------------------------------------------------------

DIRECTIONS = [("en", "es"), ("en", "vi"), ("en", "zh"), ("es", "en"), ("vi", "en"), ("zh", "en")]


@pytest.mark.parametrize(("source", "target"), DIRECTIONS)
def test_held_out_sentences_are_good(session, argos_models, heldout, source, target):
    protection = Protection(names=["Sofía"])
    texts = [row[source].replace("<x1>", "Sofía") for row in heldout]
    results = service.translate(session, texts, source, target, protection=protection)
    flagged = [
        (t, r.text, r.quality) for t, r in zip(texts, results, strict=True) if r.quality.flagged
    ]
    assert not flagged
    assert all(r.origin == "mt" for r in results)


@pytest.mark.parametrize(("source", "target"), DIRECTIONS)
def test_nonsense_is_flagged_with_reasons(session, argos_models, source, target):
    with OUT_OF_DOMAIN.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    texts = [r[source] for r in rows if r["kind"] not in ("emoji", "short")]
    results = service.translate(session, texts, source, target)
    flagged = [r for r in results if r.quality.flagged]
    assert len(flagged) >= 0.9 * len(texts)
    assert all(r.quality.reasons for r in flagged)
    assert all(set(r.quality.reasons) <= set(quality.REASONS) for r in results)


def test_cached_results_keep_their_quality(session, argos_models):
    text = "My daughter is allergic to eggs and peanuts."
    first = service.translate(session, [text], "en", "es")[0]
    second = service.translate(session, [text], "en", "es")[0]
    assert (first.origin, second.origin) == ("mt", "cache")
    assert second.quality == first.quality and first.quality.flagged


def test_a_cache_row_from_before_quality_is_translated_again(session, argos_models):
    from sqlalchemy import select, update

    from app.translation.models import CachedTranslation

    text = "Picture day is on Friday."
    service.translate(session, [text], "en", "vi")
    key = service.cache_text_hash(text)
    session.execute(
        update(CachedTranslation)
        .where(CachedTranslation.text_hash == key)
        .values(quality_level=None, quality_score=None, quality_reasons=None)
    )
    service.forget_recent()  # as a process started after the upgrade: nothing in memory
    again = service.translate(session, [text], "en", "vi")[0]
    assert again.origin == "mt" and again.quality.level == "good"
    row = session.scalars(select(CachedTranslation).where(CachedTranslation.text_hash == key)).one()
    assert row.quality_level == "good" and row.quality_reasons == []
