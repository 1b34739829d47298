"""Every notice in every catalog language, within two text segments; English for machine
translation where no catalog has the language; bad parameters refused by name."""

import datetime as dt
import unicodedata

import pytest

from app.channels.segments import count_segments
from app.core.errors import Invalid
from app.notices import catalogs, service

TEMPLATES = service.list_templates()
LANGUAGES = sorted(catalogs.shipped_locales())
REQUIRED_TEMPLATES = {
    "early_dismissal",
    "school_closed",
    "event_reminder",
    "conference_invite",
    "absence_notice",
    "report_card_ready",
    "picture_day",
    "progress_note",
}
BIDI_CONTROLS = set("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def required_only(template: service.NoticeTemplate) -> dict:
    return {p.name: template.example[p.name] for p in template.params if p.required}


def test_the_templates_and_their_parameters():
    assert {t.name for t in TEMPLATES} >= REQUIRED_TEMPLATES
    for template in TEMPLATES:
        assert template.title and template.description
        for param in template.params:
            assert param.name and param.help
            assert param.type in ("text", "date", "time", "url", "number", "choice")
            assert param.required in (True, False)
        assert service.validate_params(template.name, dict(template.example))


def test_every_template_in_every_catalog_language():
    worst = (0, 0, "", "", "")
    for template in TEMPLATES:
        english = service.render(template.name, dict(template.example), "en")
        assert english.source == "human" and english.language == "en"
        for language in LANGUAGES:
            for params in (dict(template.example), required_only(template)):
                rendering = service.render(template.name, params, language)
                text = rendering.text
                assert rendering.source == "human", (template.name, language)
                assert rendering.language == language
                assert text and "%(" not in text and "{{" not in text
                assert text.encode("utf-8").decode("utf-8") == text
                assert text != service.render(template.name, params, "en").text
                for kept in rendering.protected:
                    assert kept in text, (template.name, language, kept)
                segments = count_segments(text)
                # Every notice with its required parameters fits two segments; optional
                # ones (a place, a link, how long) may take a third.
                limit = 2 if params == required_only(template) else 3
                assert segments.segments <= limit, (template.name, language, text)
                worst = max(
                    worst, (segments.segments, segments.units, template.name, language, text)
                )
    print(f"\nlongest notice: {worst[0]} segments, {worst[1]} units, {worst[2]} in {worst[3]}:")
    print(worst[4])


def test_spanish_comes_from_the_catalog():
    absence = service.render(
        "absence_notice",
        {"school_name": "Riverside Elementary", "student_name": "Mateo", "date": "2026-12-03"},
        "es-MX",
    )
    assert absence.source == "human" and absence.language == "es"
    assert absence.text == (
        "Riverside Elementary: Mateo faltó a la escuela el jueves, 3 de diciembre. "
        "Responda para decirnos el motivo, o si es un error."
    )
    assert absence.protected == ["Riverside Elementary", "Mateo", "jueves, 3 de diciembre"]

    meeting = service.render(
        "conference_invite",
        {
            "teacher_name": "Ana Rivera",
            "student_name": "Mateo",
            "date": "2026-12-03",
            "time": "15:15",
            "minutes": 20,
        },
        "es",
    )
    assert meeting.text == (
        "Ana Rivera quiere reunirse con usted para hablar de Mateo el jueves, 3 de diciembre, "
        "a las 15:15. La reunión dura unos 20 minutos. Responda para confirmar o proponer "
        "otra hora."
    )


def test_choice_labels_are_translated_with_the_template():
    closed = service.render(
        "school_closed",
        {"school_name": "Riverside", "date": "2026-12-03", "reason": "power_outage"},
        "es",
    )
    assert closed.text.endswith("Motivo: corte de luz.")
    assert "corte de luz" not in closed.protected
    note = service.render(
        "progress_note",
        {"teacher_name": "Ana Rivera", "student_name": "Mateo", "progress": "needs_help"},
        "zh-Hans",
    )
    assert (
        note.text == "Ana Rivera：Mateo在课堂上需要一些额外的帮助。我们可以谈谈吗？请回复此消息。"
    )


@pytest.mark.parametrize(
    ("language", "minutes", "expected"),
    [
        ("ru", 21, "примерно 21 минуту."),
        ("ru", 22, "примерно 22 минуты."),
        ("ru", 25, "примерно 25 минут."),
        ("ar", 5, "نحو 5 دقائق."),
        ("ar", 20, "نحو 20 دقيقة."),
        ("en", 5, "about 5 minutes."),
    ],
)
def test_plural_forms_follow_the_language(language, minutes, expected):
    params = {
        "teacher_name": "Ana Rivera",
        "student_name": "Mateo",
        "date": "2026-12-03",
        "time": "15:15",
        "minutes": minutes,
    }
    assert expected in service.render("conference_invite", params, language).text


@pytest.mark.parametrize("language", ["hmn", "sw", "zh-Hant", "tl"])
def test_a_language_without_a_catalog_needs_machine_translation(language):
    template = next(t for t in TEMPLATES if t.name == "event_reminder")
    rendering = service.render(template.name, dict(template.example), language)
    assert rendering.source == "needs_mt"
    assert rendering.language == "en"
    assert rendering.text == (
        "Reminder from Riverside Elementary: Family night on Thursday, December 3 at 5:30 PM. "
        "Where: Gym. We hope to see you there!"
    )
    assert rendering.protected == ["Riverside Elementary", "Thursday, December 3", "5:30 PM", "Gym"]
    assert not service.has_catalog(language)


def test_needs_mt_is_rendered_in_the_authors_language_when_it_has_a_catalog():
    template = next(t for t in TEMPLATES if t.name == "picture_day")
    rendering = service.render(template.name, dict(template.example), "hmn", author_language="es")
    assert rendering.source == "needs_mt" and rendering.language == "es"
    assert "jueves, 3 de diciembre" in rendering.text
    same = service.render(template.name, dict(template.example), "es", author_language="es")
    assert same.source == "human"


def test_a_catalog_missing_one_sentence_is_not_used_for_that_template(monkeypatch):
    complete = catalogs.translated_ids("vi")
    missing = "We hope to see you there!"
    monkeypatch.setattr(catalogs, "translated_ids", lambda locale: complete - {missing})
    template = next(t for t in TEMPLATES if t.name == "event_reminder")
    rendering = service.render(template.name, dict(template.example), "vi")
    assert rendering.source == "needs_mt" and rendering.language == "en"
    assert missing in rendering.text  # never half Vietnamese, half English
    other = next(t for t in TEMPLATES if t.name == "absence_notice")
    assert service.render(other.name, dict(other.example), "vi").source == "human"


# Parameters ------------------------------------------------------------------------------------

CONFERENCE = {
    "teacher_name": "Ana Rivera",
    "student_name": "Mateo",
    "date": "2026-12-03",
    "time": "14:30",
}


def test_values_from_json_become_typed():
    values = service.validate_params(
        "conference_invite", {**CONFERENCE, "minutes": "20", "place": "  Room   12 "}
    )
    assert values["date"] == dt.date(2026, 12, 3)
    assert values["time"] == dt.time(14, 30)
    assert values["minutes"] == 20
    assert values["place"] == "Room 12"
    assert service.validate_params("conference_invite", {**CONFERENCE, "time": "2:30 PM"})[
        "time"
    ] == dt.time(14, 30)
    assert service.validate_params("conference_invite", {**CONFERENCE, "time": "12:05 am"})[
        "time"
    ] == dt.time(0, 5)
    typed = {**CONFERENCE, "date": dt.date(2026, 12, 3), "time": dt.time(14, 30)}
    assert service.validate_params("conference_invite", typed)["place"] is None


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"date": None}, "date", "'date' is required"),
        ({"date": "tomorrow"}, "date", "'date' must be a date like 2026-12-03"),
        ({"date": "2026-02-30"}, "date", "'date' must be a date"),
        ({"date": 20261203}, "date", "'date' must be a date"),
        ({"time": "25:00"}, "time", "'time' must be a time like 14:30"),
        ({"time": "13:00 PM"}, "time", "'time' must be a time"),
        ({"student_name": "   "}, "student_name", "'student_name' is required"),
        ({"student_name": 7}, "student_name", "'student_name' must be text"),
        ({"teacher_name": "x" * 81}, "teacher_name", "longer than 80 characters"),
        ({"minutes": "lots"}, "minutes", "'minutes' must be a whole number from 5 to 240"),
        ({"minutes": 1000}, "minutes", "'minutes' must be a whole number"),
        ({"minutes": True}, "minutes", "'minutes' must be a whole number"),
        ({"room": "12"}, "room", "has no parameter 'room'"),
    ],
)
def test_bad_parameters_are_named(change, field, words):
    params = {**CONFERENCE, **change}
    with pytest.raises(Invalid) as caught:
        service.render("conference_invite", params, "es")
    assert words in caught.value.message
    assert {"field": f"params.{field}", "message": caught.value.details[0]["message"]} in (
        caught.value.details
    )
    assert caught.value.status_code == 422


def test_links_and_choices_are_checked():
    base = {"school_name": "Riverside", "student_name": "Mateo"}
    with pytest.raises(Invalid, match="'link' must be a web address starting with https://"):
        service.validate_params("report_card_ready", {**base, "link": "www.example.org"})
    with pytest.raises(Invalid, match="'link'"):
        service.validate_params("report_card_ready", {**base, "link": "https://exa mple.org"})
    with pytest.raises(Invalid, match=r"'reason' must be one of: weather, snow, power_outage"):
        service.validate_params(
            "school_closed", {"school_name": "R", "date": "2026-12-03", "reason": "hail"}
        )


def test_every_problem_is_reported_at_once():
    with pytest.raises(Invalid) as caught:
        service.validate_params("early_dismissal", {"date": "soon"})
    fields = [d["field"] for d in caught.value.details]
    assert fields == ["params.school_name", "params.date", "params.time"]


def test_unknown_template_and_non_object_params():
    with pytest.raises(Invalid, match="no notice template 'bake_sale'"):
        service.render("bake_sale", {}, "es")
    with pytest.raises(Invalid, match="must be an object"):
        service.validate_params("picture_day", ["2026-12-03"])  # type: ignore[arg-type]


# Arabic, right to left -------------------------------------------------------------------------


def _first_strong_direction(text: str) -> str:
    return next(
        unicodedata.bidirectional(ch)
        for ch in text
        if unicodedata.bidirectional(ch) in ("L", "R", "AL")
    )


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.name)
def test_arabic_text_stays_right_to_left_and_intact(template):
    rendering = service.render(template.name, dict(template.example), "ar")
    text = rendering.text
    assert text is not None and rendering.source == "human"
    # The paragraph starts with an Arabic letter, so phones lay it out right to left even
    # though it carries Latin names and links.
    assert _first_strong_direction(text) == "AL"
    # No bidi marks but those Babel itself put in a date or a time.
    from_babel = {ch for kept in rendering.protected for ch in kept if ch in BIDI_CONTROLS}
    assert {ch for ch in text if ch in BIDI_CONTROLS} <= from_babel
    raw = text.encode("utf-8")
    assert raw.decode("utf-8") == text
    assert unicodedata.normalize("NFC", text) == text
    segments = count_segments(text)
    assert segments.encoding == "UCS-2"
    assert segments.units == len(text)  # every character in the BMP: one UTF-16 unit each
    assert segments.segments <= 3
    for kept in rendering.protected:
        assert kept in text


def test_arabic_date_and_time_in_their_sentence():
    rendering = service.render(
        "early_dismissal",
        {"school_name": "Riverside Elementary", "date": "2026-12-03", "time": "12:30"},
        "ar",
    )
    assert "يوم الخميس، 3 ديسمبر، الساعة 12:30 م." in rendering.text
    assert count_segments(rendering.text).segments <= 2
