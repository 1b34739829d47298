"""The Dockerfile, compose.yaml, the Makefile and pyproject.toml describe one install.

These tests read the files and check what can be checked without a container engine, and fail
when one side changes alone; `make image-check` (tests/image) builds the image and runs it."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import typer
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
# Distributions that bring torch (and with it CUDA) in: the runtime uses argos-translate-lt.
TORCH = {"torch", "torchvision", "torchaudio", "stanza", "argostranslate", "triton"}
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rule>:?[?-][^}]*)?\}")


@dataclass
class Instruction:
    keyword: str
    value: str

    def exec_form(self) -> list[str]:
        """The instruction's command as argv (shell form runs through sh -c)."""
        if self.value.startswith("["):
            return json.loads(self.value)
        return ["sh", "-c", self.value]


def dockerfile_stages() -> list[list[Instruction]]:
    """The Dockerfile's instructions, one list per FROM, continuations joined, comments out."""
    logical: list[str] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[list[Instruction]] = []
    for line in logical:
        keyword, _, value = line.partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        assert stages, f"Dockerfile: {keyword} before the first FROM"
        stages[-1].append(Instruction(keyword.upper(), value.strip()))
    return stages


def instructions(stage: list[Instruction], keyword: str) -> list[Instruction]:
    return [i for i in stage if i.keyword == keyword]


def final_stage() -> list[Instruction]:
    return dockerfile_stages()[-1]


def image_env() -> dict[str, str]:
    """The final stage's ENV (KEY=value form, quotes removed)."""
    env: dict[str, str] = {}
    for instruction in instructions(final_stage(), "ENV"):
        for token in shlex.split(instruction.value):
            key, _, value = token.partition("=")
            env[key] = value
    return env


@dataclass
class PipInstall:
    options: list[str]
    requirement_files: list[str]
    targets: list[str]

    @property
    def editable(self) -> bool:
        return "-e" in self.options or "--editable" in self.options


PIP_INSTALL = re.compile(r"\bpip3? install\b(?P<args>[^;&|}\n]*)")


def pip_installs(command: str) -> list[PipInstall]:
    """Every `pip install` in a shell command, with its options, -r files and targets."""
    found = []
    for match in PIP_INSTALL.finditer(command):
        options, files, targets = [], [], []
        tokens = iter(shlex.split(match["args"]))
        for token in tokens:
            if token in ("-r", "--requirement"):
                files.append(next(tokens))
            elif token.startswith("-"):
                options.append(token)
            else:
                targets.append(token)
        found.append(PipInstall(options, files, targets))
    return found


def make_setup_installs() -> list[PipInstall]:
    """What `make setup` runs on a new clone (make's dry run: printed, not run)."""
    dry_run = subprocess.run(
        ["make", "--dry-run", "--always-make", "setup"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dry_run.returncode == 0, dry_run.stderr
    return [install for line in dry_run.stdout.splitlines() for install in pip_installs(line)]


def image_installs() -> list[PipInstall]:
    found = []
    for stage in dockerfile_stages():
        for run in instructions(stage, "RUN"):
            found += pip_installs(run.value)
    return found


def hearth_services() -> dict[str, dict]:
    """The compose services that run the Hearth image (the ones built from the Dockerfile)."""
    services = {name: s for name, s in COMPOSE["services"].items() if "build" in s}
    assert services, "compose.yaml builds no service from the Dockerfile"
    return services


def serving_service() -> str:
    """The compose service that runs `hearth serve`."""
    (name,) = [
        name
        for name, service in hearth_services().items()
        if any(
            parse_hearth(r)[0] == ["serve"] for r in hearth_invocations(service_command(service))
        )
    ]
    return name


def service_command(service: dict) -> list[str]:
    command = service.get("command")
    if command is None:
        return instructions(final_stage(), "CMD")[-1].exec_form()
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def hearth_invocations(argv: list[str]) -> list[list[str]]:
    """Each `hearth ...` that a container command runs, in order."""
    if argv[:2] in (["sh", "-c"], ["/bin/sh", "-c"]):
        runs = [shlex.split(part) for part in argv[2].split("&&")]
        return [run[1:] if run[:1] == ["exec"] else run for run in runs]
    return [argv]


def parse_hearth(argv: list[str]) -> tuple[list[str], dict]:
    """The subcommand path and parsed options of a `hearth` command line, as app/cli.py reads
    it; fails the test on an unknown command or option."""
    assert argv[:1] == ["hearth"], f"{shlex.join(argv)} does not run the hearth command"
    command = typer.main.get_command(cli)
    path: list[str] = []
    args = argv[1:]
    while hasattr(command, "list_commands"):  # a group (typer carries its own click)
        assert args, f"`{shlex.join(argv)}` names no subcommand of `hearth {' '.join(path)}`"
        name, args = args[0], args[1:]
        sub = command.get_command(command.context_class(command), name)
        assert sub is not None, f"`hearth {' '.join([*path, name])}` is no command of app/cli.py"
        path.append(name)
        command = sub
    try:
        ctx = command.make_context(f"hearth {' '.join(path)}", list(args))
    except Exception as exc:  # click's UsageError, BadParameter...
        if not hasattr(exc, "format_message"):
            raise
        pytest.fail(f"`{shlex.join(argv)}`: {exc.format_message()}")
    help_run = CliRunner().invoke(cli, [*path, "--help"])
    assert help_run.exit_code == 0, help_run.output
    return path, ctx.params


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value
    return pairs


def setting_name(variable: str) -> str | None:
    """The Settings field a HEARTH_ variable sets, or None if it sets none."""
    if not variable.startswith("HEARTH_"):
        return None
    field = variable.removeprefix("HEARTH_").lower()
    return field if field in Settings.model_fields else None


def compose_strings(node: object) -> list[str]:
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in compose_strings([key, value])]
    if isinstance(node, list):
        return [s for item in node for s in compose_strings(item)]
    return [node] if isinstance(node, str) else []


def interpolated(value: str, fill: dict[str, str]) -> str:
    """`value` as compose makes it: a required variable from `fill`, an optional one's default
    (`${NAME:-default}`) when `fill` has none."""

    def one(m: re.Match[str]) -> str:
        rule = m["rule"] or ""
        if m["name"] in fill or not rule.lstrip(":").startswith("-"):
            return fill[m["name"]]
        return rule.lstrip(":")[1:]

    return INTERPOLATION.sub(one, value)


def test_make_setup_and_the_image_install_their_lock_then_hearth_alone():
    for where, installs, lock, editable in (
        ("make setup", make_setup_installs(), "requirements-dev.lock", True),
        ("the Dockerfile", image_installs(), "requirements.lock", False),
    ):
        assert len(installs) == 2, f"{where}: a lock, then Hearth; found {installs}"
        locked, hearth = installs
        assert locked.requirement_files == [lock] and not locked.targets, (
            f"{where} should install {lock} first: {locked}"
        )
        assert "--require-hashes" in locked.options, f"{where}: check the lock's hashes"
        assert hearth.targets == ["."] and not hearth.requirement_files, (
            f"{where} should then install this project (.): {hearth}"
        )
        assert "--no-deps" in hearth.options, f"{where}: Hearth's dependencies come from {lock}"
        assert "--no-build-isolation" in hearth.options, (
            f"{where}: build Hearth with the locked setuptools, offline"
        )
        assert hearth.editable is editable, "make setup: editable; the image: a real install"
    copied = [c.value.split()[0] for c in instructions(dockerfile_stages()[0], "COPY")]
    assert copied[0] == "requirements.lock", "copy the lock alone first (its own cached layer)"


def test_the_final_stage_runs_the_venv_the_build_stage_filled():
    stages = dockerfile_stages()
    assert len(stages) >= 2, "the Dockerfile should be multi-stage (build, then a slim runtime)"
    build_name = stages[0][0].value.split()[-1]
    assert " AS " in stages[0][0].value.upper(), "the build stage needs a name"
    venvs = [
        m[1]
        for r in instructions(stages[0], "RUN")
        for m in re.finditer(r"python3? -m venv (\S+)", r.value)
    ]
    assert len(venvs) == 1, f"the build stage should make one venv: {venvs}"
    venv = venvs[0]
    for run in instructions(stages[0], "RUN"):
        for pip in re.findall(r"(\S+) -m pip install", run.value):
            assert pip == f"{venv}/bin/python", f"{pip} installs outside the venv {venv}"
    copies = [c.value for c in instructions(final_stage(), "COPY")]
    assert f"--from={build_name} {venv} {venv}" in copies, f"{venv} is not copied: {copies}"
    assert image_env()["PATH"].startswith(f"{venv}/bin:"), "`hearth` must be on PATH"
    assert not instructions(final_stage(), "RUN") or all(
        "pip install" not in r.value for r in instructions(final_stage(), "RUN")
    ), "install in the build stage only: the runtime stage has no build tools"


def test_the_image_python_is_the_one_pyproject_requires():
    requires = SpecifierSet(PYPROJECT["project"]["requires-python"])
    minimum = min(s.version for s in requires if s.operator in (">=", "~=", "=="))
    target = PYPROJECT["tool"]["ruff"]["target-version"]
    for stage in dockerfile_stages():
        image = stage[0].value.split()[0]
        match = re.fullmatch(r"python:(\d+)\.(\d+)-slim(-\w+)?", image)
        assert match, f"FROM {image}: use the slim official Python image (python:X.Y-slim)"
        version = f"{match[1]}.{match[2]}"
        assert requires.contains(f"{version}.0"), f"{image} is outside requires-python {requires}"
        assert version == minimum and target == f"py{match[1]}{match[2]}", (
            f"the image runs Python {version}, pyproject requires {requires} and ruff targets "
            f"{target}: change them together"
        )


def test_the_image_runs_as_a_user_it_creates_not_root():
    stage = final_stage()
    users = instructions(stage, "USER")
    assert users, "the final stage has no USER: it would run as root"
    user = users[-1].value.split(":")[0]
    assert user not in ("root", "0"), f"USER {users[-1].value} is root"
    assert stage.index(users[-1]) < stage.index(instructions(stage, "CMD")[-1])
    created = " ".join(r.value for r in instructions(stage, "RUN"))
    assert re.search(rf"useradd\b[^&]*\b{re.escape(user)}\b", created), f"no useradd {user}"
    assert "10001" in created or not user.isdigit()


def _dependency_closure(name: str) -> set[str]:
    """Every distribution installing `name` (without extras) installs, as installed here."""
    seen: set[str] = set()
    todo = [(canonicalize_name(name), frozenset[str]())]
    while todo:
        dist, extras = todo.pop()
        if dist in seen:
            continue
        seen.add(dist)
        try:
            requirements = metadata.requires(dist) or []
        except metadata.PackageNotFoundError:
            continue
        for requirement in map(Requirement, requirements):
            marker: Marker | None = requirement.marker
            if marker and not any(marker.evaluate({"extra": e}) for e in {"", *extras}):
                continue
            todo.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return seen


def test_no_torch_in_the_dependencies_the_image_or_compose():
    declared = [*PYPROJECT["project"]["dependencies"]]
    for name, extra in PYPROJECT["project"].get("optional-dependencies", {}).items():
        # `convert` (hearth models import) is torch by design, installed on purpose only, in
        # a venv of its own (`make test-convert`).
        if name != "convert":
            declared += extra
    names = {canonicalize_name(Requirement(r).name) for r in declared}
    assert not names & TORCH, f"pyproject brings torch in through {sorted(names & TORCH)}"
    assert "argos-translate-lt" in names, "translation needs argos-translate-lt (no torch)"
    # What make setup and the image install: exactly their locks, which hold no torch.
    files = {f for i in make_setup_installs() + image_installs() for f in i.requirement_files}
    assert files and not any("convert" in f for f in files), files
    for lock in files:
        pinned = {
            canonicalize_name(line.split("==")[0])
            for line in (ROOT / lock).read_text().splitlines()
            if "==" in line and not line.startswith((" ", "#"))
        }
        assert not pinned & TORCH, f"{lock} pins {sorted(pinned & TORCH)}"

    installed = _dependency_closure("hearth")
    assert "ctranslate2" in installed, "the closure walk found nothing: is hearth installed?"
    pulled = {n for n in installed if n in TORCH or n.startswith("nvidia-")}
    assert not pulled, f"installing hearth installs {sorted(pulled)}"

    words = [i.value for stage in dockerfile_stages() for i in stage]
    words += compose_strings(COMPOSE)
    offending = [w for w in words if re.search(r"torch|cuda", w, re.IGNORECASE)]
    assert not offending, f"torch or CUDA in the image or compose: {offending}"


def test_every_compose_command_is_a_real_hearth_command():
    ran: dict[str, list[list[str]]] = {}
    queues: set[str] = set()
    for name, service in hearth_services().items():
        for argv in hearth_invocations(service_command(service)):
            path, params = parse_hearth(argv)
            ran.setdefault(" ".join(path), []).append(argv)
            if path == ["worker"] and "worker_type" in params:
                assert params["worker_type"] in ("thread", "process"), f"{name}: {argv}"
            if path == ["worker"] and "queue" in params:
                queues.add(params["queue"])
    assert "serve" in ran, "no compose service serves the API"
    assert "worker" in ran, "no compose service runs `hearth worker`"
    assert "db upgrade" in ran, "nothing migrates the database before serving"
    if queues and "all" not in queues:
        from app.core.queue import QUEUES

        assert set(QUEUES) <= queues, f"no compose worker serves {sorted(set(QUEUES) - queues)}"


def test_the_image_command_migrates_then_serves_on_the_exposed_port_it_health_checks(client):
    stage = final_stage()
    runs = hearth_invocations(instructions(stage, "CMD")[-1].exec_form())
    paths = [parse_hearth(run)[0] for run in runs]
    assert paths == [["db", "upgrade"], ["serve"]], f"the image runs {runs}"
    params = parse_hearth(runs[-1])[1]
    assert params["host"] == "0.0.0.0", "inside a container, listen on every interface"
    assert not params.get("demo"), "the demo seeds known passwords: never in the image"
    port = params["port"]
    assert instructions(stage, "EXPOSE")[-1].value.split("/")[0] == str(port)

    health = instructions(stage, "HEALTHCHECK")[-1].value
    argv = Instruction("CMD", health.split(" CMD ", 1)[1].strip()).exec_form()
    assert Path(argv[0]).name.startswith("python"), "slim has no curl: check with Python"
    url = urlsplit(re.search(r"https?://[^'\"\s]+", " ".join(argv))[0])
    assert url.port == port and url.hostname in ("127.0.0.1", "localhost")
    assert client.get(url.path).status_code == 200, f"the health check asks {url.path}"

    app_ports = [
        str(p).rsplit(":", 1)[-1].split("/")[0]
        for s in hearth_services().values()
        for p in s.get("ports", [])
    ]
    assert app_ports and set(app_ports) == {str(port)}, f"compose publishes {app_ports}"


def test_every_variable_compose_and_the_image_name_is_a_real_setting():
    variables: dict[str, str] = {}
    for name, service in hearth_services().items():
        for key in environment(service):
            variables[key] = f"compose.yaml service {name}"
    for text in compose_strings(COMPOSE):
        for match in INTERPOLATION.finditer(text):
            variables.setdefault(match["name"], "compose.yaml interpolation")
    for key in image_env():
        variables.setdefault(key, "Dockerfile ENV")
    for key in env_example():
        variables.setdefault(key, ".env.example")

    not_hearth = {"PATH", "PYTHONUNBUFFERED", "POSTGRES_PASSWORD"}
    unknown = {
        f"{key} ({where})"
        for key, where in variables.items()
        if key not in not_hearth and setting_name(key) is None
    }
    assert not unknown, f"no setting in app/core/config.py reads {sorted(unknown)}"

    example = env_example()
    for text in compose_strings(COMPOSE):
        for match in INTERPOLATION.finditer(text):
            assert match["name"] in example, f"compose.yaml uses {match['name']}: in .env.example?"


def test_compose_gives_production_everything_it_requires_and_hard_codes_no_secret(monkeypatch):
    secrets = {"secret_key", "twilio_auth_token", "twilio_account_sid", "smtp_password"}
    required = {
        m["name"]
        for text in compose_strings(COMPOSE)
        for m in INTERPOLATION.finditer(text)
        if (m["rule"] or "").startswith(":?")
    }
    # A strong made-up value for every variable .env would give.
    fill = {name: f"Zq8{name.lower()}-x7Rk2pWm9vTb4nLs6yHd3cFg" for name in required}
    for name, service in hearth_services().items():
        env = environment(service)
        for key, value in env.items():
            if setting_name(key) in secrets:
                assert re.fullmatch(INTERPOLATION, value), f"{name}: {key} is hard-coded"
                assert key in required, f"{name}: {key} should be required (`${{{key}:?...}}`)"
        for key in list(os.environ):
            if key.startswith("HEARTH_"):
                monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, interpolated(value, fill))
        settings = Settings()  # raises what production refuses
        assert settings.env == "production"
        assert settings.embedded_workers == 0, f"{name}: jobs belong to the worker services"

        database = urlsplit(settings.database_url)
        postgres = environment(COMPOSE["services"][database.hostname])
        assert COMPOSE["services"][database.hostname]["image"] == "postgres:15"
        assert database.username == postgres["POSTGRES_USER"]
        assert database.path.lstrip("/") == postgres["POSTGRES_DB"]
        assert database.password == interpolated(postgres["POSTGRES_PASSWORD"], fill)
        queue = urlsplit(settings.queue_url)
        assert queue.scheme == "redis" and queue.hostname in COMPOSE["services"]
        assert COMPOSE["services"][queue.hostname]["image"].startswith("redis:7")

    postgres_password = environment(COMPOSE["services"]["postgres"])["POSTGRES_PASSWORD"]
    assert re.fullmatch(INTERPOLATION, postgres_password), "POSTGRES_PASSWORD is hard-coded"


def test_data_and_models_live_on_named_volumes_and_services_have_health_checks():
    env = image_env()
    volumes = set(json.loads(instructions(final_stage(), "VOLUME")[-1].value))
    data, models = env["HEARTH_DATA_DIR"], env["HEARTH_ARGOS_PACKAGES_DIR"]
    assert {data, models} <= volumes, f"the image declares volumes {volumes}"
    declared = set(COMPOSE.get("volumes") or {})

    for name, service in hearth_services().items():
        mounts = dict(str(v).split(":")[:2][::-1] for v in service.get("volumes", []))
        for path in (data, models):
            assert mounts.get(path) in declared, f"{name}: {path} is not on a named volume"
        overridden = {"HEARTH_DATA_DIR", "HEARTH_ARGOS_PACKAGES_DIR"} & set(environment(service))
        assert not overridden, f"{name} moves {overridden} off the image's volumes"
        serves = any(
            parse_hearth(run)[0] == ["serve"]
            for run in hearth_invocations(service_command(service))
        )
        if not serves:
            assert (service.get("healthcheck") or {}).get("disable") is True, (
                f"{name} runs no HTTP server: disable the image's health check"
            )
            condition = (service.get("depends_on") or {}).get(serving_service(), {})
            assert condition.get("condition") == "service_healthy", (
                f"{name} should wait until the app is healthy (it has migrated by then)"
            )
        else:
            # Images in the OCI format drop HEALTHCHECK: compose must carry it itself.
            health = instructions(final_stage(), "HEALTHCHECK")[-1].value
            image_check = Instruction("CMD", health.split(" CMD ", 1)[1].strip()).exec_form()
            test = (service.get("healthcheck") or {}).get("test")
            assert test == ["CMD", *image_check], f"{name}: the image's health check, please"

    for name in ("postgres", "redis"):
        service = COMPOSE["services"][name]
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        named = [str(v).split(":")[0] for v in service.get("volumes", [])]
        assert named and set(named) <= declared, f"{name} keeps its data on no named volume"
        for dependant in hearth_services().values():
            condition = (dependant.get("depends_on") or {}).get(name, {}).get("condition")
            assert condition == "service_healthy", f"a Hearth service does not wait for {name}"


def _build_context(destination: Path) -> Path:
    """The files the Dockerfile's build stage copies, where it copies them."""
    stage = dockerfile_stages()[0]
    workdir = Path(instructions(stage, "WORKDIR")[0].value)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for copy in instructions(stage, "COPY"):
        *sources, target = shlex.split(copy.value)
        for source in sources:
            to = destination / (workdir / target).relative_to(workdir)
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, to, ignore=ignore)
            else:
                to.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / source, to / Path(source).name)
    return destination


def test_the_built_package_carries_and_finds_its_files_outside_the_source_tree(tmp_path):
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", "var"} <= set(ignored), "keep secrets and local state out"
    source = _build_context(tmp_path / "src")
    lib = tmp_path / "lib"
    build = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(lib)],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr

    def files(root: Path, pattern: str = "*") -> set[str]:
        return {
            p.relative_to(root).as_posix()
            for p in root.rglob(pattern)
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        }

    missing = files(ROOT / "app") - files(lib / "app")
    assert not missing, f"pyproject's package-data leaves out {sorted(missing)}"
    bundled = lib / "app" / "_bundled"
    wanted = [("locales", "*.mo"), ("message_templates", "*"), ("migrations", "*.py")]
    for folder, pattern in wanted:
        lost = files(ROOT / folder, pattern) - files(bundled / folder)
        assert not lost, f"the built package lacks {folder}/{sorted(lost)}"
    assert (bundled / "alembic.ini").is_file()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env |= {"PYTHONPATH": str(lib), "HEARTH_DATA_DIR": str(tmp_path / "data")}
    probe = """
import json, app
from app.core import migrations
from app.notices import catalogs, service
migrations.upgrade()
notice = service.render(
    "school_closed", {"school_name": "Riverside", "date": "2026-12-03", "reason": "weather"}, "es"
)
print(json.dumps({
    "package": app.__file__, "root": str(migrations.project_root()),
    "locales": sorted(catalogs.shipped_locales()), "templates": str(service.TEMPLATES_DIR),
    "source": notice.source,
}))
"""
    run = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout.splitlines()[-1])
    assert found["package"].startswith(str(lib)), "the probe imported the source tree"
    assert found["root"] == str(bundled) and found["templates"].startswith(str(bundled))
    assert "es" in found["locales"] and found["source"] == "human"
    assert (tmp_path / "data" / "hearth.db").is_file(), "the bundled migrations did not run"
