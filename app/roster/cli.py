"""`hearth roster`: OneRoster and plain guardian CSV imports, run at once in this process."""

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from app.core.cli import fail, session_scope
from app.roster.models import RosterImport
from app.roster.report import ENTITIES, OUTCOMES

log = logging.getLogger("hearth.roster")

roster_cli = typer.Typer(
    help="Roster import: OneRoster 1.1/1.2 CSV from the SIS, or a plain guardian CSV.",
    no_args_is_help=True,
)


def _print_import(job: RosterImport, as_json: bool) -> None:
    """The import's report as a table (or JSON), then its rejected rows."""
    report = job.report or {}
    if as_json:
        typer.echo(json.dumps({"id": job.id, "status": job.status, "error": job.error, **report}))
        return
    if job.error:
        return
    files = ", ".join(f"{n} ({f['mode']}, {f['rows']} rows)" for n, f in report["files"].items())
    typer.echo(f"{report['format']} import {job.id}: {files or 'no files'}")
    typer.echo(f"{'':<12}" + "".join(f"{o:>12}" for o in OUTCOMES))
    counts = report["counts"]
    for entity in [*ENTITIES, *(e for e in counts if e not in ENTITIES)]:
        if entity in counts:
            row = counts[entity]
            typer.echo(f"{entity:<12}" + "".join(f"{row[o]:>12}" for o in OUTCOMES))
    shown = report["rejected"][:50]
    if shown:
        typer.echo(f"rejected rows ({len(shown)} of {report['rejected_total']} shown):")
        for r in shown:
            where = f"{r['file']} line {r['line']}" if r["line"] else r["file"]
            sid = f" ({r['sourced_id']})" if r.get("sourced_id") else ""
            typer.echo(f"  {where}{sid}: {r['reason']}")
    if report["warnings_total"]:
        typer.echo(f"warnings ({min(20, report['warnings_total'])} of {report['warnings_total']}):")
        for w in report["warnings"][:20]:
            where = f"{w['file']} line {w['line']}" if w["line"] else w["file"]
            typer.echo(f"  {where}: {w['reason']}")
    for what, n in report["ignored"].items():
        typer.echo(f"ignored: {what}: {n}")
    typer.echo(f"took {report['seconds']} s")
    if report["dry_run"]:
        typer.echo("dry run: nothing was saved")


def _run_import(run: Callable[[Session], RosterImport], as_json: bool) -> None:
    """Runs an import in the command's transaction (the import's row and outcome are saved
    even when the import itself is not); every failure is one clear line on stderr and exit
    code 1.

    The commands import roster.service when they run: it imports the job queue, which builds
    the queues (and their files) as it loads, and every `hearth` command loads this module."""
    try:
        with session_scope() as session:
            job = run(session)
    except typer.Exit:  # session_scope already said why
        raise
    except Exception as exc:  # never a traceback for a person at a terminal
        log.debug("roster import failed", exc_info=True)
        fail(f"the import could not run: {exc.__class__.__name__}: {exc}")
    _print_import(job, as_json)
    if job.error:
        fail(f"import {job.id} failed: {job.error}")


@roster_cli.command("import")
def roster_import(
    path: Annotated[Path, typer.Argument(help="A .zip of OneRoster CSV files, or their folder.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; save nothing.")
    ] = False,
    mode: Annotated[
        str | None,
        typer.Option(help="bulk (deactivate what is missing) or delta; default: the manifest's."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Apply even if it would deactivate an unusual share of people."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Import a OneRoster 1.1 or 1.2 CSV roster: schools, sections, teachers, students,
    guardians and their links. Safe to run every night: unchanged data stays unchanged."""
    from app.roster import service  # (why it is imported here: see _run_import)

    if mode not in (None, "bulk", "delta"):
        fail(f"--mode must be bulk or delta, not {mode!r}")
    _run_import(
        lambda session: service.import_oneroster_path(
            session, path, mode=mode, dry_run=dry_run, force=force
        ),
        as_json,
    )


@roster_cli.command("import-guardians")
def roster_import_guardians(
    path: Annotated[Path, typer.Argument(help="A CSV file, one row per guardian and student.")],
    school: Annotated[int, typer.Option("--school", help="The school's id in Hearth.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; save nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Import guardians from a plain CSV (student_id, given_name, family_name, phone, email,
    language, relationship), for schools without a OneRoster export."""
    from app.roster import service  # (why it is imported here: see _run_import)

    _run_import(
        lambda session: service.import_guardians_path(
            session, path, school_id=school, dry_run=dry_run
        ),
        as_json,
    )
