"""`hearth models import`: the project's tiny OPUS-MT-shaped checkpoint (tests/fixtures/marian)
→ CTranslate2's converter → a real .argosmodel → installed with `hearth models install-file` →
translating exactly like raw CTranslate2 with the checkpoint's own tokenizers.

Converting needs the `convert` extra (transformers, torch), which the runtime test environment
deliberately lacks; those tests skip there and run in an environment with `.[dev,convert]`
(`make test-convert`). Everything else here runs anywhere."""

import csv
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from importlib.util import find_spec
from pathlib import Path

import pytest

from app.core.errors import Invalid
from app.translation import importer
from tests.conftest import ROOT, run_hearth

CHECKPOINT = ROOT / "tests" / "fixtures" / "marian" / "hearth-tiny-mt-en-ht"
CORPUS = ROOT / "tests" / "fixtures" / "argos" / "corpus.tsv"
needs_convert = pytest.mark.skipif(
    find_spec("transformers") is None or find_spec("torch") is None,
    reason="transformers/torch not importable: install the hearth[convert] extra "
    "(make test-convert runs these tests)",
)


def heldout() -> list[dict[str, str]]:
    with open(CORPUS, encoding="utf-8") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r["split"] == "heldout"]


def copy_checkpoint(tmp_path: Path, name: str = "opus-mt-en-ht") -> Path:
    copy = tmp_path / name
    shutil.copytree(CHECKPOINT, copy)
    return copy


def test_the_fixture_is_shaped_like_a_published_opus_mt_checkpoint():
    names = {p.name for p in CHECKPOINT.iterdir()}
    assert names == {
        "README.md",
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "source.spm",
        "target.spm",
        "special_tokens_map.json",
        "tokenizer_config.json",
        "vocab.json",
    }
    assert sum(p.stat().st_size for p in CHECKPOINT.iterdir()) < 2_000_000
    vocab = json.loads((CHECKPOINT / "vocab.json").read_text())
    assert (vocab["</s>"], vocab["<unk>"], vocab["<pad>"]) == (0, 1, len(vocab) - 1)


def test_inspect_reads_languages_licence_and_the_test_mark():
    checkpoint = importer.inspect_checkpoint(CHECKPOINT)
    assert (checkpoint.source, checkpoint.target) == ("en", "ht")
    assert checkpoint.licence == "mit"
    assert checkpoint.test_model


def test_languages_come_from_the_card_or_the_folder_name_when_the_tokenizer_says_nothing(
    tmp_path,
):
    copy = copy_checkpoint(tmp_path, "opus-mt-en-so")
    (copy / "tokenizer_config.json").write_text("{}")
    assert importer.inspect_checkpoint(copy).target == "ht"  # the model card's languages
    (copy / "README.md").unlink()
    checkpoint = importer.inspect_checkpoint(copy)  # only the folder name is left
    assert (checkpoint.source, checkpoint.target, checkpoint.licence) == ("en", "so", "")
    assert not checkpoint.test_model
    three_letters = importer.inspect_checkpoint(copy, "eng", "hat")
    assert (three_letters.source, three_letters.target) == ("en", "ht")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: shutil.rmtree(d), "is not a directory"),
        (lambda d: (d / "config.json").unlink(), "has no config.json"),
        (
            lambda d: (d / "config.json").write_text('{"model_type": "m2m_100"}'),
            "is not a Marian checkpoint",
        ),
        (lambda d: (d / "config.json").write_text("{not json"), "is not readable JSON"),
        (lambda d: (d / "target.spm").unlink(), "missing target.spm"),
        (
            lambda d: (d / "model.safetensors").unlink(),
            "missing model.safetensors or pytorch_model.bin",
        ),
        (
            lambda d: (d / "tokenizer_config.json").write_text('{"separate_vocabs": true}'),
            "separate source and target vocabularies",
        ),
        (
            lambda d: (d / "vocab.json").write_text('{">>fr<<": 0, "<unk>": 1}'),
            "multi-target model",
        ),
    ],
)
def test_what_is_not_a_convertible_marian_checkpoint_is_refused(tmp_path, change, message):
    copy = copy_checkpoint(tmp_path)
    change(copy)
    with pytest.raises(Invalid, match=message):
        importer.import_checkpoint(copy, tmp_path / "out.argosmodel")
    assert not (tmp_path / "out.argosmodel").exists()


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        ("en", "xx", "Unknown target language code 'xx'"),
        ("en+fr", "ht", "is not one language code"),
        ("en", "en", "both 'en'"),
    ],
)
def test_bad_language_codes_are_refused(tmp_path, source, target, message):
    with pytest.raises(Invalid, match=message):
        importer.import_checkpoint(CHECKPOINT, tmp_path / "out.argosmodel", source, target)


def test_languages_that_cannot_be_told_must_be_given(tmp_path):
    copy = copy_checkpoint(tmp_path, "my-model")
    (copy / "tokenizer_config.json").write_text("{}")
    (copy / "README.md").unlink()
    with pytest.raises(Invalid, match="pass --from and --to"):
        importer.inspect_checkpoint(copy)


def test_without_the_convert_extra_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # what a runtime install looks like
    with pytest.raises(Invalid, match=r"install hearth\[convert\]"):
        importer.import_checkpoint(CHECKPOINT, tmp_path / "out.argosmodel")
    assert not list(tmp_path.iterdir())


def test_the_cli_fails_in_one_line(tmp_path):
    result = run_hearth(tmp_path, "models", "import", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'nowhere'} is not a directory: give the folder of a Marian checkpoint."
    ]


# --- conversion (the convert extra) ---------------------------------------------------------


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    """`hearth models import` on the fixture, through the real command."""
    work = tmp_path_factory.mktemp("import")
    out = work / "en_ht.argosmodel"
    result = run_hearth(work, "models", "import", str(CHECKPOINT), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}: en → ht (licence mit)" in result.stdout
    assert "test model" in result.stdout
    return out


@needs_convert
def test_the_package_is_an_argos_package_marked_as_a_test_model(imported):
    with zipfile.ZipFile(imported) as archive:
        names = set(archive.namelist())
        metadata = json.loads(archive.read("translate-en_ht/metadata.json"))
        model_config = json.loads(archive.read("translate-en_ht/model/config.json"))
        readme = archive.read("translate-en_ht/README.md").decode()
    assert {
        "translate-en_ht/model/model.bin",
        "translate-en_ht/model/shared_vocabulary.json",
        "translate-en_ht/sentencepiece.model",
        "translate-en_ht/target.spm",
        "translate-en_ht/minisbd/en.onnx",
    } <= names
    assert metadata["from_code"] == "en" and metadata["to_code"] == "ht"
    assert metadata["to_name"] == "Haitian Creole"
    assert metadata["source"] == "opus-mt import" and metadata["licence"] == "mit"
    assert metadata["hearth_test_model"] is True and "Not for families" in metadata["note"]
    assert model_config["add_source_eos"] is True and metadata["max_positions"] == 512
    assert "hearth-tiny-mt-en-ht" in readme and "* source languages: en" in readme


def raw_ctranslate2(package_dir: Path, sentences: list[str]) -> list[str]:
    """CTranslate2 on the converted model with the checkpoint's own tokenizers: source.spm
    pieces in, target.spm pieces out (the reference every caller must match)."""
    import ctranslate2
    import sentencepiece

    source = sentencepiece.SentencePieceProcessor(model_file=str(CHECKPOINT / "source.spm"))
    target = sentencepiece.SentencePieceProcessor(model_file=str(CHECKPOINT / "target.spm"))
    translator = ctranslate2.Translator(str(package_dir / "model"), intra_threads=1)
    results = translator.translate_batch(
        [source.encode(s, out_type=str) for s in sentences],
        beam_size=4,
        length_penalty=0.2,
        replace_unknowns=True,
    )
    return [target.decode_pieces(r.hypotheses[0]) for r in results]


TRANSLATE = textwrap.dedent(
    """
    import json, sys
    from app.translation.argos import argos, engine
    _, argos_translate, _ = argos()  # argostranslate, set up with this data dir's settings
    sentences = json.loads(sys.stdin.read())
    hearth = engine.translate(sentences, "en", "ht")
    argos = [argos_translate.translate(s, "en", "ht") for s in sentences]
    # Longer than the model's 512 positions: cut to fit, not an error.
    [long] = engine.translate([" ".join(["Monday"] * 700) + "."], "en", "ht")
    print(json.dumps({"hearth": hearth, "argos": argos, "long": long,
                      "torch": "torch" in sys.modules}))
    """
)


@needs_convert
def test_installed_package_translates_like_raw_ctranslate2(imported, tmp_path):
    installed = run_hearth(tmp_path, "models", "install-file", str(imported))
    assert installed.returncode == 0, installed.stderr
    assert "en_ht.argosmodel: en → ht" in installed.stdout
    rows = heldout()
    sentences = [r["en"] for r in rows]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env["HEARTH_DATA_DIR"] = str(tmp_path)
    run = subprocess.run(
        [sys.executable, "-c", TRANSLATE],
        input=json.dumps(sentences),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    package_dir = next((tmp_path / "argos-packages").glob("translate-en_ht"))
    assert out["hearth"] == raw_ctranslate2(package_dir, sentences)
    # The model learned these held-out combinations: exact Haitian Creole.
    assert out["hearth"] == [r["ht"] for r in rows]
    # argostranslate's own loader (LibreTranslate's) reads the same package, decoding with the
    # source SentencePiece model: on these sentences it gives the same text.
    assert out["argos"] == out["hearth"]
    assert isinstance(out["long"], str)
    assert out["torch"] is False
