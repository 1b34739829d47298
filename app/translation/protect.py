"""Protected spans: what machine translation must never touch.

Names of the people in the thread, URLs, emails, phone numbers, times, dates, numbers and
glossary terms are swapped for placeholders `<x1>`…`<x9>` before translation and put back
after. If the model drops, repeats or invents a placeholder, the caller translates the
pieces between the spans instead, so a name or a link is never lost."""

import re
from dataclasses import dataclass, field

MAX_PLACEHOLDERS = 9
PLACEHOLDER_RE = re.compile(r"<x([1-9])>")

_PATTERNS = [
    # Text that already looks like a placeholder is itself kept out of the model.
    re.compile(r"<x\d+>"),
    re.compile(r"\b(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)\]]"),
    re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
    re.compile(r"(?<!\w)\+?\(?\d{1,4}\)?(?:[\s.-]?\(?\d{2,4}\)?){2,4}(?!\w)"),
    re.compile(r"\b\d{1,2}(?::\d{2})?\s?(?:[ap]\.?m\.?|[AP]\.?M\.?)(?!\w)|\b\d{1,2}:\d{2}\b"),
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b"),
    re.compile(r"(?<![\w<])\$?\d+(?:[.,]\d+)*%?(?![\w>])"),
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


def _candidates(text: str, protection: Protection | None) -> list[Span]:
    found: list[Span] = []
    if protection:
        for entry in protection.glossary:
            if entry.term.strip():
                pattern = re.compile(rf"(?<!\w){re.escape(entry.term.strip())}(?!\w)", re.I)
                found += [
                    Span(m.start(), m.end(), m.group(), entry) for m in pattern.finditer(text)
                ]
        for name in sorted(
            {n.strip() for n in protection.names if n and n.strip()}, key=len, reverse=True
        ):
            pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
            found += [Span(m.start(), m.end(), m.group()) for m in pattern.finditer(text)]
    for pattern in _PATTERNS:
        found += [Span(m.start(), m.end(), m.group()) for m in pattern.finditer(text)]
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


def restore(translated: str, masked: Masked, target: str) -> str | None:
    """The translation with every span put back, or None if the placeholders did not survive
    exactly (each once, none invented; in order when there are more than nine)."""
    values = [span.rendered(target) for span in masked.spans]
    found = PLACEHOLDER_RE.findall(translated)
    if len(values) <= MAX_PLACEHOLDERS:
        if sorted(found) != [str(i) for i in range(1, len(values) + 1)]:
            return None
        return PLACEHOLDER_RE.sub(lambda m: values[int(m.group(1)) - 1], translated)
    if found != PLACEHOLDER_RE.findall(masked.text):
        return None
    return join_pieces(PLACEHOLDER_RE.split(translated)[::2], values)


def join_pieces(pieces: list[str], fillers: list[str]) -> str:
    """pieces[0] fillers[0] pieces[1] fillers[1] ... pieces[-1]."""
    out: list[str] = []
    for i, piece in enumerate(pieces):
        out.append(piece)
        if i < len(fillers):
            out.append(fillers[i])
    return "".join(out)
