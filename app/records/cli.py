"""`hearth records`: retention, a family's export and a family's deletion, from the shell."""

from typing import Annotated

import typer

from app.core.cli import fail, session_scope
from app.records.schemas import GuardianExport

# Each command imports records.service when it runs: the service imports the job queue, which
# builds the queues (and their files) as it loads, and every `hearth` command loads this module.

records_cli = typer.Typer(
    help="Records requests: retention of message texts, a family's export and deletion.",
    no_args_is_help=True,
)


@records_cli.command("purge")
def purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be erased; erase nothing.")
    ] = False,
    days: Annotated[
        int | None,
        typer.Option(min=0, help="Erase texts older than this (default: HEARTH_RETENTION_DAYS)."),
    ] = None,
) -> None:
    """Erase message texts older than the retention period, keeping who, when, status and
    language. Safe to run while Hearth sends; running it twice erases nothing more."""
    from app.records import service

    with session_scope() as session:
        report = service.purge(session, days=days, dry_run=dry_run, actor="cli")
    if not report["days"]:
        typer.echo(
            "retention is off (HEARTH_RETENTION_DAYS=0): nothing erased. "
            "Give --days N for a one-off purge."
        )
        return
    verb = "would erase" if dry_run else "erased"
    typer.echo(
        f"retention {report['days']} days: texts from before "
        f"{report['cutoff']:%Y-%m-%d %H:%M} UTC ({verb})"
    )
    for name in service.ERASABLE:
        typer.echo(f"  {name:<18} {report[name]:>8}")
    typer.echo(
        f"  {'messages_held':<18} {report['messages_held']:>8}  "
        "(old, kept while a delivery or translation is still on its way)"
    )


@records_cli.command("export-guardian")
def export_guardian(guardian_id: Annotated[int, typer.Argument(help="The guardian's id.")]) -> None:
    """Print everything Hearth holds about one family as JSON (for a records request)."""
    from app.records import service

    with session_scope() as session:
        export = service.export_guardian(
            session, service.system_subject(), guardian_id, actor="cli"
        )
        document = GuardianExport.model_validate(export).model_dump_json(indent=2)
    typer.echo(document)  # once the export's audit event is saved


@records_cli.command("delete-guardian")
def delete_guardian(
    guardian_id: Annotated[int, typer.Argument(help="The guardian's id.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: the family's data is erased for good.")
    ] = False,
) -> None:
    """Erase one family for good: name, phone, email, links, the messages only they received
    or wrote; cancel what has not been sent. A STOP from their number is kept."""
    from app.records import service

    if not yes:
        fail(
            f"this erases guardian {guardian_id}'s name, phone, email and messages for good. "
            f"Keep a copy with `hearth records export-guardian {guardian_id}` if needed, "
            "then add --yes."
        )
    with session_scope() as session:
        report = service.delete_guardian(
            session, service.system_subject(), guardian_id, actor="cli"
        )
    typer.echo(f"guardian {guardian_id} deleted:")
    for name, value in report.items():
        if name != "guardian_id":
            typer.echo(f"  {name:<32} {value}")
