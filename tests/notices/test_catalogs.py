"""The shipped catalogs are up to date with the templates and system texts, complete, and
compiled: a template string added without `make catalogs` and a translation fails here."""

import io
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from app.delivery import system_texts
from app.notices import catalogs, service

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"
REQUIRED = {"es", "vi", "zh_Hans", "ar", "pt", "ht", "so", "fr", "ru", "ko"}
PO_LOCALES = sorted(p.parent.parent.name for p in LOCALES.glob("*/LC_MESSAGES/messages.po"))


def _key(message_id: str | tuple[str, ...]) -> str:
    return message_id[0] if isinstance(message_id, tuple | list) else message_id


@pytest.fixture(scope="module")
def extracted() -> Catalog:
    """What `pybabel extract -F babel.cfg .` finds now, through Babel's own API."""
    with (ROOT / "babel.cfg").open() as fp:
        method_map, options_map = parse_mapping_cfg(fp)
    catalog = Catalog(project="Hearth")
    for filename, lineno, message, comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=DEFAULT_KEYWORDS, comment_tags=("TRANSLATORS:",)
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _read_po(locale: str) -> Catalog:
    with (LOCALES / locale / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        return read_po(fp, locale=locale)


def test_every_required_language_has_a_catalog():
    assert set(PO_LOCALES) >= REQUIRED
    assert catalogs.shipped_locales() >= REQUIRED


def test_extraction_finds_every_template_and_system_text(extracted):
    ids = {_key(m.id) for m in extracted if m.id}
    for template in service.list_templates():
        missing = service.template_messages(template.name) - ids
        assert not missing, f"{template.name}: babel.cfg does not extract {sorted(missing)}"
    assert set(system_texts.TEXTS.values()) <= ids
    assert len(ids) > 40


def test_committed_pot_is_current(extracted):
    with (LOCALES / "messages.pot").open("rb") as fp:
        pot = read_po(fp)
    assert {_key(m.id) for m in pot if m.id} == {_key(m.id) for m in extracted if m.id}, (
        "locales/messages.pot is out of date: run `make catalogs`"
    )


@pytest.mark.parametrize("locale", PO_LOCALES)
def test_catalog_translates_every_message(extracted, locale):
    po = _read_po(locale)
    problems = []
    for message in extracted:
        if not message.id:
            continue
        entry = po.get(message.id)
        if entry is None:
            problems.append(f"missing: {_key(message.id)!r}")
            continue
        forms = entry.string if isinstance(entry.string, tuple | list) else (entry.string,)
        if entry.fuzzy:
            problems.append(f"fuzzy: {_key(message.id)!r}")
        elif not forms or not all(forms):
            problems.append(f"untranslated: {_key(message.id)!r}")
        elif isinstance(message.id, tuple) and len(forms) != po.num_plurals:
            problems.append(f"needs {po.num_plurals} plural forms: {_key(message.id)!r}")
    for message, errors in po.check():
        problems += [f"{_key(message.id)!r}: {error}" for error in errors]
    assert not problems, f"locales/{locale} (run `make catalogs`, then translate):\n" + "\n".join(
        problems
    )


@pytest.mark.parametrize("locale", PO_LOCALES)
def test_committed_mo_is_the_compiled_po(locale):
    po = _read_po(locale)
    write_mo(io.BytesIO(), po)  # it compiles
    with (LOCALES / locale / "LC_MESSAGES" / "messages.mo").open("rb") as fp:
        mo = read_mo(fp)

    def strings(catalog: Catalog) -> dict[str, tuple[str, ...]]:
        return {
            _key(m.id): tuple(m.string) if isinstance(m.string, tuple | list) else (m.string,)
            for m in catalog
            if m.id and not m.fuzzy and m.string
        }

    assert strings(mo) == strings(po), (
        f"locales/{locale}/LC_MESSAGES/messages.mo is stale: run `make catalogs`"
    )


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        ("es", "es"),
        ("es-MX", "es"),
        ("es_US", "es"),
        ("pt-BR", "pt"),
        ("pt", "pt"),
        ("zh", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("zh-Hans", "zh_Hans"),
        ("zh-Hans-CN", "zh_Hans"),
        ("zh-Hant", None),
        ("zh-TW", None),
        ("fr-CA", "fr"),
        ("ar-EG", "ar"),
        ("ko-KR", "ko"),
        ("vi", "vi"),
        ("ht", "ht"),
        ("so", "so"),
        ("ru", "ru"),
        ("en", "en"),
        ("en-US", "en"),
        ("hmn", None),
        ("sw", None),
        ("", None),
    ],
)
def test_language_tags_map_to_catalogs(tag, locale):
    assert catalogs.catalog_locale(tag) == locale
    assert service.has_catalog(tag) is (locale is not None)
