"""Builds Hearth's container image with the engine this machine has: Docker (with a running
daemon), else buildah, else podman. `make image` runs it, and so does tests/image/check_image.py.

    python3 tests/image/build.py [TAG]      (default tag: hearth:latest)

HEARTH_BUILD_CA=<PEM file>  behind a proxy that inspects TLS: its CA, given to the build as the
                            `ca` secret (see the Dockerfile)
HEARTH_BUILD_ARGS="..."     more arguments for the engine's build command, e.g. --network host
Standard library only: it runs before any venv exists."""

import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Engine:
    name: str  # docker, buildah or podman
    build: list[str]  # the build command, up to the tag
    run: str | None  # what runs containers of the built image: docker or podman (or none)


def find_engine() -> Engine | str:
    """The engine to use, or why there is none."""
    docker = shutil.which("docker")
    if docker:
        info = subprocess.run([docker, "info"], capture_output=True, timeout=30)
        if info.returncode == 0:
            return Engine("docker", [docker, "build"], "docker")
    runner = "podman" if shutil.which("podman") else None
    # --format docker keeps HEALTHCHECK in the image (the OCI format has no such field).
    if shutil.which("buildah"):
        return Engine("buildah", ["buildah", "bud", "--format", "docker", "--layers"], runner)
    if runner:
        return Engine("podman", ["podman", "build", "--format", "docker", "--layers"], runner)
    if docker:
        return (
            "docker is installed but its daemon does not answer, and neither buildah nor podman is"
        )
    return "no container engine here: Docker (with its daemon), buildah or podman"


def build(engine: Engine, tag: str) -> float:
    """Builds the image from the project's Dockerfile; returns the seconds it took."""
    command = [*engine.build, "--tag", tag]
    ca = os.environ.get("HEARTH_BUILD_CA")
    if ca:
        command += ["--secret", f"id=ca,src={Path(ca).resolve()}"]
    command += shlex.split(os.environ.get("HEARTH_BUILD_ARGS", ""))
    command.append(str(ROOT))
    print("+", shlex.join(command), flush=True)
    started = time.monotonic()
    subprocess.run(command, check=True, cwd=ROOT)
    return time.monotonic() - started


def image_size(engine: Engine, tag: str) -> int | None:
    """The image's size in bytes, as the engine reports it."""
    tool = engine.run or engine.name
    if tool == "buildah":
        shown = subprocess.run(
            ["buildah", "inspect", "--type", "image", "--format", "{{.ImageSize}}", tag],
            capture_output=True,
            text=True,
        )
    else:
        shown = subprocess.run(
            [tool, "image", "inspect", "--format", "{{.Size}}", tag], capture_output=True, text=True
        )
    try:
        return int(shown.stdout.strip())
    except ValueError:
        return None


def main() -> int:
    tag = sys.argv[1] if len(sys.argv) > 1 else "hearth:latest"
    engine = find_engine()
    if isinstance(engine, str):
        print(f"cannot build the image: {engine}", file=sys.stderr)
        return 1
    try:
        seconds = build(engine, tag)
    except subprocess.CalledProcessError as exc:
        print(f"the image build failed (exit {exc.returncode})", file=sys.stderr)
        return 1
    size = image_size(engine, tag)
    shown = f"{size / 1e6:.0f} MB" if size else "size unknown"
    print(f"built {tag} with {engine.name} in {seconds:.0f} s: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
