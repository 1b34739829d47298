"""The multilingual engine (one M2M-100-architecture model) beside the Argos engine.

    .venv/bin/python bench/multilingual.py [--runs 5]

Both engines load the project's tiny test models: the Argos en→es package
(tests/fixtures/argos) and the multilingual package (tests/fixtures/multilingual, English ↔
es/vi/zh/ht in one model), installed into a fresh data dir (deleted afterwards), Hearth's
default threads (HEARTH_ARGOS_INTRA_THREADS=1, INTER=1), int8.

  memory   resident set size growth from loading one engine's model and translating one
           sentence, each engine in a fresh process of its own (imports done before the
           first reading, so only the model counts)
  batch    sentences/s translating all 287 English rows of corpus.tsv in one call
  single   sentences/s translating them one per call (the API case)

Every figure is the median of --runs runs, the engines interleaved within a run (this VM's speed
drifts within minutes: compare within one run of this script). These are tiny models (~0.7 M
and ~1.1 M parameters): the figures compare the engines' code paths, not real models; a real
M2M-100 418M is ~0.5 GB in int8 and far slower per sentence than any Argos model.
"""

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGOS_PACKAGE = ROOT / "tests" / "fixtures" / "argos" / "packages" / "translate-en_es.argosmodel"
MULTILINGUAL_PACKAGE = (
    ROOT
    / "tests"
    / "fixtures"
    / "multilingual"
    / "packages"
    / "multilingual-m2m100-tiny.hearthmodel"
)
CORPUS = ROOT / "tests" / "fixtures" / "argos" / "corpus.tsv"


def rss_kib() -> int:
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def configure(data_dir: Path) -> None:
    os.environ["HEARTH_DATA_DIR"] = str(data_dir)
    os.environ["HEARTH_ENV"] = "dev"
    os.environ["HEARTH_ARGOS_INTRA_THREADS"] = "1"
    os.environ["HEARTH_ARGOS_INTER_THREADS"] = "1"
    for name in ("HEARTH_DATABASE_URL", "HEARTH_ARGOS_PACKAGES_DIR"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(ROOT))


def sentences() -> list[str]:
    with open(CORPUS, encoding="utf-8") as f:
        return [row["en"] for row in csv.DictReader(f, delimiter="\t")]


def memory_child(engine_name: str, data_dir: Path) -> None:
    """Runs in its own process: RSS before and after loading one engine's model."""
    configure(data_dir)
    import ctranslate2  # noqa: F401
    import sentencepiece  # noqa: F401

    from app.translation import multilingual
    from app.translation.argos import argos, engine

    argos()  # argostranslate imported and set up (its import cost is not the model's)
    engine.pairs()
    multilingual.installed()
    before = rss_kib()
    if engine_name == "argos":
        engine.translate(["School is closed on Monday."], "en", "es")
    else:
        multilingual.translate(["School is closed on Monday."], "en", "es")
    print(json.dumps({"before": before, "after": rss_kib()}))


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("ctranslate2", "sentencepiece", "argos-translate-lt")
    )
    return (
        f"machine: {len(os.sched_getaffinity(0))} cores ({cpu}), Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}\nversions: {versions}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", choices=["argos", "multilingual"], help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        memory_child(args.child, args.data_dir)
        return

    data_dir = Path(tempfile.mkdtemp(prefix="hearth-bench-multilingual-"))
    try:
        configure(data_dir)
        from app.translation import multilingual, packages
        from app.translation.argos import engine

        print(machine())
        packages.install_file(ARGOS_PACKAGE)
        model = multilingual.install(MULTILINGUAL_PACKAGE)
        print(
            f"models: {ARGOS_PACKAGE.name} {ARGOS_PACKAGE.stat().st_size:,} bytes; "
            f"{MULTILINGUAL_PACKAGE.name} {MULTILINGUAL_PACKAGE.stat().st_size:,} bytes "
            f"({', '.join(model.languages)})"
        )

        memory: dict[str, list[int]] = {"argos": [], "multilingual": []}
        for _ in range(min(args.runs, 3)):
            for name in memory:
                child = subprocess.run(
                    [sys.executable, __file__, "--child", name, "--data-dir", str(data_dir)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                reading = json.loads(child.stdout.strip().splitlines()[-1])
                memory[name].append(reading["after"] - reading["before"])

        texts = sentences()
        engines = {
            "argos en→es": lambda batch: engine.translate(batch, "en", "es"),
            "multilingual en→es": lambda batch: multilingual.translate(batch, "en", "es"),
            "multilingual en→ht": lambda batch: multilingual.translate(batch, "en", "ht"),
            "multilingual en→vi": lambda batch: multilingual.translate(batch, "en", "vi"),
        }
        for translate in engines.values():
            translate(texts[:4])  # load the models before timing
        batch: dict[str, list[float]] = {name: [] for name in engines}
        single: dict[str, list[float]] = {name: [] for name in engines}
        for _ in range(args.runs):
            for name, translate in engines.items():
                began = time.perf_counter()
                translate(texts)
                batch[name].append(len(texts) / (time.perf_counter() - began))
            for name, translate in engines.items():
                began = time.perf_counter()
                for text in texts:
                    translate([text])
                single[name].append(len(texts) / (time.perf_counter() - began))

        print(f"\n{len(texts)} English sentences, medians of {args.runs} runs")
        print(f"{'engine':<22}{'batch sent/s':>14}{'single sent/s':>15}{'RSS growth (MiB)':>18}")
        for name in engines:
            key = "argos" if name.startswith("argos") else "multilingual"
            rss = f"{statistics.median(memory[key]) / 1024:.1f}" if name.endswith("es") else ""
            print(
                f"{name:<22}{statistics.median(batch[name]):>14.0f}"
                f"{statistics.median(single[name]):>15.0f}{rss:>18}"
            )

        def ratio(figures: dict, multi: str, argos: str) -> float:
            return statistics.median(figures[multi]) / max(1e-9, statistics.median(figures[argos]))

        en_es = ("multilingual en→es", "argos en→es")
        print(
            f"\nmultilingual/argos, en→es: batch {ratio(batch, *en_es):.2f}x, single "
            f"{ratio(single, *en_es):.2f}x, memory {ratio(memory, 'multilingual', 'argos'):.2f}x "
            f"(one model serving {len(model.languages)} languages)"
        )
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
