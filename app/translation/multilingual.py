"""Multilingual models: one CTranslate2 model (M2M-100 or NLLB architecture) for many languages.

Argos has one model per direction and none for several languages families speak; one
multilingual model covers them all at once (M2M-100: 100 languages, MIT; NLLB-200: 200,
CC-BY-NC-4.0). This module installs such models, lists them, loads each once per process
(int8) and translates batches. It depends on app.core, ctranslate2 and sentencepiece only, so
the translation service can choose it per language.

A Hearth multilingual package (`.hearthmodel`) is a zip holding one folder `<name>/`:

    metadata.json        {"type": "multilingual", "format": 1, "name", "family": "m2m100" |
                          "nllb", "package_version", "licence", "languages": [codes],
                          "language_tokens": {code: model token, e.g. "ht": "__ht__" or
                          "hat_Latn"}, optional "directions" ([[from, to], ...] when the model
                          was trained on some pairs only), optional "max_positions" (default
                          1024), optional "hearth_test_model" + "note"}
    model/               the CTranslate2 model (config.json, model.bin, shared_vocabulary.json)
    sentencepiece.model  the model's SentencePiece model
    README.md

Both families read `<source token> pieces </s>` and are steered by the target language's token
as the first target token. Installed packages live beside the Argos packages, in
`<argos dir>/<name>/`: argostranslate lists every folder there but uses only the ones whose
type is "translate", so the two never mix (an extra folder without a metadata.json would stop
argostranslate from listing anything, which is why there is no `multilingual/` subfolder).
"""

import json
import re
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from app.core.config import get_settings
from app.core.errors import Invalid, NotFound

PACKAGE_TYPE = "multilingual"
FAMILIES = ("m2m100", "nllb")
# Licences whose terms forbid some uses: installing such a model takes an explicit yes.
NON_COMMERCIAL = ("CC-BY-NC",)
REQUIRED_FILES = ("model/model.bin", "model/config.json", "sentencepiece.model")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
# Chinese and Japanese sentences are joined without a space.
_NO_SPACE_LANGUAGES = {"zh", "zt", "ja"}
BEAM_SIZE = 4
LENGTH_PENALTY = 0.2
MAX_BATCH_SIZE = 32
MAX_DECODING_LENGTH = 256  # tokens per translated sentence (CTranslate2's default)
DEFAULT_MAX_POSITIONS = 1024  # M2M-100's and NLLB's position tables

_lock = threading.RLock()
_loaded: dict[Path, "_Loaded"] = {}
_installed: list["MultilingualModel"] | None = None  # read once per process, like Argos's pairs


@dataclass(frozen=True)
class MultilingualModel:
    name: str
    family: str
    version: str
    licence: str
    languages: tuple[str, ...]
    language_tokens: dict[str, str]
    directions: frozenset[tuple[str, str]] | None  # None: every pair of its languages
    max_positions: int  # the model's position table: longer sentences are cut to fit
    test_model: bool
    note: str
    path: Path

    def translates(self, source: str, target: str) -> bool:
        if source not in self.language_tokens or target not in self.language_tokens:
            return False
        return self.directions is None or (source, target) in self.directions

    @property
    def engine(self) -> str:
        return f"multilingual:{self.name}@{self.version}"


def needs_licence_acceptance(metadata: dict[str, Any]) -> bool:
    licence = str(metadata.get("licence", "")).upper()
    return metadata.get("family") == "nllb" or any(nc in licence for nc in NON_COMMERCIAL)


def _model_from(metadata: dict[str, Any], path: Path, origin: str) -> MultilingualModel:
    """Validate a package's metadata.json; `origin` names the file for error messages."""
    if metadata.get("type") != PACKAGE_TYPE:
        raise Invalid(f"{origin} is not a multilingual model package (type is not 'multilingual').")
    name = metadata.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise Invalid(f"{origin}: 'name' must be lower-case letters, digits, '_' or '-'.")
    family = metadata.get("family")
    if family not in FAMILIES:
        raise Invalid(f"{origin}: unknown model family {family!r} (known: {', '.join(FAMILIES)}).")
    licence = metadata.get("licence")
    if not isinstance(licence, str) or not licence.strip():
        raise Invalid(f"{origin}: metadata.json names no licence.")
    tokens = metadata.get("language_tokens")
    if (
        not isinstance(tokens, dict)
        or not tokens
        or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in tokens.items())
    ):
        raise Invalid(f"{origin}: 'language_tokens' must map language codes to model tokens.")
    languages = metadata.get("languages") or sorted(tokens)
    if not isinstance(languages, list) or set(languages) - set(tokens):
        raise Invalid(f"{origin}: every language in 'languages' needs a language token.")
    directions = metadata.get("directions")
    if directions is not None:
        if not isinstance(directions, list) or not all(
            isinstance(d, list) and len(d) == 2 and set(d) <= set(tokens) for d in directions
        ):
            raise Invalid(f"{origin}: 'directions' must be [from, to] pairs of its languages.")
        directions = frozenset((a, b) for a, b in directions)
    max_positions = metadata.get("max_positions", DEFAULT_MAX_POSITIONS)
    if not isinstance(max_positions, int) or max_positions < 8:
        raise Invalid(f"{origin}: 'max_positions' must be a whole number of positions (8 or more).")
    return MultilingualModel(
        name=name,
        family=family,
        version=str(metadata.get("package_version", "0")),
        licence=licence.strip(),
        languages=tuple(languages),
        language_tokens=dict(tokens),
        directions=directions,
        max_positions=max_positions,
        test_model=bool(metadata.get("hearth_test_model")),
        note=str(metadata.get("note", "")),
        path=path,
    )


def models_dir() -> Path:
    return get_settings().argos_dir


def installed() -> list[MultilingualModel]:
    """The multilingual packages installed in the models folder, by name."""
    global _installed
    with _lock:
        if _installed is None:
            _installed = _scan(models_dir())
        return list(_installed)


def _scan(root: Path) -> list[MultilingualModel]:
    found = []
    if not root.is_dir():
        return []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(metadata, dict) and metadata.get("type") == PACKAGE_TYPE:
            found.append(_model_from(metadata, folder, str(folder / "metadata.json")))
    return found


def find(source: str, target: str) -> MultilingualModel | None:
    """An installed model for this direction (a real one before a test model)."""
    candidates = [m for m in installed() if m.translates(source, target)]
    candidates.sort(key=lambda m: (m.test_model, m.name))
    return candidates[0] if candidates else None


def _read_package(path: Path) -> tuple[dict[str, Any], str]:
    """(metadata, top folder) of a package file, after checking its layout."""
    if not path.is_file():
        raise Invalid(f"{path} does not exist.")
    if not zipfile.is_zipfile(path):
        raise Invalid(f"{path} is not a multilingual model package (.hearthmodel, a zip archive).")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        tops = {PurePosixPath(n).parts[0] for n in names if n.strip("/")}
        unsafe = [n for n in names if n.startswith("/") or ".." in PurePosixPath(n).parts]
        if unsafe or len(tops) != 1:
            raise Invalid(f"{path} must hold exactly one folder (and nothing outside it).")
        top = tops.pop()
        if f"{top}/metadata.json" not in names:
            raise Invalid(f"{path} has no metadata.json: it is not a multilingual model package.")
        try:
            metadata = json.loads(archive.read(f"{top}/metadata.json"))
        except ValueError:
            raise Invalid(f"{path}: metadata.json is not valid JSON.") from None
        if not isinstance(metadata, dict):
            raise Invalid(f"{path}: metadata.json is not a JSON object.")
        missing = [f for f in REQUIRED_FILES if f"{top}/{f}" not in names]
    model = _model_from(metadata, Path(top), f"{path.name}")
    if missing:
        raise Invalid(f"{path} is incomplete: missing {', '.join(missing)}.")
    if model.name != top:
        raise Invalid(f"{path}: its folder {top!r} is not named after the model ({model.name!r}).")
    return metadata, top


def install(path: Path, *, accept_licence: bool = False) -> MultilingualModel:
    """Install a `.hearthmodel` file. A non-commercial (e.g. NLLB's CC-BY-NC-4.0) model is
    refused unless `accept_licence`: whoever installs it takes responsibility for its terms."""
    metadata, top = _read_package(path)
    if needs_licence_acceptance(metadata) and not accept_licence:
        raise Invalid(
            f"{metadata['name']} is licensed {metadata['licence']}: non-commercial use only. "
            "Install it only if your use complies, and say so explicitly "
            "(accept the licence, e.g. --accept-licence)."
        )
    global _installed
    root = models_dir()
    root.mkdir(parents=True, exist_ok=True)
    destination = root / top
    with _lock, tempfile.TemporaryDirectory(prefix=".installing-", dir=root) as work:
        # argostranslate reads every folder here and fails on one without a metadata.json:
        # the work folder gets one of a type it skips, and the model moves in complete.
        (Path(work) / "metadata.json").write_text('{"type": "hearth-installing"}')
        try:
            with zipfile.ZipFile(path) as archive:
                archive.extractall(work)
        except (zipfile.BadZipFile, OSError) as exc:
            raise Invalid(f"{path} cannot be unpacked: {exc}") from None
        unpacked = Path(work) / top
        if needs_licence_acceptance(metadata):
            metadata["licence_accepted"] = True
            (unpacked / "metadata.json").write_text(
                json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        if destination.exists():
            destination.rename(Path(work) / f"{top}.old")  # deleted with the work folder
        unpacked.rename(destination)
        _loaded.pop(destination, None)
        _installed = None
    return _model_from(metadata, destination, str(destination / "metadata.json"))


# --- translation ---------------------------------------------------------------------------


def split_sentences(text: str) -> list[str]:
    """Sentences of one line: after . ! ? and a space not followed by a lower-case letter (so
    "3 p.m. today" stays whole), and after 。！？ — the rules of Hearth's Argos splitter."""
    sentences, start = [], 0
    for match in re.finditer(r"[.!?]+(\s+)|[。！？]+", text):
        end = match.end()
        if match.group(1) is not None:
            following = text[end : end + 1]
            if following.islower():
                continue
            end = match.start(1)
        sentences.append(text[start:end])
        start = match.end()
    sentences.append(text[start:])
    return [s.strip() for s in sentences if s.strip()]


class _Loaded:
    """One model and its tokenizer, loaded once per process."""

    def __init__(self, model: MultilingualModel) -> None:
        import ctranslate2
        import sentencepiece

        settings = get_settings()
        self.model = model
        self.translator = ctranslate2.Translator(
            str(model.path / "model"),
            device="cpu",
            compute_type="int8",
            inter_threads=settings.argos_inter_threads,
            intra_threads=settings.argos_intra_threads,
        )
        self.tokenizer = sentencepiece.SentencePieceProcessor(
            model_file=str(model.path / "sentencepiece.model")
        )

    def translate_sentences(
        self, sentences: list[str], source: str, target: str
    ) -> list[tuple[str, float, int]]:
        """Each sentence translated, with its summed log-probability and the tokens scored."""
        source_token = self.model.language_tokens[source]
        target_token = self.model.language_tokens[target]
        # CTranslate2 fails on positions past the model's table: cut an overlong sentence so
        # that it fits with its language token and </s>, and bound the output the same way.
        room = self.model.max_positions - 2
        batch = [
            [source_token, *self.tokenizer.encode(s, out_type=str)[:room], "</s>"]
            for s in sentences
        ]
        results = self.translator.translate_batch(
            batch,
            target_prefix=[[target_token]] * len(batch),
            beam_size=BEAM_SIZE,
            num_hypotheses=1,
            length_penalty=LENGTH_PENALTY,
            replace_unknowns=True,
            max_batch_size=MAX_BATCH_SIZE,
            batch_type="examples",
            max_input_length=0,  # already cut above
            max_decoding_length=min(MAX_DECODING_LENGTH, room),
            return_scores=True,  # at no extra decoding cost: the quality signal reads them
        )
        out = []
        for result in results:
            pieces = result.hypotheses[0]
            # CTranslate2 divides the summed log-probability by (length + 1) ** length_penalty,
            # the +1 being the end of sentence it also scored (as in app/translation/argos.py).
            n = len(pieces) + 1
            if pieces[:1] == [target_token]:
                pieces = pieces[1:]
            text = self.tokenizer.decode_pieces(pieces).strip()
            out.append((text, result.scores[0] * n**LENGTH_PENALTY, n))
        return out


def _load(model: MultilingualModel) -> _Loaded:
    with _lock:
        if model.path not in _loaded:
            _loaded[model.path] = _Loaded(model)
        return _loaded[model.path]


def loaded_count() -> int:
    return len(_loaded)


def reset() -> None:
    """Forget the loaded models and the list of installed ones (after removing a model's
    folder, and between tests)."""
    global _installed
    with _lock:
        _loaded.clear()
        _installed = None


def translate(
    texts: list[str], source: str, target: str, model: MultilingualModel | None = None
) -> list[str]:
    """Each text translated: line by line, every sentence of every text in one batch."""
    return [text for text, _, _ in translate_scored(texts, source, target, model)]


def translate_scored(
    texts: list[str], source: str, target: str, model: MultilingualModel | None = None
) -> list[tuple[str, float, int]]:
    """Like `translate`, with each text's summed log-probability and the tokens scored (0
    when nothing went through the model): what the quality signal needs."""
    if source == target:
        return [(text, 0.0, 0) for text in texts]
    model = model or find(source, target)
    if model is None:
        raise NotFound(f"No installed multilingual model translates {source} → {target}.")
    if not model.translates(source, target):
        raise Invalid(f"{model.name} does not translate {source} → {target}.")
    lines = [text.split("\n") for text in texts]
    sentences = [[split_sentences(line) for line in text] for text in lines]
    flat = [s for text in sentences for line in text for s in line]
    translated = iter(_load(model).translate_sentences(flat, source, target) if flat else [])
    joiner = "" if target in _NO_SPACE_LANGUAGES else " "
    out = []
    for text, original_lines in zip(sentences, lines, strict=True):
        done_lines, log_prob, tokens = [], 0.0, 0
        for line, original in zip(text, original_lines, strict=True):
            done = [next(translated) for _ in line]
            log_prob += sum(lp for _, lp, _ in done)
            tokens += sum(n for _, _, n in done)
            done_lines.append(joiner.join(t for t, _, _ in done) if line else original)
        out.append(("\n".join(done_lines), log_prob, tokens))
    return out
