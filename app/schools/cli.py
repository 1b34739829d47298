"""`hearth schools`: school settings from the shell."""

from typing import Annotated

import typer

from app.core.cli import fail, session_scope
from app.schools import service as schools
from app.schools.models import School

schools_cli = typer.Typer(help="School settings.", no_args_is_help=True)


@schools_cli.command("set-sender")
def schools_set_sender(
    school_id: Annotated[int, typer.Argument(help="The school's id.")],
    sender: Annotated[
        str, typer.Argument(help="Twilio number (+15125550100) or Messaging Service SID (MG…).")
    ],
    pool: Annotated[
        list[str] | None,
        typer.Argument(
            help="More numbers of the school (the pool): each family sees one of them per "
            "staff member who texts it, so its replies reach that conversation."
        ),
    ] = None,
    no_pool: Annotated[bool, typer.Option("--no-pool", help="Forget the pool.")] = False,
) -> None:
    """Set the number (or Messaging Service) a school's text messages are sent from, and its
    pool of further numbers (kept as it is unless given, or --no-pool)."""
    with session_scope() as session:
        school = session.get(School, school_id)
        if school is None:
            fail(f"no school with id {school_id}")
        numbers = [] if no_pool else (pool or None)
        value = schools.set_sms_sender(session, school, sender, actor="cli", pool=numbers)
        name, extra = school.name, list(school.sms_pool or [])
    typer.echo(f"school {school_id} ({name}) now sends text messages from {value}")
    if extra:
        typer.echo(f"pool: {', '.join(extra)}")
