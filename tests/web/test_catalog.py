"""The Spanish catalog of the staff pages (locales/es/LC_MESSAGES/web.po): it translates every
string a fresh extraction finds, keeps each placeholder, is compiled, and shows on the pages."""

import ast
import re
import shlex
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from app.auth.service import load_staff, subject_for_staff
from app.messaging import replies
from app.messaging import service as messaging
from app.messaging.models import Thread
from app.messaging.schemas import MessageCreate, ThreadCreate
from app.schools.models import School
from tests.factories import (
    GuardianFactory,
    SchoolFactory,
    SectionFactory,
    StaffFactory,
    StudentFactory,
)

ROOT = Path(__file__).resolve().parents[2]
SPANISH = ROOT / "locales" / "es" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _forms(value) -> tuple[str, ...]:
    """A message's id or string as a tuple: one item, or the plural forms."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _makefile_keywords() -> dict:
    """The keywords `make catalogs` extracts the web domain with, read from the Makefile so this
    test and the real extraction cannot drift apart."""
    command = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    line = next(
        text for text in command.splitlines() if "extract" in text and "babel-web.cfg" in text
    )
    words = shlex.split(line)
    names = [words[i + 1] for i, word in enumerate(words[:-1]) if word == "-k"]
    return {**DEFAULT_KEYWORDS, **parse_keywords(names)}


# The staff pages' words: the web app's, and the sign-in and password messages of app/auth.
WEB_WORDS = ("app/web", "app/auth")


def _in_web_app(dirpath: str) -> bool:
    relative = Path(dirpath).resolve().relative_to(ROOT).as_posix()
    if Path(relative).name.startswith((".", "_")):
        return False
    return relative in (".", "app") or relative.startswith(WEB_WORDS)


@pytest.fixture(scope="module")
def extracted() -> dict[str, tuple[str, ...]]:
    """msgid → all its source forms (one, or singular and plural), as extracted right now."""
    with (ROOT / "babel-web.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, tuple[str, ...]] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, _makefile_keywords(), directory_filter=_in_web_app
    ):
        forms = _forms(message)
        if forms[0]:
            found[forms[0]] = tuple(forms)
    return found


@pytest.fixture(scope="module")
def spanish():
    with (SPANISH / "web.po").open("rb") as f:
        return read_po(f, locale="es")


def test_the_extraction_finds_a_known_page_string_and_a_python_side_message(extracted):
    assert extracted["Inbox"] == ("Inbox",)
    assert extracted["%(num)s account"] == ("%(num)s account", "%(num)s accounts")
    assert "The current password is not right." in extracted  # N_("…") in app/auth


def test_every_literal_handed_to_translate_or_n_is_extracted(extracted):
    """`translate(request, "…")` carries its message second: an extraction keyword that reads
    the first argument would silently leave these pages in English."""
    literals = set()
    for path in [p for folder in WEB_WORDS for p in (ROOT / folder).rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            position = {"translate": 1, "N_": 0}.get(node.func.id)
            if position is None or len(node.args) <= position:
                continue
            arg = node.args[position]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                literals.add(arg.value)
    assert "Unknown number" in literals
    assert sorted(literals - set(extracted)) == []


def test_the_spanish_catalog_translates_every_extracted_string(extracted, spanish):
    missing, untranslated, fuzzy = [], [], []
    for msgid, forms in extracted.items():
        entry = spanish.get(msgid)
        if entry is None:
            missing.append(msgid)
            continue
        strings = _forms(entry.string)
        if len(forms) != len(_forms(entry.id)):
            untranslated.append(msgid)  # a plural in the source, a single string here
        elif not all(strings):
            untranslated.append(msgid)
        if entry.fuzzy:
            fuzzy.append(msgid)
    assert missing == [], "run `make catalogs` and translate these"
    assert untranslated == []
    assert fuzzy == []


def test_each_translation_keeps_the_placeholders_of_its_source(spanish):
    wrong = []
    for entry in spanish:
        if not entry.id:
            continue
        sources = _forms(entry.id)
        names = set().union(*(PLACEHOLDER.findall(s) for s in sources))
        for text in _forms(entry.string):
            if set(PLACEHOLDER.findall(text)) != names:
                wrong.append((sources[0], text))
                continue
            # Pages always %-format a message (newstyle gettext): a stray % would crash them.
            text % dict.fromkeys(names, "x")
    assert wrong == []


def test_the_compiled_catalog_is_the_po_file(spanish):
    with (SPANISH / "web.mo").open("rb") as f:
        compiled = read_mo(f)
    stale = [
        entry.id
        for entry in spanish
        if entry.id
        and (
            compiled.get(entry.id) is None
            or _forms(compiled[entry.id].string) != _forms(entry.string)
        )
    ]
    assert stale == [], "run `pybabel compile -D web -d locales`"


class _Text(HTMLParser):
    """The visible words of a page: text between tags, and the aria-labels read aloud."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.pieces += [value.strip() for name, value in attrs if name == "aria-label" and value]

    def handle_data(self, data):
        if data.strip():
            self.pieces.append(data.strip())


def test_a_spanish_speaking_teachers_inbox_is_in_spanish(session, signed_in, argos_models, spanish):
    school = SchoolFactory(sms_sender="+15125550100")
    teacher = StaffFactory(schools=[school], name="Ana Rivera", ui_language="es")
    student = StudentFactory(school=school, given_name="Mateo", family_name="Ruiz")
    SectionFactory(school=school, teachers=[teacher], students=[student])
    guardian = GuardianFactory(students=[student], language="es", given_name="María")
    session.commit()
    who = subject_for_staff(load_staff(session, teacher.id), frozenset({"read", "write", "send"}))
    thread = messaging.create_thread(
        session, who, ThreadCreate(student_id=student.id, guardian_ids=[guardian.id])
    )
    messaging.post_message(
        session, who, thread.id, MessageCreate(body="La excursión es el viernes.")
    )
    session.commit()
    replies.add_reply(
        session,
        session.get(Thread, thread.id),
        session.get(School, school.id),
        guardian,
        "Gracias.",
    )
    session.commit()

    page = signed_in(teacher).get("/inbox")
    assert page.status_code == 200
    assert '<html lang="es">' in page.text
    for words in ("Bandeja de entrada", "Nueva nota", "Cerrar sesión", "Nueva respuesta"):
        assert words in page.text
    # The unanswered-reply notice is a plural form.
    assert "1 conversación tiene una respuesta que nadie ha contestado todavía." in page.text

    parser = _Text()
    parser.feed(page.text)
    english = {e.id for e in spanish if isinstance(e.id, str) and e.id and e.string != e.id}
    assert "Inbox" not in parser.pieces and "Sign out" not in parser.pieces
    assert [piece for piece in parser.pieces if piece in english] == []


@pytest.mark.parametrize(
    "catalog",
    sorted((ROOT / "locales").rglob("*.po*")),
    ids=lambda path: str(path.relative_to(ROOT / "locales")),
)
def test_every_catalog_file_is_well_formed(catalog):
    # Each entry has its msgid and its msgstr: a translator's tool (or `pybabel update`) stops
    # at the first broken one.
    with catalog.open("rb") as f:
        read = read_po(f, abort_invalid=True)
    assert len(read) > 0
