"""Packaging is declared in pyproject.toml; this file only adds one build step.

Hearth reads four top-level folders at run time: alembic.ini with migrations/, the compiled
catalogs in locales/ and the notice templates in message_templates/. They stay at the top of
the source tree (the project's layout), and a built package carries a copy of them in
app/_bundled/, so an installed Hearth finds them from any working directory
(app.core.migrations.project_root and app.notices.catalogs.project_dir look there)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED_DIR = "_bundled"
# What each bundled folder needs at run time (no .po, .pot or __pycache__).
BUNDLED = {
    "alembic.ini": None,
    "migrations": ("*.py", "*.mako"),
    "locales": ("*.mo",),
    "message_templates": ("*.j2",),
}


def bundled_files() -> list[Path]:
    """The files copied into app/_bundled/, relative to the project root."""
    files: list[Path] = []
    for name, patterns in BUNDLED.items():
        if patterns is None:
            files.append(Path(name))
            continue
        for pattern in patterns:
            files += sorted(p.relative_to(ROOT) for p in (ROOT / name).rglob(pattern))
    return files


class BuildWithBundledFolders(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install runs from the source tree, which has the folders
        for relative in bundled_files():
            target = Path(self.build_lib, "app", BUNDLED_DIR, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relative, target)


setup(cmdclass={"build_py": BuildWithBundledFolders})
