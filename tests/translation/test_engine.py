"""Real Argos packages, real CTranslate2, no network, no torch."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.translation import service
from app.translation.argos import engine
from app.translation.protect import GlossaryEntry, Protection

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("source", "target"),
    [("en", "es"), ("es", "en"), ("en", "vi"), ("vi", "en"), ("en", "zh"), ("zh", "en")],
)
def test_heldout_sentences_translate_exactly(session, argos_models, heldout, source, target):
    rows = [r for r in heldout if "<x" not in r[source]]
    results = service.translate(session, [r[source] for r in rows], source, target)
    assert all(r.status == "translated" for r in results)
    assert all(r.engine == f"argos:{source}-{target}@0.1.0" for r in results)
    exact = [res.text == row[target] for res, row in zip(results, rows, strict=True)]
    assert sum(exact) == len(rows), [
        (row[source], res.text) for res, row, ok in zip(results, rows, exact, strict=True) if not ok
    ]


def test_spanish_to_vietnamese_goes_through_english(session, argos_models, heldout):
    route = service.find_route("es-MX", "vi")
    assert route.coverage == "pivot"
    assert [(h.source, h.target) for h in route.hops] == [("es", "en"), ("en", "vi")]
    rows = [r for r in heldout if "<x" not in r["es"]][:8]
    results = service.translate(session, [r["es"] for r in rows], "es", "vi")
    assert results[0].engine == "argos:es-en@0.1.0+argos:en-vi@0.1.0"
    assert [r.text for r in results] == [r["vi"] for r in rows]


def test_tags_are_normalized_before_routing(argos_models):
    assert service.find_route("en-US", "es-MX").coverage == "direct"
    assert service.find_route("en", "zh-Hans").coverage == "direct"
    assert service.find_route("zh-CN", "en").coverage == "direct"
    assert service.find_route("pt-BR", "pt").coverage == "same"


def test_same_language_is_not_translated(session, argos_models):
    result = service.translate(session, ["Hola"], "es-MX", "es")[0]
    assert (result.status, result.text, result.engine) == ("same_language", "Hola", None)


def test_no_route_is_unavailable_with_a_reason(session, argos_models):
    result = service.translate(session, ["School is closed on Monday."], "en", "so")[0]
    assert result.status == "unavailable"
    assert result.text is None
    assert "Somali" in result.reason and "hearth models install so" in result.reason


def test_name_url_time_and_glossary_term_survive(session, argos_models):
    protection = Protection(
        names=["Sofía García", "Sofía", "García"],
        glossary=[GlossaryEntry("Family Center", {"es": "Centro Familiar"})],
    )
    note = (
        "Sofía will be absent on Tuesday. Dismissal is at 1:30 pm on Friday. "
        "Visit https://riverside.example.org/news?id=7 for more information. "
        "The meeting is in room Family Center."
    )
    result = service.translate(session, [note], "en", "es", protection=protection)[0]
    assert result.status == "translated"
    assert "Sofía" in result.text
    assert "1:30 pm" in result.text
    assert "https://riverside.example.org/news?id=7" in result.text
    assert "Centro Familiar" in result.text and "Family Center" not in result.text
    assert result.text.startswith("Sofía va a faltar el martes.")


@pytest.mark.parametrize(
    "text",
    [
        "Grandma Lucía Fernández will bring the permission slip, see https://x.example.org/a-b",
        "Bring 3 apples and call 512-555-0188 before 7:45 am, Lucía Fernández",
        "Lucía Fernández https://x.example.org/q 9/14",
    ],
)
def test_spans_survive_out_of_domain_text(session, argos_models, text):
    """The tiny models know nothing outside their corpus: whatever they make of the words,
    the names, links, numbers and times must come through."""
    protection = Protection(names=["Lucía Fernández", "Lucía", "Fernández"])
    for target in ("es", "vi", "zh"):
        out = service.translate(session, [text], "en", target, protection=protection)[0].text
        for span in (
            "Lucía Fernández",
            "https://x.example.org/a-b",
            "512-555-0188",
            "7:45 am",
            "https://x.example.org/q",
            "9/14",
            "3",
        ):
            if span in text:
                assert out.count(span) >= text.count(span), (target, span, out)


def test_second_identical_request_is_a_cache_hit_that_loads_no_model(session, argos_models):
    text = "Picture day is on Thursday."
    first = service.translate(session, [text], "en", "vi")[0]
    assert first.status == "translated" and not first.cached
    engine.reset()  # forget every loaded model
    second = service.translate(session, [text], "en", "vi")[0]
    assert second.cached
    assert second.text == first.text
    assert engine.loaded_count() == 0


def test_one_model_call_for_many_texts(session, argos_models, monkeypatch):
    calls = []
    forward, back = engine.translate_scored, engine.translate_greedy

    def counting(original):
        def call(texts, source, target):
            calls.append((source, target, len(texts)))
            return original(texts, source, target)

        return call

    monkeypatch.setattr(engine, "translate_scored", counting(forward))
    monkeypatch.setattr(engine, "translate_greedy", counting(back))
    texts = ["School is closed on Friday.", "Thank you.", "School is closed on Friday."]
    results = service.translate(session, texts, "en", "es")
    # Duplicates translated once, all in one batch; their round trip in one more.
    assert calls == [("en", "es", 2), ("es", "en", 2)]
    assert results[0].text == results[2].text


def test_translating_imports_no_torch_and_needs_no_network(tmp_path, argos_models):
    script = textwrap.dedent(f"""
        import socket, sys
        def refuse(*a, **k):
            raise OSError("network is off in this test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from app.core import migrations
        migrations.upgrade()
        from app.core.db import get_sessionmaker
        from app.translation import packages, service
        folder = __import__("pathlib").Path({str(ROOT / "tests/fixtures/argos/packages")!r})
        for path in sorted(folder.glob("*.argosmodel")):
            packages.install_file(path)
        with get_sessionmaker()() as session:
            r = service.translate(session, ["School is closed on Monday."], "en", "es")[0]
        print(r.text)
        print("torch" in sys.modules, "stanza" in sys.modules)
    """)
    env = {**os.environ, "HEARTH_DATA_DIR": str(tmp_path), "HEARTH_DATABASE_URL": ""}
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-2] == "La escuela está cerrada el lunes."
    assert lines[-1] == "False False"


def test_text_that_looks_like_a_placeholder_is_kept(session, argos_models):
    result = service.translate(session, ["Type <x1> in the box."], "en", "es")[0]
    assert result.status == "translated" and "<x1>" in result.text


@pytest.mark.parametrize("target", ["es", "vi", "zh"])
def test_a_time_at_the_end_of_a_sentence_keeps_one_period(session, argos_models, target):
    result = service.translate(session, ["There is a meeting tomorrow at 3:30 PM."], "en", target)[
        0
    ]
    assert "3:30 PM" in result.text and ".." not in result.text
    assert result.quality.level == "good"
    if target == "es":
        assert result.text == "Hay una reunión mañana a las 3:30 PM."


def test_a_time_inside_a_sentence_keeps_its_periods():
    from app.translation.protect import mask

    assert [s.text for s in mask("Come at 3 p.m. today.").spans] == ["3 p.m."]
    assert [s.text for s in mask("Come at 3 p.m. Bring lunch.").spans] == ["3 p.m"]
    assert mask("There is a meeting tomorrow at 3:30 PM.").text.endswith("at <x1>.")


@pytest.mark.parametrize(
    ("target", "rendering"), [("es", "feria del libro"), ("vi", "hội sách"), ("zh", "书展")]
)
def test_a_glossary_term_translates_as_well_as_the_sentence_without_it(
    session, argos_models, target, rendering
):
    """ "book fair" used to become a placeholder, and "The <x1> starts on Monday." is a
    sentence the model never saw: it made nonsense of a sentence it knows."""
    text = "The book fair starts on Monday."  # a held-out corpus row
    plain = service.translate(session, [text], "en", target)[0]
    glossary = Protection(glossary=[GlossaryEntry("book fair", {target: rendering})])
    with_term = service.translate(session, [text], "en", target, protection=glossary)[0]
    assert with_term.text == plain.text
    assert rendering.casefold() in with_term.text.casefold()
    assert with_term.quality.level == "good"


def test_a_glossary_rendering_replaces_the_models_own_words(session, argos_models):
    glossary = Protection(glossary=[GlossaryEntry("book fair", {"es": "Feria de Libros"})])
    result = service.translate(
        session, ["The book fair starts on Monday."], "en", "es", protection=glossary
    )[0]
    assert result.text == "La Feria de Libros empieza el lunes."
    assert result.quality.level == "good"


def test_a_glossary_rendering_that_cannot_be_placed_is_said_so(session, argos_models):
    """The school's wording is nothing like the model's: the sentence stays right and the
    translation is marked for a look, rather than made nonsense around a placeholder."""
    glossary = Protection(glossary=[GlossaryEntry("book fair", {"es": "Scholastic"})])
    text = "The book fair starts on Friday."
    first = service.translate(session, [text], "en", "es", protection=glossary)[0]
    assert first.text == "La feria del libro empieza el viernes."
    assert first.quality.level == "check" and "glossary_unplaced" in first.quality.reasons
    again = service.translate(session, [text], "en", "es", protection=glossary)[0]
    assert (again.text, again.origin, again.quality) == (first.text, "cache", first.quality)


def test_names_next_to_chinese_characters_are_protected(session, argos_models):
    protection = Protection(names=["Sofía"])
    result = service.translate(session, ["Sofía明天会迟到。"], "zh", "en", protection=protection)[0]
    assert result.text == "Sofía will be late tomorrow."
    assert result.quality.level == "good"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("es", "Sofía estuvo ausente hoy. 🎉👏"),
        ("vi", "Sofía đã vắng mặt hôm nay. 🎉👏"),
        ("zh", "Sofía今天缺席了。🎉👏"),
    ],
)
def test_emoji_stay_out_of_the_model(session, argos_models, target, expected):
    """They used to come back as an invented word: "Sofía was absent today. 🎉👏" → "… No"."""
    protection = Protection(names=["Sofía"])
    text = "Sofía was absent today. 🎉👏"
    result = service.translate(session, [text], "en", target, protection=protection)[0]
    assert result.text == expected
    assert result.quality.level == "good"


def test_scores_cost_nothing_to_the_text(argos_models, heldout):
    texts = [row["en"] for row in heldout if "<x" not in row["en"]]
    scored = engine.translate_scored(texts, "en", "es")
    assert [s.text for s in scored] == engine.translate(texts, "en", "es")
    assert all(s.tokens > 0 and -0.2 < s.mean_log_prob < 0 for s in scored)
    nonsense = engine.translate_scored(["My son is allergic to peanuts."], "en", "es")[0]
    assert nonsense.mean_log_prob < -0.2
