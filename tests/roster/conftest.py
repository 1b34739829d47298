"""Helpers for roster tests: the sample OneRoster files, zipped or copied and edited."""

import io
import shutil
import zipfile
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.roster import oneroster, service
from app.roster.models import RosterImport

FIXTURES = Path(__file__).parent / "fixtures"
TODAY = date(2026, 11, 22)  # the sample files describe the 2026-27 school year


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setattr(oneroster, "today", lambda: TODAY)


def sample(version: str, tmp_path: Path) -> Path:
    """A writable copy of the sample roster for OneRoster `version` ("1.1" or "1.2")."""
    target = tmp_path / f"oneroster-{version}"
    shutil.copytree(FIXTURES / f"oneroster-{version}", target)
    return target


def zip_folder(folder: Path, *, inside: str = "", extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, f"{inside}{file.name}")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def write_csv(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text.strip() + "\n", encoding="utf-8")


def edit_csv(folder: Path, name: str, *, drop: tuple[str, ...] = (), add: str = "") -> None:
    """Drop the rows whose first field is in `drop`; append the lines of `add`."""
    path = folder / name
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [lines[0]] + [line for line in lines[1:] if line.split(",")[0] not in drop]
    kept += [line for line in add.strip().splitlines() if line.strip()]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")


def run(session: Session, path: Path, **options) -> RosterImport:
    """Runs a OneRoster import as the CLI does; fails the test if the import failed."""
    job = service.import_oneroster_path(session, path, **options)
    assert job.status == "succeeded", job.error
    return job


def counts(job: RosterImport) -> dict[str, dict[str, int]]:
    return job.report["counts"]


def changed(job: RosterImport) -> dict[str, dict[str, int]]:
    """Only the non-zero outcomes, for compact assertions."""
    return {
        entity: {o: n for o, n in row.items() if n}
        for entity, row in job.report["counts"].items()
        if any(row.values())
    }


def rejected(job: RosterImport) -> list[tuple[str, int | None, str]]:
    return [(r["file"], r["line"], r["reason"]) for r in job.report["rejected"]]


def one(session: Session, stmt):
    return session.execute(stmt).scalar_one()


def settings():
    return get_settings()


__all__ = ["one", "select"]
