"""`hearth users`: the first admin of a new installation (and any other district admin)."""

import secrets
from typing import Annotated

import typer
from pydantic import ValidationError

from app.auth.models import SCOPES
from app.auth.service import AuthSubject
from app.core.cli import fail, session_scope
from app.core.contact import normalize_email
from app.core.errors import Invalid

users_cli = typer.Typer(help="Staff accounts.", no_args_is_help=True)

# The command line acts for the whole district; its audit events name "cli".
DISTRICT = AuthSubject(role="admin", scopes=frozenset(SCOPES), school_ids=None)


@users_cli.command("create-admin")
def users_create_admin(
    email: Annotated[str, typer.Option(help="The admin's email (their sign-in).")],
    name: Annotated[str, typer.Option(help="Their name.")] = "Administrator",
    password: Annotated[
        str | None, typer.Option(help="Password (at least 10 characters). Omit to generate one.")
    ] = None,
) -> None:
    """Create a district-wide admin account."""
    # Imported when the command runs: the password rule's module imports the job queue, which
    # builds the queues (and their files) as it loads, and every `hearth` command loads this one.
    from app.auth.passwords import check_password
    from app.people import service as people
    from app.people.schemas import StaffCreate

    try:
        address = normalize_email(email)
        if password is not None:
            password = check_password(password)
    except ValueError as exc:
        fail(str(exc))
    except Invalid as exc:
        fail(exc.message)
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        data = StaffCreate(
            name=name.strip() or "Administrator", email=address, role="admin", password=password
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        fail(f"{error['loc'][-1]}: {error['msg']}")
    with session_scope() as session:
        staff = people.create_staff(session, DISTRICT, data, actor="cli")
    typer.echo(f"created admin {staff.email} (id {staff.id})")
    if generated:
        typer.echo(f"password: {password}")
