"""The spine is checked, not just described: the import contracts of pyproject.toml hold, they
catch an import that goes up the spine, and no module of app/ imports itself in a circle."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH first: the `app` found is the one in `cwd`, not the installed checkout.
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--config", str(cwd / "pyproject.toml")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


def test_delivery_importing_messaging_breaks_the_contracts(tmp_path):
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    models = tmp_path / "app" / "delivery" / "models.py"
    models.write_text(models.read_text() + "\nfrom app.messaging import replies  # noqa\n")

    result = lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    out = " ".join(result.stdout.split())  # the report wraps long names
    assert "The outbox (delivery) knows nothing of messaging BROKEN" in out
    assert "The spine: web, messaging, translation | delivery, channels, core" in out
    assert "app.delivery.models -> app.messaging.replies" in out
    assert "core imports no domain KEPT" in out


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_import_cycles_are_found():
    graph = grimp.ImportGraph()
    for name in ("a", "a.one", "a.two", "a.three", "a.four"):
        graph.add_module(name)
    graph.add_import(importer="a.one", imported="a.two")
    graph.add_import(importer="a.two", imported="a.three")
    graph.add_import(importer="a.three", imported="a.one")
    graph.add_import(importer="a.four", imported="a.one")
    assert import_cycles(graph) == [["a.one", "a.three", "a.two"]]


def test_no_module_of_app_imports_itself_in_a_circle():
    """Every import grimp sees counts: at module level, under TYPE_CHECKING, and inside
    functions (the lazy imports of heavy or start-up-costly modules), so that no import
    moved into a function can hide a cycle."""
    graph = grimp.build_graph("app", cache_dir=None)
    assert len(graph.modules) > 100
    assert import_cycles(graph) == []


def test_every_domain_is_named_in_the_contracts():
    """A new domain package must be listed (core may not import it, it may not import web)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = {c["id"]: c for c in config["contracts"]}
    domains = {
        f"app.{path.name}"
        for path in (ROOT / "app").iterdir()
        if (path / "__init__.py").exists() and path.name not in ("core", "web")
    }
    assert domains <= set(contracts["core-imports-no-domain"]["forbidden_modules"])
    assert domains <= set(contracts["no-domain-imports-web"]["source_modules"])
