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
) -> None:
    """Set the number (or Messaging Service) a school's text messages are sent from."""
    with session_scope() as session:
        school = session.get(School, school_id)
        if school is None:
            fail(f"no school with id {school_id}")
        value = schools.set_sms_sender(session, school, sender, actor="cli")
        name = school.name
    typer.echo(f"school {school_id} ({name}) now sends text messages from {value}")
