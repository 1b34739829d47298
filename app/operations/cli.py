"""`hearth backup` and `hearth restore`: the embedded SQLite database (and the attachments'
files beside it) to a file and back."""

from pathlib import Path
from typing import Annotated

import typer

from app.core.config import get_settings
from app.operations import backup as backups


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def backup(
    target: Annotated[
        Path, typer.Argument(help="The backup file to write (new), or a folder to write it in.")
    ],
) -> None:
    """Back up the SQLite database to one file while Hearth runs (SQLite's online backup).
    With PostgreSQL, prints how to use pg_dump instead."""
    settings = get_settings()
    if backups.database_file(settings) is None:
        typer.echo(backups.postgres_guidance(settings), err=True)
        _fail("nothing was backed up: use pg_dump (above)")
    try:
        copied = backups.backup(settings, target)
    except backups.BackupError as exc:
        _fail(exc.message)
    if copied.attachments_elsewhere:
        typer.echo(
            f"backed up {copied.source} ({copied.bytes / 1e6:.1f} MB, revision "
            f"{copied.revision}) to {copied.target}; no attachment files copied: they are kept "
            f"in {copied.attachments_elsewhere}, not on this server (back it up with the "
            "store's own tools)"
        )
        return
    typer.echo(
        f"backed up {copied.source} ({copied.bytes / 1e6:.1f} MB, revision {copied.revision}) "
        f"to {copied.target}, and {copied.attachments} attachment files to "
        f"{backups.attachments_beside(copied.target)}"
    )


def restore(
    backup_file: Annotated[Path, typer.Argument(help="A file written by `hearth backup`.")],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace the data dir's database (it is kept beside, renamed)."
        ),
    ] = False,
) -> None:
    """Restore a backup as the data dir's SQLite database. Stop Hearth first; start it again
    afterwards (`hearth serve` migrates a backup from an older Hearth)."""
    settings = get_settings()
    if backups.database_file(settings) is None:
        typer.echo(backups.postgres_guidance(settings), err=True)
        _fail("nothing was restored: use pg_restore (above)")
    try:
        copied = backups.restore(settings, backup_file, replace=force)
    except backups.BackupError as exc:
        _fail(exc.message)
    if copied.attachments_elsewhere:
        typer.echo(
            f"restored {copied.source} (revision {copied.revision}) as {copied.target}; no "
            f"attachment files restored: they are kept in {copied.attachments_elsewhere}, "
            "which a restore does not write to"
        )
        return
    typer.echo(
        f"restored {copied.source} (revision {copied.revision}) as {copied.target}, "
        f"and {copied.attachments} attachment files"
    )
