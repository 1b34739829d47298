"""Offline language detection for families' replies.

The candidates are the school's languages plus the guardian's preferred one. Replies are
often a word or two ("ok", "gracias"), where no detector is reliable: below a confidence
threshold the guardian's own language wins. Scripts that name their language outright
(Han, Hangul, Arabic, Vietnamese letters...) decide before the statistics do."""

import re
import threading
from dataclasses import dataclass
from typing import Any

from app.core.languages import mt_code

MIN_CONFIDENCE = 0.90
MIN_CONFIDENCE_SHORT = 0.98  # under SHORT_LETTERS letters, only a near-certain guess overrides
SHORT_LETTERS = 12
MIN_LETTERS = 4

_SCRIPTS = [
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    # Letters only Vietnamese uses among Hearth's common languages.
    ("vi", re.compile(r"[ăâđơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.I)),
]

_lock = threading.Lock()
_identifier = None
_known: frozenset[str] = frozenset()  # every language langid has, before any restriction


@dataclass(frozen=True)
class Detection:
    language: str  # an MT code (es, vi, zh...)
    confidence: float
    method: str  # "script" | "statistics" | "preferred_language"


def _langid() -> Any:
    global _identifier, _known
    if _identifier is None:
        # On first use: langid loads its model when imported.
        from langid.langid import LanguageIdentifier, model

        _identifier = LanguageIdentifier.from_modelstring(model, norm_probs=True)
        _known = frozenset(_identifier.nb_classes)
    return _identifier


def load() -> None:
    """Load the statistical model now (about a second), not inside the first job's
    transaction: job runners call it before they take work."""
    with _lock:
        _langid()


def detect(text: str, preferred: str, candidates: set[str] | list[str]) -> Detection:
    preferred_code = mt_code(preferred)
    codes = {mt_code(c) for c in candidates} | {preferred_code}
    letters = sum(ch.isalpha() for ch in text)
    for code, pattern in _SCRIPTS:
        if code in codes and pattern.search(text):
            return Detection(code, 1.0, "script")
    if letters < MIN_LETTERS:
        return Detection(preferred_code, 0.0, "preferred_language")
    with _lock:
        identifier = _langid()
        if preferred_code not in _known:
            # Statistics cannot recognize the family's language (Hmong, Somali): any guess
            # would name another language, and the text would skip the people who read it.
            return Detection(preferred_code, 0.0, "preferred_language")
        known = sorted(c for c in codes if c in _known)

        if len(known) < 2:
            return Detection(preferred_code, 0.0, "preferred_language")
        identifier.set_languages(known)
        language, confidence = identifier.classify(text)
    needed = MIN_CONFIDENCE_SHORT if letters < SHORT_LETTERS else MIN_CONFIDENCE
    if language != preferred_code and confidence < needed:
        return Detection(preferred_code, float(confidence), "preferred_language")
    return Detection(language, float(confidence), "statistics")
