"""The container image, built and run for real: `make image-check` (a few minutes, so not part of
`make test`; pytest collects this file only when it is named). Skipped, saying why, where no
container engine can build and run it.

In production mode with SQLite in /data: the entrypoint's data dir check, the test models
installed from a mounted folder, then the server: health, readiness, a translation, the
image's own health check command, and what the image holds (the runtime lock, no installer)."""

import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

from tests.core.test_lock import RUNTIME_LOCK, entries
from tests.image import build
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "tests" / "fixtures" / "argos" / "packages"
TAG = os.environ.get("HEARTH_IMAGE", "hearth:check")
UID = 10001  # the image's user
PRODUCTION = {
    "HEARTH_SECRET_KEY": secrets.token_urlsafe(48),
    "HEARTH_SMS_BACKEND": "twilio",
    "HEARTH_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "HEARTH_TWILIO_AUTH_TOKEN": "0" * 32,
    "HEARTH_EMAIL_BACKEND": "smtp",
    "HEARTH_SMTP_HOST": "127.0.0.1",
}


@pytest.fixture(scope="module")
def engine() -> build.Engine:
    found = build.find_engine()
    if isinstance(found, str):
        pytest.skip(f"container image not checked: {found}")
    if found.run is None:
        pytest.skip(f"container image not checked: {found.name} builds, but nothing here runs it")
    return found


@pytest.fixture(scope="module")
def image(engine: build.Engine) -> str:
    seconds = build.build(engine, TAG)
    size = build.image_size(engine, TAG)
    print(f"\nbuilt {TAG} with {engine.name} in {seconds:.0f} s: {(size or 0) / 1e6:.0f} MB")
    return TAG


def owned_folder(path: Path) -> Path:
    """A host folder the image's user can write to (a named volume in real deployments)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(path, UID, UID)
    else:
        path.chmod(0o777)
    return path


def run(engine: build.Engine, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [engine.run, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def env_args(extra: dict[str, str] | None = None) -> list[str]:
    return [arg for k, v in {**PRODUCTION, **(extra or {})}.items() for arg in ("-e", f"{k}={v}")]


def test_a_data_dir_the_user_cannot_write_is_one_clear_line(engine, image, tmp_path):
    root_owned = tmp_path / "data"
    root_owned.mkdir(mode=0o755)
    if os.geteuid() != 0:
        root_owned.chmod(0o555)
    started = run(engine, "run", "--rm", "-v", f"{root_owned}:/data", *env_args(), image)
    assert started.returncode == 1, started.stdout + started.stderr
    lines = [line for line in started.stderr.splitlines() if line.startswith("hearth:")]
    assert lines == [
        f"hearth: the data dir /data is not writable by uid {UID}: make the volume or host folder "
        f"mounted there writable by it (chown {UID})"
    ], started.stderr
    assert "Traceback" not in started.stderr


@pytest.fixture(scope="module")
def served(engine, image, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """The image's own command (migrate, then serve) on a free port, models installed first
    from a mounted folder: yields (base URL, container name)."""
    folder = tmp_path_factory.mktemp("image")
    data, models = owned_folder(folder / "data"), owned_folder(folder / "models")
    mounts = ["-v", f"{data}:/data", "-v", f"{models}:/models"]
    installed = run(
        engine, "run", "--rm", *mounts, "-v", f"{MODELS}:/import:ro", *env_args(), image,
        "sh", "-c", "hearth models install-file /import/*.argosmodel",
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    assert "en → es" in installed.stdout

    name = f"hearth-check-{secrets.token_hex(4)}"
    port = free_port()
    started = run(
        engine, "run", "--detach", "--name", name, "--publish", f"127.0.0.1:{port}:8000",
        *mounts, *env_args(), image,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            state = run(engine, "inspect", "--format", "{{.State.Running}}", name).stdout
            if "true" not in state or time.monotonic() > deadline:
                pytest.fail(f"the container did not serve:\n{run(engine, 'logs', name).stderr}")
            time.sleep(0.5)
        yield url, name
    finally:
        run(engine, "rm", "--force", name, timeout=60)


def test_the_image_migrates_serves_and_translates(engine, served):
    url, name = served
    health = httpx.get(f"{url}/api/v1/health").json()
    assert health["status"] == "ok" and health["database"] == "ok"
    ready = httpx.get(f"{url}/api/v1/ready")
    assert ready.status_code == 200, ready.text

    created = run(engine, "exec", name, "hearth", "apikeys", "create", "--name", "image check")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    answer = httpx.post(
        f"{url}/api/v1/translate",
        headers={"Authorization": f"Bearer {key}"},
        json={"text": "School is closed on Monday.", "source": "en", "target": "es"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "translated"
    assert answer.json()["text"] == "La escuela está cerrada el lunes."
    # Production: the API docs are off unless HEARTH_API_DOCS=true.
    assert httpx.get(f"{url}/docs").status_code == 404


def test_the_images_health_check_command_passes_inside_it(engine, image, served):
    _, name = served
    config = json.loads(run(engine, "image", "inspect", image).stdout)[0]
    # Docker keeps it in Config.Healthcheck, podman at the top.
    health = (config.get("Config") or {}).get("Healthcheck") or config.get("Healthcheck")
    assert health and health["Test"][0] == "CMD", f"the image lost its HEALTHCHECK: {health}"
    checked = run(engine, "exec", name, *health["Test"][1:])
    assert checked.returncode == 0, checked.stderr
    assert run(engine, "exec", name, "id", "-u").stdout.strip() == str(UID)


def test_the_image_holds_the_runtime_lock_and_no_installer(engine, image):
    probe = (
        "import json; from importlib import metadata; from packaging.markers import "
        "default_environment; print(json.dumps({'env': default_environment(), 'dists': "
        "{d.metadata['Name']: d.version for d in metadata.distributions()}}))"
    )
    shown = run(engine, "run", "--rm", "--entrypoint", "python", image, "-c", probe)
    assert shown.returncode == 0, shown.stderr
    found = json.loads(shown.stdout)
    installed = {canonicalize_name(n): v for n, v in found["dists"].items()}
    installed.pop("hearth")
    locked = {
        name: version
        for (name, marker), version in entries(RUNTIME_LOCK).items()
        if not marker or Marker(marker).evaluate(found["env"])
    }
    # pip and setuptools install and build Hearth; the image leaves them behind.
    assert {"pip", "setuptools"} & set(installed) == set(), "the image still has the installer"
    locked.pop("setuptools", None)
    assert installed == locked


def test_the_image_can_speak_haitian_creole_for_voice_calls(engine, image):
    # app/delivery/voice.py: espeak-ng speaks the calls Twilio has no voice for.
    speak = ["run", "--rm", "--entrypoint", "espeak-ng", image, "-v", "ht", "--stdout", "Bonjou"]
    spoken = subprocess.run([engine.run, *speak], capture_output=True, timeout=120)
    assert spoken.returncode == 0, spoken.stderr
    assert spoken.stdout[:4] == b"RIFF" and len(spoken.stdout) > 1000
