"""`hearth models ...` against a fresh data dir, and the torch-free install."""

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from tests.conftest import run_hearth

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ROOT / "tests" / "fixtures" / "argos" / "packages"


def hearth(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_hearth(tmp_path, *args)


def test_install_file_then_list(tmp_path):
    assert hearth(tmp_path, "db", "upgrade").returncode == 0
    empty = hearth(tmp_path, "models", "list")
    assert empty.returncode == 0 and "none installed" in empty.stdout
    installed = hearth(tmp_path, "models", "install-file", *map(str, sorted(PACKAGES.glob("*"))))
    assert installed.returncode == 0, installed.stderr
    assert "translate-en_es.argosmodel: en → es" in installed.stdout
    listed = hearth(tmp_path, "models", "list").stdout
    assert "en → vi" in listed and "zh → en" in listed
    # Every package of the test suite is marked as a test model in its metadata.
    pairs = [line for line in listed.splitlines() if "version" in line]
    assert len(pairs) == 6 and all("test model — not for families" in line for line in pairs)
    spanish = next(line for line in listed.splitlines() if "Spanish" in line)
    assert spanish.split()[2:5] == ["direct", "/", "direct"]


def test_guardian_languages_without_a_route_are_listed(tmp_path):
    assert hearth(tmp_path, "db", "upgrade").returncode == 0
    seed = (
        "import app.models\nfrom app.core.db import get_sessionmaker\n"
        "from app.people.models import Guardian\n"
        "with get_sessionmaker()() as s:\n"
        "    s.add_all([Guardian(given_name='A', family_name='B', language=l)"
        " for l in ['so', 'so', 'es']])\n    s.commit()\n"
    )
    env = {**os.environ, "HEARTH_DATA_DIR": str(tmp_path)}
    env.pop("HEARTH_DATABASE_URL", None)
    assert subprocess.run([sys.executable, "-c", seed], cwd=ROOT, env=env).returncode == 0
    hearth(tmp_path, "models", "install-file", str(PACKAGES / "translate-en_es.argosmodel"))
    listed = hearth(tmp_path, "models", "list").stdout
    assert "No route for: so (2)" in listed
    assert "Replies cannot be translated back from: es (1)" in listed


def test_bad_files_and_offline_install_fail_clearly(tmp_path):
    not_a_model = tmp_path / "notes.argosmodel"
    not_a_model.write_text("hello")
    bad = hearth(tmp_path, "models", "install-file", str(not_a_model))
    assert bad.returncode == 1 and "not an Argos model package" in bad.stderr
    missing = hearth(tmp_path, "models", "install-file", str(tmp_path / "nope.argosmodel"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    # This machine reaches no package index: the command must say so, not crash or hang.
    env_url = {"ARGOS_PACKAGE_INDEX": "http://127.0.0.1:9/"}
    os.environ.update(env_url)
    try:
        offline = hearth(tmp_path, "models", "install", "fr")
    finally:
        os.environ.pop("ARGOS_PACKAGE_INDEX")
    assert offline.returncode == 1
    assert "looks offline" in offline.stderr and "install-file" in offline.stderr


def test_the_environment_has_no_torch_and_no_cuda():
    names = {d.metadata["Name"].lower() for d in metadata.distributions()}
    assert "torch" not in names and "stanza" not in names
    assert not [n for n in names if n.startswith("nvidia-")]
    assert "argos-translate-lt" in names
