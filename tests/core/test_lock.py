"""The lock files are the whole environment: what runs these tests is exactly
requirements-dev.lock (or an extra's lock built on it), requirements.lock is the runtime part
of it, and both still satisfy pyproject.toml. `make lock` rewrites them; `make setup` syncs."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
ENTRY = re.compile(r"^(?P<requirement>[A-Za-z0-9][^\\\n]*?)\s*\\?$")
# The installer and the build backend: locked so that `make setup` and the image build Hearth
# with the same setuptools, but nothing at run time imports them.
INSTALL_TOOLS = {"pip", "setuptools"}


def entries(lock: Path) -> dict[tuple[str, str], str]:
    """(name, marker) → version of every `name==version [; marker]` line of a lock file."""
    found = {}
    for line in lock.read_text().splitlines():
        if match := ENTRY.match(line):
            requirement = Requirement(match["requirement"])
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{lock.name}: {line} is not a pin"
            found[canonicalize_name(requirement.name), str(requirement.marker or "")] = (
                specifier.version
            )
    return found


def pins(lock: Path) -> dict[str, str]:
    """name → version of what the lock installs here (markers evaluated for this Python)."""
    environment = default_environment()
    found = {}
    for (name, marker), version in entries(lock).items():
        if not marker or Marker(marker).evaluate(environment):
            assert name not in found, f"{lock.name} pins {name} twice for this Python"
            found[name] = version
    return found


def installed() -> dict[str, str]:
    """name → version of every distribution in this venv, as `pip freeze` lists them: Hearth
    itself and pip (the installer, which comes with the venv) left out."""
    found = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    found.pop("hearth", None)
    found.pop("pip", None)
    return found


def extra_locks() -> list[Path]:
    extras = PYPROJECT["project"].get("optional-dependencies", {})
    return [ROOT / f"requirements-{name}.lock" for name in extras if name != "dev"]


def difference(wanted: dict[str, str], have: dict[str, str]) -> list[str]:
    lines = []
    for name in sorted(set(wanted) | set(have)):
        if wanted.get(name) != have.get(name):
            lines.append(f"{name}: locked {wanted.get(name, '-')}, installed {have.get(name, '-')}")
    return lines


def test_this_venv_holds_exactly_a_lock():
    have = installed()
    candidates = [DEV_LOCK, *(lock for lock in extra_locks() if lock.exists())]
    for lock in candidates:
        if not difference(pins(lock), have):
            return
    differences = "\n  ".join(difference(pins(DEV_LOCK), have))
    raise AssertionError(
        f"this venv is not {DEV_LOCK.name} (`make setup` syncs it):\n  {differences}"
    )


def _satisfied(requirement: Requirement, locked: dict[str, str], where: str) -> None:
    name = canonicalize_name(requirement.name)
    assert name in locked, f"{where} requires {requirement}, which no lock pins: run `make lock`"
    assert requirement.specifier.contains(Version(locked[name]), prereleases=True), (
        f"{where} requires {requirement}, the lock pins {locked[name]}: run `make lock`"
    )


def test_the_locks_still_satisfy_pyproject():
    project = PYPROJECT["project"]
    runtime, dev = pins(RUNTIME_LOCK), pins(DEV_LOCK)
    for text in project["dependencies"]:
        _satisfied(Requirement(text), runtime, "pyproject.toml [project.dependencies]")
        _satisfied(Requirement(text), dev, "pyproject.toml [project.dependencies]")
    for text in project["optional-dependencies"]["dev"]:
        _satisfied(Requirement(text), dev, "the dev extra")
    for text in PYPROJECT["build-system"]["requires"]:
        _satisfied(Requirement(text), runtime, "[build-system] requires")
        _satisfied(Requirement(text), dev, "[build-system] requires")
    for lock in extra_locks():
        assert lock.exists(), f"pyproject.toml has an extra without {lock.name}: run `make lock`"
        extra = lock.stem.removeprefix("requirements-")
        for text in project["optional-dependencies"][extra]:
            _satisfied(Requirement(text), pins(lock), f"the {extra} extra")


def test_the_runtime_lock_is_the_runtime_part_of_the_dev_lock():
    runtime, dev = entries(RUNTIME_LOCK), entries(DEV_LOCK)
    differ = {n: (v, dev.get(n)) for n, v in runtime.items() if dev.get(n) != v}
    assert not differ, f"requirements.lock and requirements-dev.lock disagree: {differ}"
    for lock in extra_locks():
        if lock.exists():
            extra = entries(lock)
            differ = {n: (v, extra.get(n)) for n, v in dev.items() if extra.get(n) != v}
            assert not differ, f"{lock.name} changes what the dev lock pins: {differ}"


def _runtime_closure() -> set[str]:
    """What installing Hearth without extras brings in, read from the installed metadata."""
    environment = default_environment()
    seen: set[str] = set()
    todo = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        extras = requirement.extras
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        seen.add(name)
        for text in metadata.requires(name) or []:
            sub = Requirement(text)
            if sub.marker is None or any(
                sub.marker.evaluate({**environment, "extra": e}) for e in {"", *extras}
            ):
                todo.append(sub)
    return {n for n in seen if "[" not in n}


def test_the_runtime_lock_has_what_hearth_needs_and_nothing_for_development():
    locked = set(pins(RUNTIME_LOCK)) - INSTALL_TOOLS
    needed = _runtime_closure() - INSTALL_TOOLS
    assert not needed - locked, f"requirements.lock lacks {sorted(needed - locked)}: make lock"
    assert not locked - needed, f"requirements.lock has more than Hearth needs: {locked - needed}"


def test_every_pin_carries_hashes_and_no_machine_paths():
    for lock in [RUNTIME_LOCK, DEV_LOCK, *(p for p in extra_locks() if p.exists())]:
        text = lock.read_text()
        for block in re.split(r"\n(?=[A-Za-z0-9])", text):
            if ENTRY.match(block.splitlines()[0]):
                assert "--hash=sha256:" in block, f"{lock.name}: {block.split()[0]} has no hash"
        assert not re.search(
            r"^\s*(-e|--editable|--find-links|-f|--index-url|-i|--extra-index-url)\b",
            text,
            re.MULTILINE,
        ), f"{lock.name} names where to install from"
        assert "file://" not in text and "#    make lock" in text, f"{lock.name}: use `make lock`"
