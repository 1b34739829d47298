"""Rendering notices in a family's language.

A family whose language has a catalog that translates every sentence of a template gets the
text people wrote ("human"). Any other family gets the notice rendered in the author's language
(English unless the author's language has a complete catalog) marked "needs_mt": the caller
machine-translates it and flags it as such, keeping `Rendering.protected` out of the model.

Approach to placeholders (the same everywhere): Jinja2's i18n extension with *newstyle*
gettext, so a `{% trans %}` block's msgid has `%(name)s` placeholders and the extension
formats them; Hearth's own SMS texts (`app/delivery/system_texts.py`) use the same `%(name)s`
form. Blocks are `trimmed`: line breaks and indentation inside them never reach a msgid."""

import gettext
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app.notices import catalogs, formatting
from app.notices.templates import TEMPLATES, NoticeTemplate, Param, get, validate

TEMPLATES_DIR = catalogs.project_dir("message_templates")

__all__ = [
    "NoticeTemplate",
    "Param",
    "Rendering",
    "catalog_locale",
    "catalog_text",
    "has_catalog",
    "list_templates",
    "render",
    "title",
    "validate_params",
]


@dataclass(frozen=True)
class Rendering:
    # Always a text today; typed Optional as agreed with callers, for a future "cannot render".
    text: str | None
    # the catalog locale used ("es", "zh_Hans", "en"); for needs_mt, the language of `text`
    language: str
    # "human": from a catalog (or English, the templates' own language); "needs_mt": no
    # complete catalog for the family's language, `text` is in `language` for the caller to
    # machine-translate
    source: Literal["human", "needs_mt"]
    # the inserted parameters as they appear in `text` (names, places, links, the formatted
    # date, time and numbers): machine translation must keep them intact
    protected: list[str] = field(default_factory=list)


@lru_cache
def _environment(locale: str) -> Environment:
    """The Jinja2 environment of one catalog locale: one each, because installing translations
    changes an environment and delivery renders from several threads at once."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        extensions=["jinja2.ext.i18n"],
        autoescape=False,  # plain text for SMS and email, never HTML
        undefined=StrictUndefined,
    )
    env.policies["ext.i18n.trimmed"] = True
    translations = catalogs.translations(locale)
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    return env


@lru_cache
def template_messages(name: str) -> frozenset[str]:
    """Every msgid a template can say (its `{% trans %}` blocks and its translated labels)."""
    template = get(name)
    env = _environment(catalogs.SOURCE_LOCALE)
    assert env.loader is not None
    source = env.loader.get_source(env, template.file)[0]
    found = {
        message if isinstance(message, str) else message[0]
        for _, _, message in env.extract_translations(source)  # type: ignore[attr-defined]
    }
    for param in template.params:
        if param.type == "choice" and param.label_in_text:
            found.update(param.choices.values())
    return frozenset(m for m in found if m)


def _complete(name: str, locale: str) -> bool:
    if locale == catalogs.SOURCE_LOCALE:
        return True
    return template_messages(name) <= catalogs.translated_ids(locale)


def _context(
    template: NoticeTemplate, values: dict[str, Any], locale: str
) -> tuple[dict[str, Any], list[str]]:
    translations: gettext.NullTranslations = catalogs.translations(locale)
    context: dict[str, Any] = {}
    protected: list[str] = []
    for param in template.params:
        value = values.get(param.name)
        if value is None:
            context[param.name] = None
            continue
        if param.type == "choice":
            label = param.choices[value]
            context[param.name] = translations.gettext(label) if param.label_in_text else value
            continue
        if param.type == "date":
            text = formatting.date_text(value, locale)
        elif param.type == "time":
            text = formatting.time_text(value, locale)
        elif param.type == "number":
            text = formatting.number_text(value, locale)
            context[f"{param.name}_count"] = value  # the number itself picks the plural form
        else:
            text = value
        context[param.name] = text
        if text not in protected:
            protected.append(text)
    return context, protected


def _render(template: NoticeTemplate, values: dict[str, Any], locale: str) -> tuple[str, list[str]]:
    context, protected = _context(template, values, locale)
    raw = _environment(locale).get_template(template.file).render(context)
    return paragraph(raw), protected


# Chinese and Japanese sentences follow one another with no space after their full stops.
_AFTER_FULL_WIDTH = re.compile(r"(?<=[。！？；：，、）」』])\s+")


def paragraph(raw: str) -> str:
    """One paragraph: the line breaks between a template's blocks are layout (they are what
    keeps its sentences apart), not part of the message."""
    return _AFTER_FULL_WIDTH.sub("", " ".join(raw.split()))


# The API --------------------------------------------------------------------------------------


def list_templates() -> list[NoticeTemplate]:
    return list(TEMPLATES.values())


def title(name: str) -> str:
    """The template's title for staff ("Early dismissal"); Invalid for an unknown name."""
    return get(name).title


def validate_params(name: str, params: dict) -> dict:
    """Typed values (date, time, int, str) for every parameter of the template, None for an
    optional one not given. Raises Invalid naming each bad parameter."""
    return validate(get(name), params)


def render(name: str, params: dict, language: str, author_language: str = "en") -> Rendering:
    """The notice for a family speaking `language` (a Hearth tag: "es-MX", "zh-Hans", "hmn")."""
    template = get(name)
    values = validate(template, params)
    locale = catalogs.catalog_locale(language)
    if locale is not None and _complete(name, locale):
        text, protected = _render(template, values, locale)
        return Rendering(text, locale, "human", protected)
    author = catalogs.catalog_locale(author_language)
    if author is None or not _complete(name, author):
        author = catalogs.SOURCE_LOCALE
    text, protected = _render(template, values, author)
    return Rendering(text, author, "needs_mt", protected)


def has_catalog(language: str) -> bool:
    """True when Hearth ships people's translations for the language (English, the source,
    always). A catalog may still lack a new template: `render` then says "needs_mt"."""
    return catalogs.catalog_locale(language) is not None


def catalog_locale(language: str) -> str | None:
    return catalogs.catalog_locale(language)


def catalog_text(message: str, language: str) -> str | None:
    """One English msgid in `language` from the catalogs, unformatted: the English itself for
    English, None when no catalog translates it."""
    locale = catalogs.catalog_locale(language)
    if locale == catalogs.SOURCE_LOCALE:
        return message
    if locale is None or message not in catalogs.translated_ids(locale):
        return None
    return catalogs.translations(locale).gettext(message)
