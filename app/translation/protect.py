"""Protected spans: what machine translation must never touch.

Names of the people in the thread, URLs, emails, phone numbers, times, dates, numbers and
glossary terms are swapped for placeholders `<x1>`…`<x9>` before translation and put back
after. If the model drops, repeats or invents a placeholder, the caller translates the
pieces between the spans instead, so a name or a link is never lost. Glossary terms are
first given to the model as written (`Masked.with_terms_as_written`), and their rendering in
its output swapped for their placeholder (`place_terms`): a term is a phrase the model may
well know, and a sentence with a placeholder in its middle is one it may not."""

import difflib
import re
from dataclasses import dataclass, field

MAX_PLACEHOLDERS = 9
PLACEHOLDER_RE = re.compile(r"<x([1-9])>")

# Where a span may start and end: not inside a word. A CJK character next to it does not
# count as "inside": Chinese and Japanese write no spaces ("Sofía明天下午3:30会迟到"), Korean
# attaches particles ("Sofía는").
_CJK_RANGES = "\\u3040-\\u30ff\\u3400-\\u9fff\\uac00-\\ud7af"
_NOT_AFTER_WORD = rf"(?<![^\W{_CJK_RANGES}])"
_NOT_BEFORE_WORD = rf"(?![^\W{_CJK_RANGES}])"
_A, _Z = _NOT_AFTER_WORD, _NOT_BEFORE_WORD

_TIME = re.compile(
    rf"{_A}\d{{1,2}}(?::\d{{2}})?\s?(?:[ap]\.?m\.?|[AP]\.?M\.?){_Z}|{_A}\d{{1,2}}:\d{{2}}{_Z}"
)
# A period that also ends the sentence: followed by the end, a line break or a new sentence.
_SENTENCE_END_AFTER = re.compile(r"\s*(?:$|\n|[\"'”’)]*\s+[^a-z\s])")

_PATTERNS = [
    # Text that already looks like a placeholder is itself kept out of the model.
    re.compile(r"<x\d+>"),
    re.compile(r"\b(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)\]]"),
    re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
    re.compile(rf"{_A}\+?\(?\d{{1,4}}\)?(?:[\s.-]?\(?\d{{2,4}}\)?){{2,4}}{_Z}"),
    _TIME,
    re.compile(rf"{_A}\d{{4}}-\d{{2}}-\d{{2}}{_Z}|{_A}\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?{_Z}"),
    re.compile(rf"(?<!<){_A}\$?\d+(?:[.,]\d+)*%?{_Z}(?!>)"),
]


@dataclass(frozen=True)
class GlossaryEntry:
    term: str
    renderings: dict[str, str] = field(default_factory=dict)  # MT code → fixed text
    keep: bool = False  # keep the term as written, in every language


@dataclass
class Protection:
    names: list[str] = field(default_factory=list)
    glossary: list[GlossaryEntry] = field(default_factory=list)


@dataclass
class Span:
    start: int
    end: int
    text: str
    glossary: GlossaryEntry | None = None

    def rendered(self, target: str) -> str:
        if self.glossary is not None and not self.glossary.keep:
            return self.glossary.renderings.get(target, self.text)
        return self.text


@dataclass
class Masked:
    text: str  # with <xN> placeholders
    spans: list[Span]

    @property
    def pieces(self) -> list[str]:
        """The text between the placeholders, for piecewise translation."""
        return PLACEHOLDER_RE.split(self.text)[::2]

    @property
    def placeholders(self) -> list[str]:
        return [f"<x{n}>" for n in PLACEHOLDER_RE.findall(self.text)]

    @property
    def terms(self) -> list[tuple[str, Span]]:
        """(placeholder, span) of each glossary term."""
        if len(self.spans) > MAX_PLACEHOLDERS:
            return []
        return [(f"<x{i}>", s) for i, s in enumerate(self.spans, 1) if s.glossary is not None]

    def with_terms_as_written(self) -> str:
        """The masked text with the glossary terms back in: a model that knows "book fair"
        translates the sentence around it far better than one that sees "The <x1> starts"."""
        text = self.text
        for placeholder, span in self.terms:
            text = text.replace(placeholder, span.text, 1)
        return text


def _candidates(text: str, protection: Protection | None) -> list[Span]:
    found: list[Span] = []
    if protection:
        for entry in protection.glossary:
            if entry.term.strip():
                term = re.escape(entry.term.strip())
                pattern = re.compile(rf"{_NOT_AFTER_WORD}{term}{_NOT_BEFORE_WORD}", re.I)
                found += [
                    Span(m.start(), m.end(), m.group(), entry) for m in pattern.finditer(text)
                ]
        for name in sorted(
            {n.strip() for n in protection.names if n and n.strip()}, key=len, reverse=True
        ):
            pattern = re.compile(rf"{_NOT_AFTER_WORD}{re.escape(name)}{_NOT_BEFORE_WORD}")
            found += [Span(m.start(), m.end(), m.group()) for m in pattern.finditer(text)]
    for pattern in _PATTERNS:
        for m in pattern.finditer(text):
            end = m.end()
            # "at 3:30 PM." ends the sentence too: that period stays outside the span, where
            # the model sees the sentence end and writes its own (else "3:30 PM..").
            if (
                pattern is _TIME
                and m.group().endswith(".")
                and _SENTENCE_END_AFTER.match(text, end)
            ):
                end -= 1
            found.append(Span(m.start(), end, text[m.start() : end]))
    return found


def mask(text: str, protection: Protection | None = None) -> Masked:
    chosen: list[Span] = []
    # Earlier-listed kinds win ties (glossary, names, URLs...), then longer spans.
    ranked = sorted(
        enumerate(_candidates(text, protection)),
        key=lambda p: (p[1].start, -(p[1].end - p[1].start), p[0]),
    )
    for _, span in ranked:
        if chosen and span.start < chosen[-1].end:
            continue
        chosen.append(span)
    out, last = [], 0
    for index, span in enumerate(chosen, start=1):
        out.append(text[last : span.start])
        # Past nine spans the rest are still protected: they stay placeholders that the
        # piecewise path keeps out of the model.
        out.append(f"<x{index}>" if index <= MAX_PLACEHOLDERS else f"<x{MAX_PLACEHOLDERS}>")
        last = span.end
    out.append(text[last:])
    return Masked("".join(out), chosen)


def place_terms(translated: str, masked: Masked, target: str, own: dict[str, str]) -> str | None:
    """A translation made with the glossary terms as written (`with_terms_as_written`), with
    each term's rendering in it swapped for the term's placeholder: the same form as a
    translation of `masked.text`, for `restore`. The rendering is looked for as the school's
    fixed text, the term as written, something close to the fixed text ("feria del libro"
    for "Feria de Libros"), or `own[term]`, the model's translation of the term alone.
    None when a term's rendering cannot be found."""
    for placeholder, span in masked.terms:
        fixed = span.rendered(target)
        found = (
            _find_exact(translated, fixed)
            or _find_exact(translated, span.text)
            or _find_close(translated, fixed)
            or _find_exact(translated, own.get(span.text, ""))
        )
        if found is None:
            return None
        start, end = found
        translated = translated[:start] + placeholder + translated[end:]
    return translated


_EDGE_PUNCTUATION = ".,;:!?。，；：！？、\"'“”‘’()（）"


def _find_exact(text: str, wanted: str) -> tuple[int, int] | None:
    wanted = wanted.strip().strip(_EDGE_PUNCTUATION).strip()
    if not has_letters(wanted):
        return None
    pattern = rf"{_NOT_AFTER_WORD}{re.escape(wanted)}{_NOT_BEFORE_WORD}"
    found = re.search(pattern, text, re.I)
    if found is None or PLACEHOLDER_RE.search(found.group()):
        return None
    return found.span()


CLOSE_ENOUGH = 0.75  # difflib ratio of a stretch of the translation to the school's wording


def _find_close(text: str, wanted: str) -> tuple[int, int] | None:
    """The stretch of whole words (CJK: characters) of `text` most like `wanted`, if like
    enough: the same words inflected or cased otherwise."""
    wanted = wanted.strip().strip(_EDGE_PUNCTUATION).strip().casefold()
    if not has_letters(wanted):
        return None
    cjk = re.search(rf"[{_CJK_RANGES}]", wanted) is not None
    units = [m.span() for m in re.finditer(rf"[{_CJK_RANGES}]" if cjk else r"[^\s]+", text)]
    size = len(wanted) if cjk else len(wanted.split())
    best: tuple[float, int, int] | None = None
    for length in range(max(1, size - 2), size + 3):
        for i in range(len(units) - length + 1):
            start, end = units[i][0], units[i + length - 1][1]
            while end > start and text[end - 1] in _EDGE_PUNCTUATION:
                end -= 1
            stretch = text[start:end]
            if not stretch or PLACEHOLDER_RE.search(stretch):
                continue
            ratio = difflib.SequenceMatcher(None, stretch.casefold(), wanted).ratio()
            if best is None or ratio > best[0]:
                best = (ratio, start, end)
    if best is None or best[0] < CLOSE_ENOUGH:
        return None
    return best[1], best[2]


def has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def restore(
    translated: str, masked: Masked, target: str, *, terms_in_words: bool = False
) -> str | None:
    """The translation with every span put back, or None if the placeholders did not survive
    exactly (each once, none invented; in order when there are more than nine). With
    `terms_in_words`, glossary terms may be missing: the translation was made with them as
    written and says them in the model's own words."""
    values = [span.rendered(target) for span in masked.spans]
    found = PLACEHOLDER_RE.findall(translated)
    if len(values) <= MAX_PLACEHOLDERS:
        glossary = {i for i, span in enumerate(masked.spans) if span.glossary is not None}
        expected = [str(i) for i in range(1, len(values) + 1)]
        if terms_in_words:
            expected = [n for n in expected if int(n) - 1 not in glossary or n in found]
        if sorted(found) != expected:
            return None

        def fill(m: re.Match[str]) -> str:
            index = int(m.group(1)) - 1
            value = _fit(values[index], m.string, m.start(), m.end())
            if index in glossary and _starts_sentence(m.string, m.start()):
                value = value[:1].upper() + value[1:]
            return value

        return PLACEHOLDER_RE.sub(fill, translated)
    if found != PLACEHOLDER_RE.findall(masked.text):
        return None
    pieces = PLACEHOLDER_RE.split(translated)[::2]
    return join_pieces(
        pieces, [_fit(v, pieces[i + 1], 0, 0) for i, v in enumerate(values[: len(pieces) - 1])]
    )


def _fit(value: str, text: str, start: int, end: int) -> str:
    """A span ending in a period ("Jr.", "p.m.") right before the translation's own sentence
    end gives one period, not two."""
    if value.endswith(".") and text[end : end + 1] == "." and text[end : end + 2] != "..":
        return value[:-1]
    return value


def _starts_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip()
    return not before or before[-1] in ".!?。！？\n"


def join_pieces(pieces: list[str], fillers: list[str]) -> str:
    """pieces[0] fillers[0] pieces[1] fillers[1] ... pieces[-1]."""
    out: list[str] = []
    for i, piece in enumerate(pieces):
        out.append(piece)
        if i < len(fillers):
            out.append(fillers[i])
    return "".join(out)
