"""`hearth serve --demo`: the demo district, and how to try it."""

import typer

from app.core.cli import session_scope
from app.core.config import get_settings


def seed_demo(host: str, port: int) -> None:
    """Seeds the demo district (once) and prints how to try it."""
    # Only `serve --demo` needs the demo and the jobs it runs: importing them builds the job
    # queues, which every other command (and a refused configuration) must start without.
    from app.demo import service as demo

    settings = get_settings()
    installed = demo.ensure_models(settings.argos_dir)
    with session_scope() as session:
        created = demo.seed(session)
        keys = demo.demo_keys(session, settings.data_dir)
        note = demo.write_first_note(session) if created else None
    conversation = None
    if note is not None:
        demo.deliver_first_note(note)  # its jobs, between the two scopes: no transaction open
        with session_scope() as session:
            demo.family_replies(session, note)
        conversation = note.thread_id, note.guardian_id
    base = f"http://{host}:{port}"

    typer.echo("")
    typer.echo(
        f"Hearth demo district {'created' if created else 'ready'}: Riverside Elementary,"
        " 3 teachers, 30 students, 45 guardians in 9 languages."
    )
    typer.echo(f"  Web app:         {base}/  (sign in as a teacher, the office or the admin)")
    typer.echo(
        f"  Staff sign-in:   {keys.teacher_email} / {demo.DEMO_PASSWORD}"
        f" (office: {demo.OFFICE_EMAIL}, admin: {demo.ADMIN_EMAIL},"
        f" interpreter: {demo.INTERPRETER_EMAIL}, same password)"
    )
    typer.echo(f"  API docs:        {base}/docs")
    typer.echo(f"  Health:          {base}/api/v1/health")
    typer.echo(f"  Teacher API key: {keys.teacher_key}")
    typer.echo(f"  Try:  curl -H 'Authorization: Bearer {keys.admin_key}' {base}/api/v1/guardians")
    typer.echo(f"  Admin API key:   {keys.admin_key}")
    typer.echo(f"  Dev phone:       {base}/dev/phone  (texts to families land here; reply from it)")
    typer.echo(f"  Dev mail:        {base}/dev/mail")
    if conversation:
        thread_id, guardian_id = conversation
        typer.echo("")
        typer.echo(
            f'  The loop: Ms. Rivera wrote to Sofía\'s mother in English: "{demo.DEMO_NOTE}"'
        )
        typer.echo(f"    her phone (Spanish):  {base}/dev/phone/{guardian_id}")
        typer.echo(
            f'    she replied "{demo.DEMO_REPLY}"; the thread, translated back for the '
            f"teacher: {base}/threads/{thread_id} (signed in as {keys.teacher_email})"
        )
    if installed:
        typer.echo("")
        typer.echo(
            f"  Translation: no models were installed, so Hearth installed its own tiny demo "
            f"models ({', '.join(installed)})."
        )
        typer.echo(
            "    They know only ~290 short school texts (closures, absences, meetings, "
            '"Thank you"...) and'
        )
        typer.echo(
            "    turn anything else into nonsense. For real use: hearth models install es vi "
            "zh ... (or install-file)."
        )
    typer.echo("")
