"""`hearth apikeys`: keys for other systems and scripts."""

from typing import Annotated

import typer
from sqlalchemy import select

from app.audit import service as audit
from app.auth.models import ApiKey
from app.auth.service import create_api_key, revoke_api_key
from app.core.cli import session_scope

keys_cli = typer.Typer(help="API keys for other systems and scripts.", no_args_is_help=True)


@keys_cli.command("create")
def apikeys_create(
    name: Annotated[str, typer.Option(help="What the key is for.")],
    scopes: Annotated[
        str, typer.Option(help="Comma-separated: read, write, send, admin.")
    ] = "read",
    school: Annotated[int | None, typer.Option(help="Restrict the key to one school id.")] = None,
    staff: Annotated[str | None, typer.Option(help="Email of the staff member it acts as.")] = None,
) -> None:
    """Create an API key. The key is printed once, as the last line."""
    wanted = [s.strip() for s in scopes.split(",") if s.strip()]
    with session_scope() as session:
        api_key, key = create_api_key(
            session, name=name, scopes=wanted, school_id=school, staff_email=staff
        )
        audit.record(session, "cli", "apikey.create", "api_key", api_key.id, school_id=school)
    # Shown once the key is saved.
    typer.echo(
        f"created API key {api_key.id} '{api_key.name}' with scopes "
        f"{','.join(api_key.scopes)}; store it now, it is not shown again:",
        err=True,
    )
    typer.echo(key)


@keys_cli.command("revoke")
def apikeys_revoke(key_id: Annotated[int, typer.Argument(help="The key's id.")]) -> None:
    """Revoke an API key at once."""
    with session_scope() as session:
        api_key = revoke_api_key(session, key_id)
        audit.record(session, "cli", "apikey.revoke", "api_key", api_key.id)
    typer.echo(f"revoked API key {key_id}")


@keys_cli.command("list")
def apikeys_list() -> None:
    """List API keys (never the keys themselves)."""
    with session_scope() as session:
        for k in session.scalars(select(ApiKey).order_by(ApiKey.id)):
            state = "revoked" if k.revoked_at else "active"
            used = k.last_used_at.isoformat(timespec="seconds") if k.last_used_at else "never"
            typer.echo(
                f"{k.id:>4}  {state:<8} {k.name:<24} scopes={','.join(k.scopes):<20} "
                f"school={k.school_id or '-'} staff={k.staff_id or '-'} last used {used}"
            )
