"""The phrasebook of short family replies: its catalogs (complete, compiled, current), its
lookup, and `translate(..., short_replies=True)`."""

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from app.translation import phrasebook, service
from app.translation.phrasebook import PHRASES, find, lookup

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"
REQUIRED = {"es", "vi", "zh_Hans", "ar", "pt", "ht", "so", "fr", "ko", "ru", "hmn"}
PO_LOCALES = sorted(p.parent.parent.name for p in LOCALES.glob("*/LC_MESSAGES/phrases.po"))


def _po(locale: str):
    with (LOCALES / locale / "LC_MESSAGES" / "phrases.po").open("rb") as fp:
        return read_po(fp)


def test_every_language_has_a_phrasebook():
    assert set(PO_LOCALES) >= REQUIRED
    assert set(phrasebook.phrases()) >= {"en", "es", "vi", "zh", "ar", "pt", "ht", "so", "hmn"}


def test_committed_pot_is_current():
    extracted = {
        message
        for _, message, _, _ in extract_from_file(
            "python", ROOT / "app/translation/phrasebook.py", keywords={"N_": None}
        )
    }
    with (LOCALES / "phrases.pot").open("rb") as fp:
        pot = {m.id for m in read_po(fp) if m.id}
    assert extracted == pot == set(PHRASES), "locales/phrases.pot is out of date: make catalogs"


@pytest.mark.parametrize("locale", PO_LOCALES)
def test_catalog_is_compiled_has_every_phrase_and_nothing_fuzzy(locale):
    po = _po(locale)
    with (LOCALES / locale / "LC_MESSAGES" / "phrases.mo").open("rb") as fp:
        mo = read_mo(fp)
    assert {m.id for m in po if m.id} == set(PHRASES)
    assert not [m.id for m in po if m.id and m.fuzzy]
    stale = [m.id for m in po if m.id and (mo.get(m.id) is None) != (not m.string)]
    stale += [m.id for m in po if m.id and m.string and mo[m.id].string != m.string]
    assert stale == [], f"run `make catalogs`: {locale} phrases.mo is not phrases.po"
    # The common replies are there in every language.
    for phrase in ("Yes", "No", "OK", "Thank you"):
        assert po[phrase].string, (locale, phrase)


def test_hmong_entries_not_checked_by_a_native_speaker_say_so():
    po = _po("hmn")
    unsure = [m.id for m in po if m.id and "needs review by a native speaker" in m.user_comments]
    assert "Yes" in unsure and "Thank you" not in unsure


@pytest.mark.parametrize("locale", PO_LOCALES)
def test_each_phrase_is_found_again_from_its_own_words(locale):
    code = "zh" if locale == "zh_Hans" else locale
    for phrase, ways in phrasebook.phrases()[code].items():
        for way in ways:
            found = find(way, code)
            # Two phrases written alike ("Bonjour": Hello, Good morning) mean the first.
            assert found == phrase or PHRASES.index(found) < PHRASES.index(phrase), (way, found)


@pytest.mark.parametrize(
    ("text", "source", "target", "expected"),
    [
        ("sí", "es", "en", "Yes"),
        ("Si!!", "es-MX", "en", "Yes"),
        ("SIII", "es", "en", "Yes"),
        ("gracias 🙏", "es", "en", "Thank you 🙏"),
        ("¡Muchas gracias maestra!", "es", "en", "Thank you very much"),
        ("No entiendo.", "es", "en", "I don't understand"),
        ("Cảm ơn cô ạ", "vi", "en", "Thank you"),
        ("cam on co", "vi", "en", "Thank you"),  # no tones, but two syllables only one has
        ("Có", "vi", "en", "Yes"),
        ("co", "vi", "en", None),  # có, cô, cỏ, cơ...: not guessed
        ("好的，谢谢！", "zh-Hans", "en", "OK, thank you"),
        ("شكرًا", "ar", "en", "Thank you"),
        ("Спасибо!", "ru", "en", "Thank you"),
        ("네", "ko", "en", "Yes"),
        ("Mèsi anpil", "ht", "en", "Thank you very much"),
        ("Mahadsanid", "so", "en", "Thank you"),
        ("Ua tsaug", "hmn", "en", "Thank you"),
        ("ok thanks", "vi", "en", "OK, thank you"),  # English from a Vietnamese family
        ("Thank you!", "en", "es", "Gracias"),
        ("What time?", "en", "zh", "几点？"),
        ("Mi hijo está enfermo", "es", "en", None),
        ("👍", "es", "en", None),
        ("ok", "en", "xx", None),  # no phrasebook for the staff language
    ],
)
def test_lookup(text, source, target, expected):
    assert lookup(text, source, target) == expected


def test_long_texts_are_not_short_replies():
    assert lookup("Gracias " * 10, "es", "en") is None


def test_short_replies_come_from_the_phrasebook_when_asked(session, argos_models):
    result = service.translate(session, ["sí"], "es", "en", short_replies=True)[0]
    assert (result.text, result.status, result.origin) == ("Yes", "translated", "phrasebook")
    assert result.engine == "phrases" and result.quality is None
    # Without the flag the model translates it.
    plain = service.translate(session, ["sí"], "es", "en")[0]
    assert plain.origin == "mt"


def test_the_phrasebook_answers_where_no_model_is_installed(session, argos_models):
    result = service.translate(session, ["Mahadsanid"], "so", "en", short_replies=True)[0]
    assert (result.text, result.origin) == ("Thank you", "phrasebook")
    longer = service.translate(session, ["Wiilkayga waa jiran yahay"], "so", "en")[0]
    assert longer.status == "unavailable"


@pytest.mark.parametrize("text", ["👍🙏", "👍🏽", "3", "9/14", "❤️😊 !!"])
def test_emoji_and_numbers_pass_through_untranslated(session, argos_models, text):
    for source, target in [("es", "en"), ("en", "zh"), ("so", "en")]:
        result = service.translate(session, [text], source, target)[0]
        assert (result.text, result.status, result.origin) == (
            text,
            "same_language",
            "same_language",
        )
        assert result.reason and result.quality is None


def test_abbreviations_that_mean_no_elsewhere_are_not_ok():
    assert lookup("k", "vi", "en") is None  # Vietnamese texting: "k" is "không", no
    assert lookup("ko", "vi", "en") is None
