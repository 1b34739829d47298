"""Reading a family's answer, in any language: the option's number in any script (1, ١, ۱, 一),
yes and no as the phrasebook knows them in every catalog language (sí, oui, có, 是, نعم, wi, haa,
yog…), or the option's words in the family's language. Case, accents where safe, punctuation
and emoji are ignored (the phrasebook's normalization)."""

import re
import unicodedata
from collections.abc import Sequence

from app.core.languages import mt_code
from app.translation import phrasebook

# Phrasebook phrases that answer yes or no to an invitation or a permission.
YES = frozenset({"Yes", "Yes, thank you", "OK", "OK, thank you", "Of course", "I'll be there"})
NO = frozenset({"No", "No, thank you", "I can't come"})
# A reply is read as an answer only if it is short: a longer text is a message for staff.
MAX_ANSWER_WORDS = 6
_CJK_NUMBERS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
_NUMBER = re.compile(r"^\d{1,6}$")


def number_in(text: str) -> int | None:
    """The whole reply as a number, in any script ("3", "٣", "۳", "３", "三", "十"), or None."""
    words, _ = phrasebook.split_emoji(text)
    chars = [ch for ch in unicodedata.normalize("NFKC", words) if not _ignorable(ch)]
    if not chars:
        return None
    if all(ch in _CJK_NUMBERS for ch in chars) and len(chars) <= 2:
        values = [_CJK_NUMBERS[ch] for ch in chars]
        if len(values) == 1:
            return values[0]
        if values[0] == 10:  # 十二 = 12
            return 10 + values[1]
        if values[1] == 10:  # 二十 = 20
            return values[0] * 10
        return None
    digits = "".join(str(unicodedata.decimal(ch, "x")) for ch in chars)
    return int(digits) if _NUMBER.match(digits) else None


def _ignorable(ch: str) -> bool:
    return unicodedata.category(ch).startswith(("P", "Z", "S")) or ch.isspace()


def yes_or_no(text: str, language: str) -> str | None:
    """ "yes" or "no" for a reply that says so in `language` (or in English), else None. Only the
    first words are read when more follow ("Yes please", "Oui, merci"): what a family adds
    after its answer does not change it."""
    code = mt_code(language)
    words = text.split()
    for n in range(len(words), 0, -1):
        phrase = phrasebook.find(" ".join(words[:n]), code)
        if phrase in YES:
            return "yes"
        if phrase in NO:
            return "no"
    return None


# A permission slip's reply: its answer first, the guardian's full name after it ("1 Maria
# Lopez", "sí, María López"). A name is letters (any script), spaces, hyphens, apostrophes, dots.
MAX_PERMISSION_WORDS = 10
MAX_SIGNATURE_CHARS = 120
_NAME_MARKS = set("-'’.")


def signature_in(text: str) -> str | None:
    """The text as a typed full name (at least two letters, no digits, at most 8 words), tidied
    (spaces, a leading comma or dash dropped); None when it is not a name."""
    name = " ".join(text.strip(" \t\n,;:-–—").split())
    if not name or len(name) > MAX_SIGNATURE_CHARS or len(name.split()) > 8:
        return None
    if sum(ch.isalpha() for ch in name) < 2:
        return None
    if any(not (ch.isalpha() or ch.isspace() or ch in _NAME_MARKS or _mark(ch)) for ch in name):
        return None
    return name


def _mark(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M")  # combining accents, vowel signs


def permission(text: str, language: str) -> tuple[str | None, str | None]:
    """(answer, signature) of a permission slip's reply: "yes"/"no" (1/2, or yes and no as the
    phrasebook knows them) from its first words, and the full name after them if one follows.
    (None, None) when it does not start with an answer."""
    words = text.split()
    if not words or len(words) > MAX_PERMISSION_WORDS:
        return None, None
    for n in range(min(len(words), 3), 0, -1):
        head, rest = " ".join(words[:n]), " ".join(words[n:])
        number = number_in(head)
        value = (
            ("yes" if number == 1 else "no" if number == 2 else None)
            if number is not None
            else _said(head, language)
        )
        if value is None:
            continue
        if not rest.strip(" ,;:-–—."):
            return value, None
        name = signature_in(rest)
        if name is not None:
            return value, name
    return None, None


def _said(text: str, language: str) -> str | None:
    """ "yes"/"no" when the whole text says so in `language` (or English)."""
    phrase = phrasebook.find(text, mt_code(language))
    return "yes" if phrase in YES else "no" if phrase in NO else None


def read(
    text: str, language: str, kind: str, options: Sequence[str], translated: Sequence[str] = ()
) -> str | None:
    """The answer a reply gives to a question of `kind`, or None when it cannot be read.
    `options`: a choice's options as written; `translated`: the same in the family's language."""
    if not text.strip() or len(text.split()) > MAX_ANSWER_WORDS and kind != "text":
        return None
    number = number_in(text)
    if kind == "text":
        return "text"
    if kind == "number":
        return str(number) if number is not None else None
    if kind == "yes_no":
        if number in (1, 2):
            return "yes" if number == 1 else "no"
        return yes_or_no(text, language)
    # A choice: its number, or its words in the family's language or as written.
    if number is not None:
        return str(number) if 1 <= number <= len(options) else None
    said = phrasebook.key(text, mt_code(language), fold=True)
    for names in (translated, options):
        for i, name in enumerate(names, start=1):
            if name and phrasebook.key(name, mt_code(language), fold=True) == said:
                return str(i)
    return None
