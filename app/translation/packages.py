"""Installing and listing model packages (`hearth models ...`): Argos packages (from the
index, or imported from OPUS-MT) and multilingual ones, and what each language is covered by."""

import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import HearthError, Invalid
from app.core.languages import ENGLISH, display_names, mt_code
from app.translation import engines, multilingual
from app.translation.argos import InstalledPair, argos, engine
from app.translation.service import Route, find_route


class Offline(HearthError):
    status_code = 503
    code = "offline"


# Weakest first: a route through English is as good as its weaker half.
TIER_ORDER = ("test model", "weak", "unrated", "good")


@dataclass(frozen=True)
class Direction:
    """How one direction is translated, for the coverage pages."""

    coverage: str  # same | direct | pivot | none
    engine: str | None  # argos | opus-mt | multilingual; two joined by "+" through English
    models: tuple[str, ...]
    licences: tuple[str, ...]
    tier: str | None  # the weakest model's quality tier (TIER_ORDER)


@dataclass(frozen=True)
class LanguageCoverage:
    code: str
    name: str
    native_name: str
    to_family: str  # coverage from `source` into this language: same | direct | pivot | none
    from_family: str  # coverage from this language back into `source`
    choice: str = "auto"  # the engine an admin chose for the language
    to: Direction | None = None
    back: Direction | None = None


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
    return engines.installed_languages()


def direction(route: Route) -> Direction:
    tiers = [h.tier for h in route.hops]
    return Direction(
        route.coverage,
        "+".join(h.kind for h in route.hops) or None,
        tuple(h.model for h in route.hops),
        tuple(dict.fromkeys(h.licence for h in route.hops)),
        min(tiers, key=TIER_ORDER.index) if tiers else None,
    )


def coverage_for(
    code: str, source: str = ENGLISH, choices: Mapping[str, str] | None = None
) -> LanguageCoverage:
    """How `code` is reached from `source` and back, by the admins' `choices`
    (service.engine_choices)."""
    name, native = display_names(code)
    there, back = find_route(source, code, choices), find_route(code, source, choices)
    return LanguageCoverage(
        code,
        name,
        native,
        there.coverage,
        back.coverage,
        (choices or {}).get(code, "auto"),
        direction(there),
        direction(back),
    )


def by_model_language(tag_counts: Mapping[str, int]) -> dict[str, int]:
    """Counts by language tag (es-MX, zh-Hant...) added up by the models' code (es, zt...)."""
    counts: dict[str, int] = {}
    for tag, count in tag_counts.items():
        code = mt_code(tag)
        counts[code] = counts.get(code, 0) + count
    return counts


def _metadata(path: Path) -> dict[str, Any] | None:
    """A package file's metadata.json (None when it has none), after checking it is a zip."""
    if not path.is_file():
        raise Invalid(f"{path} does not exist.")
    if not zipfile.is_zipfile(path):
        raise Invalid(
            f"{path} is not an Argos model package (.argosmodel) nor a multilingual one "
            "(.hearthmodel): not a zip archive."
        )
    with zipfile.ZipFile(path) as archive:
        names = [
            n for n in archive.namelist() if n.endswith("/metadata.json") and n.count("/") == 1
        ]
        if not names:
            return None
        try:
            metadata = json.loads(archive.read(names[0]))
        except ValueError:
            raise Invalid(f"{path}: metadata.json is not valid JSON.") from None
    return metadata if isinstance(metadata, dict) else {}


def is_multilingual(path: Path) -> bool:
    metadata = _metadata(path)
    return bool(metadata) and metadata.get("type") == multilingual.PACKAGE_TYPE  # type: ignore[union-attr]


def install_multilingual(
    path: Path, *, accept_licence: bool = False
) -> multilingual.MultilingualModel:
    """A `.hearthmodel`; a non-commercial (NLLB) one only with the licence accepted."""
    return multilingual.install(path, accept_licence=accept_licence)


def install_file(path: Path, *, accept_licence: bool = False) -> list[InstalledPair]:
    """An `.argosmodel`. One whose licence restricts its use (non-commercial, e.g. a converted
    NLLB model) is refused unless `accept_licence`, like multilingual packages."""
    metadata = _metadata(path)
    if metadata is None:
        raise Invalid(f"{path} has no metadata.json: it is not an Argos model package.")
    if metadata.get("type") == multilingual.PACKAGE_TYPE:
        raise Invalid(f"{path} is a multilingual model package, not an Argos one.")
    if multilingual.needs_licence_acceptance(metadata) and not accept_licence:
        raise Invalid(
            f"{path.name} is licensed {metadata.get('licence')}: non-commercial use only. "
            "Install it only if your use complies, and say so explicitly "
            "(accept the licence, e.g. --accept-licence)."
        )
    new = engine.install_file(path)
    if not new:
        # Reinstalling an already installed pair is fine: the files were replaced.
        engine.reset()
    return new


def install_languages(codes: list[str], *, accept_licence: bool = False) -> list[InstalledPair]:
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
        done += install_file(Path(path), accept_licence=accept_licence)
    return done
