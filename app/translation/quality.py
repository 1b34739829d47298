"""How far a machine translation can be trusted: a level, a score and the reasons, computed
offline from what translating already gives, cheap enough for every text.

Three kinds of evidence:
- the model's own confidence: the mean log-probability per token of its output (CTranslate2's
  score, the worst hop of a route through English);
- the round trip: the translation translated back by the reverse route (decoded greedily:
  it only has to show whether the meaning survived), compared with the original by chrF
  (character n-gram F-score, sacrebleu's implementation);
- the structure: numbers, emoji, questions, negation, sentences and length kept; nothing
  copied untranslated or repeated; the protected spans put back whole.

The texts compared are the *masked* ones (names, links, numbers and times as placeholders), so
a long name or link neither helps nor hurts. The thresholds come from calibration on Hearth's
own test models (bench/translation_quality.py): sentences they were built for against
realistic sentences they never saw."""

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["good", "check", "poor"]

# The score is the mean of two numbers in 0..1: the model's confidence (the geometric mean of
# its token probabilities, exp of the mean log-probability per token) and the round trip's
# chrF / 100. Calibrated with bench/translation_quality.py (figures in bench/README.md).
GOOD_SCORE = 0.60  # at and above: "good" (unless a structural check objects)
POOR_SCORE = 0.40  # below: "poor"
# Without a way back the round trip counts as this chrF: a middling one, so that the model's
# confidence alone must be high (≥ 0.85) to make "good", and the score says there was less
# evidence (at most 0.675).
NO_ROUND_TRIP_CHRF = 35.0
# Below these a signal is named among the reasons of a flagged translation.
MODEL_CONFIDENT = 0.85
ROUND_TRIP_CLOSE = 60.0

MIN_LENGTH_FOR_RATIO = 16  # shorter texts vary too much in length to judge by it
LENGTH_RATIO_RANGE = (0.4, 2.5)

REASONS = {
    "model_unsure": "The translation model was unsure of this translation.",
    "round_trip_differs": "Translated back, it says something different from the original.",
    "no_round_trip": "Not checked by translating back: no model for the way back.",
    "spans_lost": "The model lost names, links or numbers; the text was translated in pieces.",
    "glossary_unplaced": "A glossary term is in the model's own words, not the school's.",
    "numbers_changed": "A number of the original is missing or changed in the translation.",
    "copied_source": "The translation is the original text, untranslated.",
    "repetition": "The translation repeats the same words over and over.",
    "length_mismatch": "The translation is much longer or shorter than the original.",
    "sentence_count": "The translation has a different number of sentences than the original.",
    "emoji_changed": "Emoji of the original are missing from the translation, or new ones appear.",
    "words_invented": "The translation has words where the original had only emoji or numbers.",
    "question_changed": "A question became a statement, or a statement a question.",
    "negation_changed": "'Not' or 'no' is in only one of the original and the translation.",
}

# Reasons that make a translation "poor" whatever the scores say: each means that what the
# family reads is not what was written.
SEVERE = {"numbers_changed", "copied_source", "repetition", "words_invented"}
# Reasons that only inform; every other one makes a translation at best "check".
INFO = {"no_round_trip"}


@dataclass(frozen=True)
class Quality:
    level: Level
    score: float  # 0 (surely wrong) .. 1 (surely right)
    reasons: list[str] = field(default_factory=list)  # codes, see REASONS

    @property
    def messages(self) -> list[str]:
        return [REASONS.get(code, code) for code in self.reasons]

    @property
    def flagged(self) -> bool:
        return self.level != "good"

    def as_dict(self) -> dict[str, Any]:
        """As the API gives it (QualityRead): each reason with what it means."""
        reasons = [{"code": c, "message": REASONS.get(c, c)} for c in self.reasons]
        return {"level": self.level, "score": self.score, "reasons": reasons}


# Texts --------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"<x\d+>")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_DIGITS = re.compile(r"\d+")
_SENTENCE_END = re.compile(r"[.!?。！？؟]+(?=\s|$|[\"'”’)])|[。！？]")
_QUESTION = re.compile(r"[?？؟]")
_WORD = re.compile(r"\w+(?:['’]\w+)?")


def _visible(text: str) -> str:
    """The words of a masked text: placeholders out, spaces collapsed."""
    return " ".join(_PLACEHOLDER.sub(" ", unicodedata.normalize("NFC", text)).split())


def _is_emoji(ch: str) -> bool:
    return unicodedata.category(ch) == "So" and ord(ch) > 0x2000


def emoji(text: str) -> list[str]:
    return sorted(ch for ch in text if _is_emoji(ch))


def has_words(text: str) -> bool:
    return any(ch.isalpha() for ch in _PLACEHOLDER.sub("", text))


def weighted_length(text: str) -> float:
    """Characters, a CJK character counting as three: an English sentence and its Chinese,
    Spanish or Vietnamese translation come out about the same (median ratio 0.96-1.0 over
    the test corpus)."""
    return sum(3.0 if _CJK.match(ch) else 1.0 for ch in text if not ch.isspace())


def sentences(text: str) -> int:
    body = text.strip()
    if not body:
        return 0
    ends = len(_SENTENCE_END.findall(body))
    return ends + (0 if _SENTENCE_END.search(body[-1]) else 1)


def _tokens(text: str) -> list[str]:
    """Words, and each CJK character on its own (Chinese has no spaces)."""
    out: list[str] = []
    for word in _WORD.findall(text.casefold()):
        if _CJK.search(word):
            out.extend(word)
        else:
            out.append(word)
    return out


def repeats(text: str) -> bool:
    """The same token, or the same two or three tokens, three times in a row: the loop a
    confused model falls into."""
    tokens = _tokens(text)
    for size in (1, 2, 3):
        for i in range(len(tokens) - 3 * size + 1):
            chunk = tokens[i : i + size]
            if chunk == tokens[i + size : i + 2 * size] == tokens[i + 2 * size : i + 3 * size]:
                return True
    return False


# Words that turn a sentence around. Matched as whole words, except in Chinese (characters);
# languages not listed are not checked.
_NEGATION_WORDS: dict[str, set[str]] = {
    "en": {"no", "not", "never", "cannot", "nothing", "nobody", "none", "nor", "neither"},
    "es": {"no", "nunca", "nadie", "nada", "ni", "tampoco", "jamás"},
    "pt": {"não", "nunca", "ninguém", "nada", "nem", "jamais"},
    "fr": {"ne", "pas", "non", "jamais", "rien", "personne", "aucun", "aucune"},
    "ru": {"не", "нет", "ни", "никогда", "ничего", "никто"},
    "vi": {"không", "chưa", "đừng", "chẳng", "chả"},
}
_NEGATION_CHARS: dict[str, set[str]] = {"zh": {"不", "没", "沒", "別", "别", "无", "無", "未"}}
# Set phrases that hold a negation word but deny nothing ("对不起" is "sorry").
_NOT_NEGATIONS: dict[str, re.Pattern[str]] = {
    "en": re.compile(r"\bno (?:problem|worries)\b|\bnot bad\b"),
    "es": re.compile(r"\bno hay (?:problema|de qué)\b|\bde nada\b"),
    "pt": re.compile(r"\bde nada\b|\bnão (?:há|tem) problema\b|\bnão (?:há|tem) de quê\b"),
    "fr": re.compile(r"\bde rien\b|\bpas de (?:problème|souci)\b|\bn['’]importe\b"),
    "ru": re.compile(r"\bне за что\b|\bничего страшного\b"),
    "vi": re.compile(r"\bkhông (?:sao|có gì)\b"),
    "zh": re.compile(r"对不起|對不起|不好意思|不客气|不客氣|没关系|沒關係|没问题|沒問題|不错|不錯"),
}


def negated(text: str, language: str) -> bool | None:
    """Whether a sentence says "not"; None for a language without a word list."""
    lowered = text.casefold()
    if language in _NOT_NEGATIONS:
        lowered = _NOT_NEGATIONS[language].sub(" ", lowered)
    if language in _NEGATION_CHARS:
        return any(ch in lowered for ch in _NEGATION_CHARS[language])
    words = _NEGATION_WORDS.get(language)
    if words is None:
        return None
    if language == "en" and re.search(r"\w(?:n't|n’t)\b", lowered):
        return True
    if language == "vi":
        # "... không?" and "... chưa?" end yes/no questions ("Cháu có khỏe không?"), they
        # negate nothing.
        lowered = re.sub(r"\b(?:không|chưa)\s*(?=[?？])", " ", lowered)
    if language == "fr":
        lowered = re.sub(r"\bn['’]", "ne ", lowered)
    return any(w in words for w in _WORD.findall(lowered))


def structural_reasons(
    source: str, translation: str, source_lang: str, target_lang: str
) -> list[str]:
    """What the shape of a (masked) translation says, without any model: the cheap checks."""
    src, out = _visible(source), _visible(translation)
    reasons: list[str] = []
    # Protected numbers are placeholders here; these are the ones left among the words.
    if sorted(_DIGITS.findall(src)) != sorted(_DIGITS.findall(out)):
        reasons.append("numbers_changed")
    src_words, out_words = has_words(src), has_words(out)
    copied = src.casefold() == out.casefold() and len(_tokens(src)) >= 2
    if src_words and source_lang != target_lang and copied:
        reasons.append("copied_source")
    if out_words and not src_words:
        reasons.append("words_invented")
    if repeats(out) and not repeats(src):
        reasons.append("repetition")
    src_len, out_len = weighted_length(src), weighted_length(out)
    if src_len >= MIN_LENGTH_FOR_RATIO:
        low, high = LENGTH_RATIO_RANGE
        if not low <= out_len / src_len <= high:
            reasons.append("length_mismatch")
    if sentences(src) != sentences(out) and src_words:
        reasons.append("sentence_count")
    if emoji(src) != emoji(out):
        reasons.append("emoji_changed")
    # An emoji-only sentence that became words: "today. 🎉" → "hoy. No".
    if _emoji_sentence_replaced(src, out):
        reasons.append("words_invented")
    if bool(_QUESTION.search(src)) != bool(_QUESTION.search(out)):
        reasons.append("question_changed")
    src_negated, out_negated = negated(src, source_lang), negated(out, target_lang)
    if src_negated is not None and out_negated is not None and src_negated != out_negated:
        reasons.append("negation_changed")
    return list(dict.fromkeys(reasons))


def _emoji_sentence_replaced(source: str, translation: str) -> bool:
    """A sentence of the original that is only emoji, whose emoji the translation lacks."""
    pieces = [p.strip() for p in _SENTENCE_END.split(source) if p.strip()]
    wanted = Counter(e for p in pieces if not has_words(p) for e in emoji(p))
    return bool(wanted) and bool(wanted - Counter(emoji(translation)))


# Scores -------------------------------------------------------------------------------------


_chrf = None  # sacrebleu's CHRF, made on first use (its import loads numpy: ~0.1 s)


def chrf(hypothesis: str, reference: str) -> float:
    """chrF (0-100) of a back-translation against the original, placeholders left out."""
    global _chrf
    if _chrf is None:
        from sacrebleu.metrics.chrf import CHRF

        _chrf = CHRF()
    return float(_chrf.sentence_score(_visible(hypothesis), [_visible(reference)]).score)


def assess(
    source: str,
    translation: str,
    source_lang: str,
    target_lang: str,
    *,
    model: float | None,
    back: str | None = None,
    notes: Sequence[str] = (),
) -> Quality:
    """The quality of one machine translation. `source` and `translation` are the masked
    texts; `model` the mean log-probability per token (None: not known, e.g. nothing went
    through the model); `back` the translation translated back by the reverse route (None:
    there is none); `notes` reason codes the translating itself found (`spans_lost`,
    `glossary_unplaced`)."""
    reasons = [*notes, *structural_reasons(source, translation, source_lang, target_lang)]
    if not has_words(source) and not reasons:
        return Quality("good", 1.0, [])  # only names, links and numbers: kept as written
    confidence = math.exp(model) if model is not None else 1.0
    round_trip = chrf(back, source) if back is not None else None
    if round_trip is None and has_words(source):
        reasons.append("no_round_trip")
    rt = NO_ROUND_TRIP_CHRF if round_trip is None else round_trip
    score = (confidence + rt / 100) / 2
    if score < GOOD_SCORE:
        # Name the weaker signal, and the other one too if it is low on its own.
        weak = []
        if confidence < MODEL_CONFIDENT:
            weak.append((confidence - MODEL_CONFIDENT, "model_unsure"))
        if round_trip is not None and round_trip < ROUND_TRIP_CLOSE:
            weak.append((round_trip / 100 - ROUND_TRIP_CLOSE / 100, "round_trip_differs"))
        if not weak:
            weak.append((0.0, "model_unsure" if round_trip is None else "round_trip_differs"))
        reasons += [code for _, code in sorted(weak)]
    for code in reasons:
        if code in SEVERE:
            score = min(score, POOR_SCORE - 0.05)
        elif code not in INFO:
            score = min(score, GOOD_SCORE - 0.05)
    level: Level = "good" if score >= GOOD_SCORE else "check" if score >= POOR_SCORE else "poor"
    return Quality(level, round(max(0.0, min(1.0, score)), 3), list(dict.fromkeys(reasons)))
