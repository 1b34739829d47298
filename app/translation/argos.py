"""Argos Translate, loaded through its own package format and loading code.

argostranslate reads its settings from the environment when it is first imported, so this is
the one module that imports it, and only after `configure()` has put Hearth's settings there.
The distribution is `argos-translate-lt`: the same `argostranslate` package without stanza,
so nothing here ever imports torch."""

import json
import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

from app.core.config import Settings, get_settings
from app.translation.batching import Batcher

_lock = threading.RLock()
_modules: dict[str, ModuleType] = {}

# Used for packages that ship no sentence splitter: MiniSBD would otherwise try to download
# one on first use, which fails on an offline server.
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")
# Every sentence-ending mark (a run of them), with the space and the character after it.
_ENDS = re.compile(r"([.!?]+)(\s*)(\S?)")
# Words of three letters or more that are often cut short with a full stop (titles, months,
# days, places, addresses, letter openers; English, Spanish, Portuguese, French, German,
# Russian): followed by a capital, such a stop may end no sentence ("Mrs. Lee", "Sres.
# Padres"). A word without a vowel ("Bldg.", "bzw.", "Msgr.") counts as one too.
_ABBREVIATIONS = frozenset(
    ["mrs", "sra", "srta", "dra", "mme", "mlle", "prof", "rev", "gen", "capt", "col", "sgt",
     "gov", "sen", "rep", "ave", "blvd", "hwy", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
     "sep", "sept", "oct", "nov", "dec", "mon", "tue", "tues", "wed", "thu", "thur", "thurs",
     "fri", "sat", "sun", "inc", "ltd", "corp", "univ", "dept", "vol", "fig", "etc", "approx",
     "aprox", "incl", "excl", "tel", "ext", "est", "uds", "pág", "núm",
     "bro", "supt", "asst", "pres", "elem", "natl", "apt", "conf", "hon", "assn", "ste", "rte",
     "ref", "sec", "art", "cap", "fax", "cel", "min", "max",
     "sres", "sras", "srtas", "mtro", "mtra", "profa", "profr", "profra", "lic", "ing", "arq",
     "psic", "gral", "esc", "prim", "atte", "dña", "lcdo", "lcda", "cía", "avda",
     "exmo", "exma", "exmos", "exmas", "ilmo", "ilma", "sta", "sto", "cia",
     "mmes", "tél", "env", "evtl", "usw", "gez", "mag", "dir", "dipl",
     "проф", "доц", "пер", "обл", "акад", "тел"]
)  # fmt: skip
_VOWELS = frozenset("aeiouyæøœåаеёиоуыэюяіїє")

# As argostranslate decodes; the scores below undo it to get log-probabilities per token.
LENGTH_PENALTY = 0.2


def configure(settings: Settings) -> None:
    """Put Hearth's settings where argostranslate looks for them. Before the first import."""
    home = (settings.data_dir / "argos").resolve()
    os.environ["ARGOS_PACKAGES_DIR"] = str(settings.argos_dir)
    os.environ["XDG_DATA_HOME"] = str(home / "data")
    os.environ["XDG_CONFIG_HOME"] = str(home / "config")
    os.environ["XDG_CACHE_HOME"] = str(home / "cache")
    # CTranslate2 threads: on small models, one thread per translation is far faster than
    # spreading one sentence over every core (measured ~40x on 2 cores).
    os.environ["ARGOS_INTER_THREADS"] = str(settings.argos_inter_threads)
    os.environ["ARGOS_INTRA_THREADS"] = str(settings.argos_intra_threads)
    os.environ["ARGOS_CHUNK_TYPE"] = "MINISBD"
    os.environ.setdefault("ARGOS_DEVICE_TYPE", "cpu")
    settings.argos_dir.mkdir(parents=True, exist_ok=True)


def argos() -> tuple[ModuleType, ModuleType, ModuleType]:
    """(argostranslate.package, argostranslate.translate, argostranslate.settings)."""
    with _lock:
        if not _modules:
            configure(get_settings())
            # Only now: argostranslate reads its settings from the environment at import.
            import argostranslate.package
            import argostranslate.settings
            import argostranslate.translate

            _modules["package"] = argostranslate.package
            _modules["translate"] = argostranslate.translate
            _modules["settings"] = argostranslate.settings
    return _modules["package"], _modules["translate"], _modules["settings"]


@dataclass(frozen=True)
class InstalledPair:
    source: str
    target: str
    version: str
    path: Path
    # From the package's metadata.json: its licence when it names one, whether Hearth built
    # it for tests, and whether `hearth models import` made it from an OPUS-MT checkpoint.
    licence: str | None = None
    test_model: bool = False
    imported: bool = False

    @property
    def engine(self) -> str:
        return f"argos:{self.source}-{self.target}@{self.version}"


def _pair(pkg: Any) -> InstalledPair:
    path = Path(pkg.package_path)
    try:
        metadata = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        metadata = {}
    licence = metadata.get("licence") or metadata.get("license")
    return InstalledPair(
        pkg.from_code,
        pkg.to_code,
        pkg.package_version or "0",
        path,
        licence=str(licence) if licence else None,
        test_model=bool(metadata.get("hearth_test_model")),
        imported=bool(metadata.get("imported_from")),
    )


@dataclass(frozen=True)
class Scored:
    """A translation with the model's own confidence in it."""

    text: str
    log_prob: float  # summed log-probability of every target token, end of sentence included
    tokens: int  # target tokens scored (0 when nothing went through the model)

    @property
    def mean_log_prob(self) -> float:
        """Mean log-probability per target token: 0 is certain; the geometric mean of the
        token probabilities is exp() of it."""
        return self.log_prob / self.tokens if self.tokens else 0.0


def clear_ends(text: str) -> bool:
    """Whether every full stop, question and exclamation mark in `text` (alphabetic scripts)
    either ends the text or plainly ends a sentence: one mark, then a space and a capital
    letter (or a protected span: a name), and for a full stop a word of three letters or more
    before it that is not often an abbreviation. Anything else ("Mr. Lee", "Sres. Padres",
    "3.30", "a.m.", "etc. The", "Wow...", "Go." then a quote, a protected number before the
    stop as in "am 3. Oktober" or "1. Bring lunch 2. …") is left to the splitter's model, and
    so is a text in a script without capitals or with its own marks."""
    if not text.isascii() and any(ch in text for ch in "。！？؟।"):
        return False
    for match in _ENDS.finditer(text):
        marks, space, following = match.groups()
        if not following:
            continue  # the text's end
        # A protected span (a name, a time) counts as a capitalized word.
        capital = following.isupper() or _PLACEHOLDER.match(text, match.start(3))
        if len(marks) > 1 or not space or not capital:
            return False
        before = text[max(0, match.start() - 40) : match.start()].split()
        word = before[-1] if before else ""
        if marks == "." and not _plain_word(word):
            return False
    return True


def _plain_word(word: str) -> bool:
    """A word that ends a sentence when a full stop follows it, not an abbreviation."""
    if len(word) < 3 or not word.isalpha() or "ª" in word or "º" in word:
        return False
    lower = word.lower()
    vowels = any(ch in _VOWELS for ch in unicodedata.normalize("NFD", lower))
    return vowels and lower not in _ABBREVIATIONS


def _is_symbol(ch: str) -> bool:
    """Emoji and other pictographs, with their joiners, variation selectors and skin tones."""
    return unicodedata.category(ch) in ("So", "Sk", "Me") or ch in "\u200d\ufe0e\ufe0f"


def split_symbols(sentence: str) -> tuple[str, str, str]:
    """(leading emoji, the words, trailing emoji): emoji at a sentence's edges stay out of the
    model, which knows none and turns them into invented words ("hoy. No" for "today. 🎉")."""
    start, end = 0, len(sentence)
    while start < end and (_is_symbol(sentence[start]) or sentence[start].isspace()):
        start += 1
    while end > start and (_is_symbol(sentence[end - 1]) or sentence[end - 1].isspace()):
        end -= 1
    return sentence[:start], sentence[start:end], sentence[end:]


_PLACEHOLDER = re.compile(r"<x\d+>")  # a protected span (app/translation/protect.py)


def has_words(text: str) -> bool:
    return any(ch.isalpha() for ch in _PLACEHOLDER.sub("", text))


class _Loaded:
    """One package's model, tokenizer and sentence splitter, loaded once per process."""

    def __init__(self, pkg: Any) -> None:
        # With the first model, not at start-up: heavy, and after argos() set the environment.
        import ctranslate2
        from argostranslate import settings as argos_settings
        from argostranslate.sbd import MiniSBDSentencizer
        from argostranslate.tokenizer import SentencePieceTokenizer

        self.pkg = pkg
        # A package imported from an OPUS-MT checkpoint (app/translation/importer.py) keeps
        # Marian's own target SentencePiece model beside `sentencepiece.model` (the source one).
        target_spm = Path(pkg.package_path) / "target.spm"
        self.decoder = SentencePieceTokenizer(target_spm) if target_spm.is_file() else pkg.tokenizer
        # Such a model also has a fixed table of positions: longer sentences are cut to fit
        # instead of failing (1024 is CTranslate2's own cut).
        metadata = json.loads((Path(pkg.package_path) / "metadata.json").read_text())
        self.max_input_length = int(metadata.get("max_positions") or 1024)
        self.translator = ctranslate2.Translator(
            str(pkg.package_path / "model"),
            device=argos_settings.device,
            inter_threads=argos_settings.inter_threads,
            intra_threads=argos_settings.intra_threads,
        )
        self.beam_size = argos_settings.beam_size
        self.batch_size = argos_settings.batch_size
        # The package's own splitter model, as argostranslate finds it, called directly:
        # argostranslate's `split_sentences` logs a line at info for every text. With one
        # thread: by default onnxruntime runs (and spins) a thread per core for every tiny
        # call, which concurrent requests then fight over.
        self.sentencizer: Any = None
        if any((pkg.package_path / "minisbd").glob("*.onnx")):
            from minisbd import SBDetect

            lang = MiniSBDSentencizer(pkg).lang
            self.sentencizer = SBDetect(lang, use_gpu=False, max_threads=1)
        # Concurrent callers' sentences in one model call (app/translation/batching.py); the
        # scores come free with the decoding, so a batch always asks for them.
        settings = get_settings()
        self.batcher: Batcher | None = None
        self.greedy_batcher: Batcher | None = None  # the quality check's way back
        # A lone caller's beam search is spread over the replicas; the greedy way back is not
        # (on the test models two halves at once were ~5 % faster than one call, for half as
        # much CPU again; the beam: 10-30 % faster, a quarter more CPU).
        if settings.translate_batch_max > 1:
            self.batcher, self.greedy_batcher = (
                Batcher(
                    partial(self._decode_batch, greedy=greedy),
                    runners=argos_settings.inter_threads,
                    wait_ms=settings.translate_batch_wait_ms,
                    max_batch=settings.translate_batch_max,
                    name=f"{pkg.from_code}-{pkg.to_code}{'-greedy' if greedy else ''}",
                    spread=None if greedy else self._decode_spread,
                )
                for greedy in (False, True)
            )

    def split(self, text: str, model: bool = True) -> list[str]:
        """The sentences of `text`, by the package's splitter model; by punctuation alone
        without it, with `model=False`, or where punctuation leaves no doubt (see
        `clear_ends`: the model's Python around it was ~12 % of a never-repeated translate
        request's GIL time)."""
        if not _SENTENCE_END.search(text.strip()):
            return [text]  # one sentence: no need to run the splitter's model
        if model and self.sentencizer is not None and not clear_ends(text):
            return [s for s in self.sentencizer.sentences(text) if s.strip()] or [text]
        return [s for s in _SENTENCE_END.split(text) if s.strip()] or [text]

    def translate(self, texts: list[str], greedy: bool = False) -> list[str]:
        return [s.text for s in self._translate(texts, scores=False, greedy=greedy)]

    def translate_scored(self, texts: list[str]) -> list[Scored]:
        return self._translate(texts, scores=True)

    def _translate(self, texts: list[str], scores: bool, greedy: bool = False) -> list[Scored]:
        """Every sentence of every text in one CTranslate2 call, as argostranslate does it.
        A sentence without a word (emoji, numbers, placeholders only) is kept as written.
        `greedy`: one hypothesis instead of argostranslate's beam (see `_decode_batch`), and
        sentences split by punctuation: the quality check's way back reads a translation that
        was joined from the model's sentences with spaces, and has only to say whether the
        meaning survived (running the splitter's model again was ~5 % of a never-repeated
        API request's Python time, bench/README.md)."""
        sentences: list[list[tuple[str, str, str]]] = [
            [split_symbols(s) for s in self.split(t, model=not greedy)] if t.strip() else []
            for t in texts
        ]
        flat = [core for group in sentences for _, core, _ in group if has_words(core)]
        tokens = [self.pkg.tokenizer.encode(s) for s in flat]
        batcher = self.greedy_batcher if greedy else self.batcher
        if batcher is not None:
            results = batcher.translate(tokens)
        else:
            results = self._decode_batch(tokens, scores, greedy) if tokens else []
        done = iter(results)
        out = []
        for group, original in zip(sentences, texts, strict=True):
            parts, log_prob, count = [], 0.0, 0
            for lead, core, trail in group:
                if not has_words(core):
                    parts.append(f"{lead}{core}{trail}".strip())
                    continue
                result = next(done)
                hypothesis = result.hypotheses[0]
                parts.append(_around(lead, self._decode(hypothesis), trail))
                if scores:
                    # CTranslate2 divides the summed log-probability by (length + 1) **
                    # length_penalty, the +1 being the end-of-sentence token it also scored.
                    n = len(hypothesis) + 1
                    log_prob, count = log_prob + result.scores[0] * n**LENGTH_PENALTY, count + n
            out.append(Scored(_join_sentences(parts, original), log_prob, count))
        return out

    def _decode_spread(self, tokens: list[list[str]], parts: int) -> list[Any]:
        """`_decode_batch` in `parts` pieces that CTranslate2 runs at once, one per replica
        (it cuts a call into pieces of `max_batch_size` and queues each to its replicas)."""
        return self._decode_batch(tokens, piece=-(-len(tokens) // parts))

    def _decode_batch(
        self,
        tokens: list[list[str]],
        scores: bool = True,
        greedy: bool = False,
        piece: int | None = None,
    ) -> list[Any]:
        """One CTranslate2 call for every sentence, with argostranslate's options. `greedy`:
        beam size 1, for the quality check's way back (it only has to say whether the meaning
        survived; on the test models a third of the beam's work per sentence; the check's cost
        and calibration: bench/translation_quality.py)."""
        prefix = [[self.pkg.target_prefix]] * len(tokens) if self.pkg.target_prefix else None
        results: list[Any] = self.translator.translate_batch(
            tokens,
            target_prefix=prefix,
            replace_unknowns=True,
            # Batches of up to N sentences: argostranslate's N *tokens* cut a batch into
            # pieces of three or four sentences, ~1.5x slower for identical output
            # (bench/translation.py).
            max_batch_size=piece or self.batch_size,
            batch_type="examples",
            beam_size=1 if greedy else self.beam_size,
            num_hypotheses=1,
            length_penalty=LENGTH_PENALTY,
            return_scores=scores,
            max_input_length=self.max_input_length,
        )
        return results

    def _decode(self, hypothesis: list[str]) -> str:
        value: str = self.decoder.decode(hypothesis)
        if self.pkg.target_prefix and value.startswith(self.pkg.target_prefix):
            value = value[len(self.pkg.target_prefix) :]
        return value.lstrip(" ")


def _around(lead: str, words: str, trail: str) -> str:
    """The emoji put back around a translated sentence, spaced as in the original (with a
    space where the original had none but the translation is not in CJK script)."""

    def gap(original_gap: str, neighbour: str) -> str:
        if original_gap:
            return " "
        return "" if neighbour and "\u3000" <= neighbour <= "\u9fff" else " "

    out = words
    if lead.strip():
        out = lead.strip() + gap(lead[len(lead.rstrip()) :], words[:1]) + out
    if trail.strip():
        out = out + gap(trail[: len(trail) - len(trail.lstrip())], words[-1:]) + trail.strip()
    return out


def _join_sentences(parts: list[str], original: str) -> str:
    if not parts:
        return original
    cjk = any("\u3000" <= ch <= "\u9fff" for ch in "".join(parts))
    return ("" if cjk else " ").join(p.strip() for p in parts)


class ArgosEngine:
    """The installed Argos packages of this process; models load on first use, then stay."""

    def __init__(self) -> None:
        self._loaded: dict[tuple[str, str], _Loaded] = {}
        self._pairs: dict[tuple[str, str], InstalledPair] | None = None

    def pairs(self) -> dict[tuple[str, str], InstalledPair]:
        with _lock:
            if self._pairs is None:
                package, _, _ = argos()
                found: dict[tuple[str, str], InstalledPair] = {}
                for pkg in package.get_installed_packages():
                    if pkg.type == "translate" and pkg.from_code and pkg.to_code:
                        pair = _pair(pkg)
                        key = (pair.source, pair.target)
                        # Both an index package and an imported one for a pair: the index's.
                        if key not in found or found[key].imported:
                            found[key] = pair
                self._pairs = found
            return self._pairs

    def loaded_count(self) -> int:
        return len(self._loaded)

    def _model(self, source: str, target: str) -> _Loaded:
        key = (source, target)
        with _lock:
            if key not in self._loaded:
                package, _, _ = argos()
                pair = self.pairs()[key]
                self._loaded[key] = _Loaded(package.Package(pair.path))
            return self._loaded[key]

    def translate(self, texts: list[str], source: str, target: str) -> list[str]:
        return self._model(source, target).translate(texts)

    def translate_greedy(self, texts: list[str], source: str, target: str) -> list[str]:
        """Like translate with beam size 1: for checking, not for families."""
        return self._model(source, target).translate(texts, greedy=True)

    def translate_scored(self, texts: list[str], source: str, target: str) -> list[Scored]:
        """Like translate, with the model's confidence (CTranslate2's scores, at no extra
        decoding cost)."""
        return self._model(source, target).translate_scored(texts)

    def install_file(self, path: Path) -> list[InstalledPair]:
        package, translate, _ = argos()
        before = set(self.pairs())
        package.install_from_path(path)
        translate.get_installed_languages.cache_clear()
        with _lock:
            self._pairs = None
        return [p for key, p in self.pairs().items() if key not in before]

    def reset(self) -> None:
        with _lock:
            self._loaded.clear()
            self._pairs = None


engine = ArgosEngine()
