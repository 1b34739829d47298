"""Installing and listing Argos model packages (`hearth models ...`)."""

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import HearthError, Invalid
from app.translation.argos import InstalledPair, argos, engine
from app.translation.languages import ENGLISH, display_names, mt_code
from app.translation.service import find_route


class Offline(HearthError):
    status_code = 503
    code = "offline"


@dataclass(frozen=True)
class LanguageCoverage:
    code: str
    name: str
    native_name: str
    to_family: str  # coverage from `source` into this language: same | direct | pivot | none
    from_family: str  # coverage from this language back into `source`


def installed() -> list[InstalledPair]:
    return sorted(engine.pairs().values(), key=lambda p: (p.source, p.target))


def test_models() -> list[InstalledPair]:
    """Installed packages built for tests (`hearth_test_model` in their metadata)."""
    return [p for p in installed() if p.test_model]


def test_models_warning() -> str | None:
    """What every place that shows the models says while a test model is installed."""
    pairs = test_models()
    if not pairs:
        return None
    names = ", ".join(f"{p.source}→{p.target}" for p in pairs)
    return (
        f"Test models installed ({names}): test model — not for families. They know a few "
        "hundred sentences and turn anything else into nonsense; install real models "
        "(hearth models install LANG)."
    )


def installed_languages() -> set[str]:
    return {code for pair in engine.pairs() for code in pair}


def coverage_for(code: str, source: str = ENGLISH) -> LanguageCoverage:
    name, native = display_names(code)
    return LanguageCoverage(
        code, name, native, find_route(source, code).coverage, find_route(code, source).coverage
    )


def by_model_language(tag_counts: Mapping[str, int]) -> dict[str, int]:
    """Counts by language tag (es-MX, zh-Hant...) added up by the models' code (es, zt...)."""
    counts: dict[str, int] = {}
    for tag, count in tag_counts.items():
        code = mt_code(tag)
        counts[code] = counts.get(code, 0) + count
    return counts


def install_file(path: Path) -> list[InstalledPair]:
    if not path.is_file():
        raise Invalid(f"{path} does not exist.")
    if not zipfile.is_zipfile(path):
        raise Invalid(f"{path} is not an Argos model package (.argosmodel, a zip archive).")
    with zipfile.ZipFile(path) as archive:
        if not any(n.endswith("/metadata.json") and n.count("/") == 1 for n in archive.namelist()):
            raise Invalid(f"{path} has no metadata.json: it is not an Argos model package.")
    new = engine.install_file(path)
    if not new:
        # Reinstalling an already installed pair is fine: the files were replaced.
        engine.reset()
    return new


def install_languages(codes: list[str]) -> list[InstalledPair]:
    """Both directions with English, from the Argos package index. Needs the internet."""
    package, _, settings = argos()
    wanted = {(ENGLISH, mt_code(c)) for c in codes} | {(mt_code(c), ENGLISH) for c in codes}
    package.update_package_index()  # logs and returns on failure instead of raising
    if not Path(settings.local_package_index).exists():
        raise Offline(
            "Cannot reach the Argos package index: this machine looks offline. Download the "
            ".argosmodel files on a connected machine and install each with "
            "`hearth models install-file PATH`."
        )
    available = {
        (p.from_code, p.to_code): p
        for p in package.get_available_packages()
        if p.type == "translate"
    }
    missing = sorted(f"{s}→{t}" for s, t in wanted if (s, t) not in available)
    if missing:
        raise Invalid(f"The Argos package index has no model for {', '.join(missing)}.")
    done: list[InstalledPair] = []
    for key in sorted(wanted):
        if key in engine.pairs():
            continue
        try:
            path = available[key].download()
        except Exception as exc:
            raise Offline(f"Downloading the {key[0]}→{key[1]} model failed: {exc}") from None
        done += install_file(Path(path))
    return done
