"""`hearth models import`: a Marian (OPUS-MT) checkpoint in Hugging Face format → an Argos package.

Argos has no model for several languages families speak (Vietnamese, Haitian Creole, Somali...)
while OPUS-MT publishes Marian checkpoints for them. CTranslate2's own converter turns one into
a CTranslate2 model; this module checks the checkpoint, runs the converter and writes a real
`.argosmodel` that argos-translate-lt installs and Hearth translates with.

Converting needs transformers and torch (the `hearth[convert]` extra). They are imported here
only, and only when converting: the package written needs neither, and the server never
imports this module to translate.

How a checkpoint with two SentencePiece models becomes one Argos package:
- `sentencepiece.model` is the checkpoint's `source.spm`: argostranslate (and LibreTranslate)
  encode with it, as Argos's own OPUS-MT ports do;
- `target.spm` is kept beside it, and Hearth's loader (app/translation/argos.py) decodes with it,
  so Hearth's output is exactly what CTranslate2 gives with the checkpoint's own tokenizers
  (argostranslate itself decodes with `sentencepiece.model`, which reads the same pieces back
  except where the target model's pieces are unknown to the source model);
- Marian appends `</s>` to every source sentence while argostranslate passes the bare pieces,
  so the converted model's config says `add_source_eos` (as CTranslate2's own Marian converter
  writes it): CTranslate2 then appends it for every caller.
"""

import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.contact import EXTRA_LANGUAGES, language_names
from app.core.errors import Invalid

ARGOS_VERSION = "1.12.1"  # the argos-translate-lt release Hearth runs
REQUIRED_FILES = ("config.json", "source.spm", "target.spm", "vocab.json")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
TEST_MODEL_TAG = "hearth-test-model"
TEST_MODEL_NOTE = (
    "Test model built by Hearth's test suite: knows only ~290 templated school sentences and "
    "turns anything else into nonsense. Not for families."
)
_CODE = re.compile(r"^[a-z]{2,3}$")
_DIR_NAME = re.compile(r"(?:^|-)([a-z]{2,3})-([a-z]{2,3})$")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---", re.DOTALL)


@dataclass(frozen=True)
class MarianCheckpoint:
    path: Path
    source: str
    target: str
    licence: str  # from the model card's front matter; "" when it names none
    test_model: bool
    model_card: str
    max_positions: int


@dataclass(frozen=True)
class ImportedPackage:
    path: Path
    source: str
    target: str
    licence: str
    test_model: bool


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Invalid(f"{path} is not a JSON object.")
    return data


def _front_matter(card: str) -> str:
    match = _FRONT_MATTER.match(card.replace("\r\n", "\n"))
    return match.group(1) if match else ""


def _card_languages(card: str, side: str) -> str | None:
    """OPUS-MT model cards say `* source languages: en` (one code, or several for multi-language
    models, which this importer does not handle)."""
    match = re.search(rf"^\*\s*{side} languages?:\s*(.+)$", card, re.MULTILINE | re.IGNORECASE)
    return match.group(1).strip() if match else None


def language_code(raw: str, which: str) -> str:
    """An ISO 639 code Hearth knows, in the two-letter form Argos uses where one exists."""
    code = raw.strip().lower().replace("_", "-")
    if not _CODE.match(code):
        raise Invalid(
            f"The {which} language {raw!r} is not one language code (e.g. en, ht, vi): "
            "multi-language checkpoints cannot become an Argos package. Pass --from/--to "
            "only for a checkpoint that translates one language into one other."
        )
    if code in EXTRA_LANGUAGES:
        return code
    try:
        from babel import Locale

        canonical = Locale.parse(code).language  # hat → ht, vie → vi
        language_names(canonical)
    except Exception:
        raise Invalid(f"Unknown {which} language code {raw!r}.") from None
    return canonical if len(code) == 3 and len(canonical) == 2 else code


def inspect_checkpoint(
    path: Path, source: str | None = None, target: str | None = None
) -> MarianCheckpoint:
    """Check that `path` is a Marian checkpoint this importer can convert (no heavy imports)."""
    if not path.is_dir():
        raise Invalid(f"{path} is not a directory: give the folder of a Marian checkpoint.")
    config_path = path / "config.json"
    if not config_path.is_file():
        raise Invalid(f"{path} has no config.json: it is not a Hugging Face model checkpoint.")
    config = _read_json(config_path)
    model_type = config.get("model_type")
    if model_type != "marian":
        raise Invalid(
            f"{path} is not a Marian checkpoint (config.json model_type is {model_type!r}, "
            "not 'marian'): only Marian / OPUS-MT checkpoints can be imported."
        )
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        missing.append(" or ".join(WEIGHT_FILES))
    if missing:
        raise Invalid(f"{path} is not a complete Marian checkpoint: missing {', '.join(missing)}.")
    tokenizer_config = (
        _read_json(path / "tokenizer_config.json")
        if (path / "tokenizer_config.json").is_file()
        else {}
    )
    if tokenizer_config.get("separate_vocabs") or (path / "target_vocab.json").is_file():
        raise Invalid(
            f"{path} has separate source and target vocabularies, which CTranslate2's "
            "converter cannot carry into one model: it cannot be imported."
        )
    vocab = _read_json(path / "vocab.json")
    if any(token.startswith(">>") and token.endswith("<<") for token in vocab):
        raise Invalid(
            f"{path} is a multi-target model (it chooses the language with >>xx<< tokens): "
            "only one-to-one checkpoints, such as opus-mt-en-ht, can be imported."
        )
    card_path = path / "README.md"
    card = card_path.read_text(encoding="utf-8", errors="replace") if card_path.is_file() else ""
    guesses = [
        (tokenizer_config.get("source_lang"), tokenizer_config.get("target_lang")),
        (_card_languages(card, "source"), _card_languages(card, "target")),
    ]
    if match := _DIR_NAME.search(path.resolve().name.lower()):
        guesses.append((match.group(1), match.group(2)))
    source = source or next((s for s, _ in guesses if s), None)
    target = target or next((t for _, t in guesses if t), None)
    if not source or not target:
        raise Invalid(
            f"Cannot tell which languages {path} translates: pass --from and --to "
            "(e.g. --from en --to ht)."
        )
    source, target = language_code(source, "source"), language_code(target, "target")
    if source == target:
        raise Invalid(f"Source and target are both {source!r}.")
    front = _front_matter(card)
    licence = re.search(r"^licen[cs]e:\s*(\S+)", front, re.MULTILINE)
    return MarianCheckpoint(
        path=path,
        source=source,
        target=target,
        licence=licence.group(1).strip("'\"") if licence else "",
        test_model=re.search(rf"^\s*-\s*{TEST_MODEL_TAG}\s*$", front, re.MULTILINE) is not None,
        model_card=card,
        max_positions=int(config.get("max_position_embeddings") or 512),
    )


def _converter() -> Any:
    """CTranslate2's TransformersConverter, or a clear error when the extra is not installed."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
        from ctranslate2.converters import TransformersConverter
    except ImportError as exc:
        raise Invalid(
            f"Converting a checkpoint needs transformers and torch ({exc.name} is missing): "
            "install hearth[convert] (pip install 'hearth[convert]'). Only the conversion "
            "needs them; translating with the package does not."
        ) from None
    return TransformersConverter


def _package_readme(checkpoint: MarianCheckpoint, names: tuple[str, str]) -> str:
    licence = checkpoint.licence or "not stated in the checkpoint's model card"
    header = (
        f"# {names[0]} → {names[1]} (imported Marian checkpoint)\n\n"
        f"Converted by `hearth models import` from the Marian checkpoint "
        f"`{checkpoint.path.resolve().name}` with CTranslate2's TransformersConverter (int8).\n"
        f"Licence of the original model: {licence}. Its model card follows.\n\n---\n\n"
    )
    return header + (checkpoint.model_card or "(The checkpoint had no model card.)\n")


def _write_zip(folder: Path, destination: Path) -> None:
    """Zip `folder` as `<folder name>/...` (what argostranslate extracts), then move it into
    place in one step, so a failed import leaves no half-written package."""
    partial = destination.with_name(destination.name + ".partial")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(p for p in folder.rglob("*") if p.is_file()):
                archive.write(file, f"{folder.name}/{file.relative_to(folder).as_posix()}")
        partial.replace(destination)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise Invalid(f"Cannot write {destination}: {exc.strerror or exc}") from None


def import_checkpoint(
    path: Path,
    out: Path | None = None,
    source: str | None = None,
    target: str | None = None,
    version: str = "1.0",
) -> ImportedPackage:
    """Convert the checkpoint at `path` into `out` (default `translate-<from>_<to>.argosmodel`
    in the current directory)."""
    checkpoint = inspect_checkpoint(path, source, target)
    converter_class = _converter()
    from app.translation.sentence_rules import minisbd_model

    code = f"translate-{checkpoint.source}_{checkpoint.target}"
    out = out or Path.cwd() / f"{code}.argosmodel"
    if out.is_dir():
        out = out / f"{code}.argosmodel"
    names = (language_names(checkpoint.source)[0], language_names(checkpoint.target)[0])
    with tempfile.TemporaryDirectory(prefix="hearth-import-") as work:
        package = Path(work) / code
        package.mkdir()
        try:
            converter_class(str(path)).convert(
                str(package / "model"), quantization="int8", force=True
            )
        except Exception as exc:  # the converter raises many kinds; all mean "not convertible"
            raise Invalid(f"CTranslate2 could not convert {path}: {exc}") from None
        model_config_path = package / "model" / "config.json"
        model_config = json.loads(model_config_path.read_text())
        model_config["add_source_eos"] = True  # Marian was trained with </s> on every source
        model_config_path.write_text(json.dumps(model_config, indent=2) + "\n")
        shutil.copyfile(path / "source.spm", package / "sentencepiece.model")
        shutil.copyfile(path / "target.spm", package / "target.spm")
        (package / "minisbd").mkdir()
        (package / "minisbd" / f"{checkpoint.source}.onnx").write_bytes(
            minisbd_model(checkpoint.source)
        )
        metadata: dict[str, object] = {
            "package_version": version,
            "argos_version": ARGOS_VERSION,
            "type": "translate",
            "code": code,
            "from_code": checkpoint.source,
            "from_name": names[0],
            "to_code": checkpoint.target,
            "to_name": names[1],
            "links": [],
            "source": "opus-mt import",
            "imported_from": checkpoint.path.resolve().name,
            "licence": checkpoint.licence,
            "target_sentencepiece": "target.spm",
            # The converter keeps the checkpoint's position table: no longer input than this.
            "max_positions": checkpoint.max_positions,
        }
        if checkpoint.test_model:
            metadata |= {"hearth_test_model": True, "note": TEST_MODEL_NOTE}
        (package / "metadata.json").write_text(
            json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (package / "README.md").write_text(_package_readme(checkpoint, names), encoding="utf-8")
        _write_zip(package, out)
    return ImportedPackage(
        out, checkpoint.source, checkpoint.target, checkpoint.licence, checkpoint.test_model
    )
