"""Hearth's own texts (STOP, START, HELP, the reply footer, the translator notice) come from
the same catalogs; `_confirm` falls back to machine translation, then English."""

import pytest

from app.channels import sms
from app.delivery import system_texts
from app.messaging import identity, system_replies
from app.notices import catalogs
from tests.factories import SchoolFactory

SCHOOL = "Riverside Elementary"
KEYS = sorted(system_texts.TEXTS)


def test_spanish_stop_and_start_keep_their_wording():
    stop = system_texts.system_text("stop_confirmed", "es", school=SCHOOL)
    assert stop is not None and stop.startswith("Ya no recibirá mensajes de Riverside Elementary.")
    start = system_texts.system_text("start_confirmed", "es-MX", school=SCHOOL)
    assert start is not None and start.startswith("Volverá a recibir mensajes")


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("es", "Puede responder en cualquier idioma."),
        ("vi", "Quý vị có thể trả lời bằng bất kỳ ngôn ngữ nào."),
        ("zh", "您可以用任何语言回复。"),
        ("ar", "يمكنكم الرد بأي لغة."),
    ],
)
def test_reply_invitation_in_the_families_languages(session, language, words):
    assert identity.family_line(session, identity.REPLY_INVITATION, language) == words


@pytest.mark.parametrize(
    "language", ["es", "vi", "zh", "zh-CN", "ar", *sorted(catalogs.shipped_locales())]
)
@pytest.mark.parametrize("key", KEYS)
def test_every_system_text_in_every_catalog_language(key, language):
    fields = {"school": SCHOOL, "contact": "office@riverside.example.org"}
    text = system_texts.system_text(key, language, **fields)
    english = system_texts.english_text(key, **fields)
    assert text and text != english and "%(" not in text
    for name, value in fields.items():
        if f"%({name})s" in system_texts.TEXTS[key]:
            assert value in text
    if key != "help_reply" and "STOP" in english:
        assert "STOP" in text  # the carrier keyword stays English


def test_help_names_the_school_and_its_contact():
    text = system_texts.system_text("help_reply", "ar", school=SCHOOL, contact="+15125550100")
    assert text == (
        "رسائل من مدرسة طفلكم Riverside Elementary. للاستفسار: +15125550100. أرسلوا STOP للإيقاف."
    )


@pytest.mark.parametrize("language", ["hmn", "sw", "zh-Hant", "tl"])
def test_no_catalog_no_text(language):
    assert system_texts.system_text("stop_confirmed", language, school=SCHOOL) is None


def test_english_is_the_source():
    assert system_texts.system_text("translator_will_help", "en-US") == (
        "You can reply in your own language. A translator will help the school read it."
    )


class _Phone:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def send(self, sender, to, body, callback):
        self.texts.append(body)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("so", "Mar dambe fariimo kama heli doontid Riverside Elementary."),  # a catalog
        ("es-MX", "Ya no recibirá mensajes de Riverside Elementary."),
        # no catalog and no model: English, never nothing
        ("hmn", "You will no longer receive texts from Riverside Elementary."),
    ],
)
def test_confirm_uses_the_catalog_else_english(session, monkeypatch, language, expected):
    phone = _Phone()
    monkeypatch.setattr(sms, "sms_channel", lambda: phone)
    school = SchoolFactory(name=SCHOOL)
    send = system_replies.confirm(
        session, school, "+15125552001", system_texts.STOP_CONFIRMED, language
    )
    send()
    assert phone.texts[0].startswith(expected)
