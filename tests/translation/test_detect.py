import pytest

from app.core.languages import mt_code
from app.translation.detect import detect
from app.translation.protect import Protection
from app.translation.service import written_language

SCHOOL = {"en", "es", "vi", "zh-Hans", "ar", "pt-BR", "ht", "so"}


@pytest.mark.parametrize(
    ("text", "preferred", "expected"),
    [
        ("Mi hijo está enfermo hoy", "en", "es"),
        ("Gracias maestra", "en", "es"),
        ("Sí, voy a ir", "vi", "es"),
        ("Cảm ơn cô", "en", "vi"),
        ("Con tôi bị ốm", "es", "vi"),
        ("谢谢", "en", "zh"),
        ("我明天去学校", "es", "zh"),
        ("شكرا جزيلا", "en", "ar"),
        ("Obrigado pela mensagem", "es", "pt"),
    ],
)
def test_short_replies_are_detected(text, preferred, expected):
    assert detect(text, preferred, SCHOOL).language == expected


@pytest.mark.parametrize(
    ("text", "preferred"),
    [("ok", "es"), ("ok", "vi"), ("OK 👍", "zh-Hans"), ("k", "so"), ("gracias", "es")],
)
def test_too_short_to_tell_falls_back_to_the_guardians_language(text, preferred):
    detection = detect(text, preferred, SCHOOL)
    assert detection.language == mt_code(preferred)
    if text.lower().startswith("ok") or text == "k":
        assert detection.method == "preferred_language"


def test_only_the_schools_languages_are_candidates():
    # Italian is not spoken at this school: a Spanish-looking guess stays within the candidates.
    assert detect("Grazie mille per tutto", "es", {"en", "es"}).language in {"en", "es"}


@pytest.mark.parametrize(
    ("text", "preferred"),
    [
        ("Kuv tus me nyuam mob hnub no, nws yuav tsis tuaj kawm ntawv.", "hmn"),
        ("Wiilkaygu wuu xanuunsanayaa maanta, dugsiga ma imanayo.", "so"),
    ],
)
def test_a_language_statistics_cannot_recognize_stays_the_familys(text, preferred):
    assert detect(text, preferred, SCHOOL | {"hmn"}).language == preferred


@pytest.mark.parametrize(
    ("text", "writer", "expected"),
    [
        # A Spanish-speaking teacher's pages are in Spanish; the note may be in either.
        ("Sofía was absent today.", "es", "en"),
        ("Sofía faltó hoy a clase.", "es", "es"),
        ("Sofía faltó hoy a clase.", "en", "es"),
        ("Reminder: school is closed on Friday.", "es", "en"),
        ("ok", "es", "es"),  # nothing to tell: the writer's own language
        ("Thanks!", "en", "en"),
    ],
)
def test_a_staff_members_note_is_read_in_the_language_it_is_written_in(
    argos_models, text, writer, expected
):
    # The name is the family's, kept as written: it says nothing of the sentence around it.
    assert written_language(text, writer, Protection(names=["Sofía"])) == expected


def test_a_note_is_read_only_among_the_languages_translation_knows(argos_models):
    # The tiny test models know English, Spanish, Vietnamese and Chinese: no Portuguese.
    assert written_language("Obrigado pela mensagem de hoje.", "en") != "pt"
    assert written_language("Obrigado pela mensagem de hoje.", "pt") == "pt"
