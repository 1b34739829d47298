"""The `hearth` command."""

import logging
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

import app.models  # noqa: F401  (every table known before any query)
from app.core.config import get_settings, settings_error_line
from app.core.db import get_sessionmaker
from app.core.errors import HearthError
from app.core.logging import configure_logging
from app.operations import cli as operations_cli
from app.records.cli import records_cli

cli = typer.Typer(
    help="Hearth: translated two-way messaging between schools and families.",
    no_args_is_help=True,
    add_completion=False,
    # A traceback's local variables would print settings, secrets among them.
    pretty_exceptions_show_locals=False,
)
db_cli = typer.Typer(help="Database migrations.", no_args_is_help=True)
keys_cli = typer.Typer(help="API keys for other systems and scripts.", no_args_is_help=True)
users_cli = typer.Typer(help="Staff accounts.", no_args_is_help=True)
models_cli = typer.Typer(help="Offline translation models (Argos Translate).", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(keys_cli, name="apikeys")
cli.add_typer(users_cli, name="users")
cli.add_typer(models_cli, name="models")
roster_cli = typer.Typer(
    help="Roster import: OneRoster 1.1/1.2 CSV from the SIS, or a plain guardian CSV.",
    no_args_is_help=True,
)
schools_cli = typer.Typer(help="School settings.", no_args_is_help=True)
cli.add_typer(roster_cli, name="roster")
cli.add_typer(schools_cli, name="schools")
cli.add_typer(records_cli, name="records")
cli.command()(operations_cli.backup)
cli.command()(operations_cli.restore)

# Commands that migrate the database themselves or copy it as it is. Every other command
# refuses an unmigrated or outdated database, in one line, the moment it first touches it.
TAKES_ANY_SCHEMA = {"db", "serve", "backup", "restore"}


@cli.callback()
def _every_command(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand not in TAKES_ANY_SCHEMA:
        from app.core import migrations
        from app.core.db import get_engine

        migrations.refuse_outdated_schema(get_engine())


def fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@contextmanager
def session_scope() -> Iterator[Session]:
    with get_sessionmaker()() as session:
        try:
            yield session
            session.commit()  # the command's one transaction
        except HearthError as exc:
            session.rollback()
            fail(exc.message)


@cli.command()
def serve(
    demo: Annotated[
        bool, typer.Option(help="Seed a demo district and print how to try it.")
    ] = False,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run migrations, then serve the API (embedded default: SQLite in the data dir)."""
    import uvicorn

    from app.core import migrations

    settings = get_settings()
    if demo and not settings.dev_tools:
        fail(
            "--demo seeds known passwords and opens the dev phone: it runs only with "
            "HEARTH_ENV=dev and the dev SMS and email backends."
        )
    configure_logging(settings.log_level)
    settings.signing_key()
    migrations.upgrade()
    if demo:
        _seed_demo(host, port)
    if settings.dev_tools:
        _dev_tools_banner(host, port)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        log_config=None,  # keep Hearth's JSON logging
        access_log=False,  # Hearth writes its own access line, with the request id
    )


def _dev_tools_banner(host: str, port: int) -> None:
    """Said at every start while the dev tools are open, so nobody runs them by accident."""
    reach = (
        "this machine only"
        if host in ("127.0.0.1", "localhost", "::1")
        else f"ANYONE who can reach {host}:{port}"
    )
    logging.getLogger("hearth").warning(
        "Dev tools are open to %s: /dev/phone and /dev/mail show every text to families and "
        "every staff email (password links too), and /metrics needs no token. They close when "
        "HEARTH_SMS_BACKEND or HEARTH_EMAIL_BACKEND names a real provider.",
        reach,
    )


def _seed_demo(host: str, port: int) -> None:
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
        f" (office: {demo.OFFICE_EMAIL}, admin: {demo.ADMIN_EMAIL}, same password)"
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


@cli.command()
def worker(
    workers: Annotated[
        int, typer.Option("--workers", "-w", help="Concurrent jobs per queue in this process.")
    ] = 8,
    worker_type: Annotated[
        str,
        typer.Option(help="thread (I/O: sending) or process (CPU: translation); one queue."),
    ] = "thread",
    queue: Annotated[
        str,
        typer.Option(help="send (deliveries), translate (translation, fan-out, imports), or all."),
    ] = "all",
) -> None:
    """Run queue workers. Scale-out: HEARTH_QUEUE_URL=redis://… everywhere and
    HEARTH_EMBEDDED_WORKERS=0 on the API processes, then `hearth worker --queue send` (threads)
    and `hearth worker --queue translate --worker-type process -w 2` (one process per core)."""
    import app.tasks  # noqa: F401  (registers every job)
    from app.core.queue import (
        QUEUES,
        EmbeddedConsumer,
        huey,
        make_consumer,
        run_job,
        translation_huey,
    )

    if worker_type not in ("thread", "process"):
        fail("--worker-type is thread or process")
    if queue not in (*QUEUES, "all"):
        fail(f"--queue is {', '.join(QUEUES)} or all, not {queue!r}")
    if queue == "all" and worker_type == "process":
        fail("--worker-type process serves one queue: add --queue translate (or --queue send)")
    if workers < 1:
        fail("--workers must be at least 1")
    configure_logging(get_settings().log_level)
    get_settings().signing_key()
    if queue in ("send", "all"):
        # Pick up at once what a crashed worker or a flushed queue left behind.
        requeued = run_job("delivery.sweep")
        run_job("messaging.sweep")
        logging.getLogger("hearth.worker").info("outbox sweep: %s deliveries re-enqueued", requeued)
    if queue != "all":
        make_consumer(QUEUES[queue], workers, worker_type).run()
        return
    # Both queues in threads of this process; the send consumer owns the signal handlers.
    translating = EmbeddedConsumer(translation_huey, workers=workers, periodic=False)
    translating.start()
    try:
        make_consumer(huey, workers, "thread").run()
    finally:
        translating.stop(graceful=True)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the configured database."""
    from app.core import migrations

    migrations.upgrade()
    typer.echo("database is up to date")


@db_cli.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    from alembic.util.exc import AutogenerateDiffsDetected

    from app.core import migrations

    try:
        migrations.check()
    except AutogenerateDiffsDetected as exc:
        fail(str(exc))
    typer.echo("models and migrations agree")


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
    from app.audit import service as audit
    from app.auth.service import create_api_key

    wanted = [s.strip() for s in scopes.split(",") if s.strip()]
    with session_scope() as session:
        api_key, key = create_api_key(
            session, name=name, scopes=wanted, school_id=school, staff_email=staff
        )
        audit.record(session, "cli", "apikey.create", "api_key", api_key.id, school_id=school)
        session.commit()
        typer.echo(
            f"created API key {api_key.id} '{api_key.name}' with scopes "
            f"{','.join(api_key.scopes)}; store it now, it is not shown again:",
            err=True,
        )
    typer.echo(key)


@keys_cli.command("revoke")
def apikeys_revoke(key_id: Annotated[int, typer.Argument(help="The key's id.")]) -> None:
    """Revoke an API key at once."""
    from app.audit import service as audit
    from app.auth.service import revoke_api_key

    with session_scope() as session:
        api_key = revoke_api_key(session, key_id)
        audit.record(session, "cli", "apikey.revoke", "api_key", api_key.id)
        session.commit()
    typer.echo(f"revoked API key {key_id}")


@keys_cli.command("list")
def apikeys_list() -> None:
    """List API keys (never the keys themselves)."""
    from app.auth.models import ApiKey

    with session_scope() as session:
        for k in session.scalars(select(ApiKey).order_by(ApiKey.id)):
            state = "revoked" if k.revoked_at else "active"
            used = k.last_used_at.isoformat(timespec="seconds") if k.last_used_at else "never"
            typer.echo(
                f"{k.id:>4}  {state:<8} {k.name:<24} scopes={','.join(k.scopes):<20} "
                f"school={k.school_id or '-'} staff={k.staff_id or '-'} last used {used}"
            )


@users_cli.command("create-admin")
def users_create_admin(
    email: Annotated[str, typer.Option(help="The admin's email (their sign-in).")],
    name: Annotated[str, typer.Option(help="Their name.")] = "Administrator",
    password: Annotated[
        str | None, typer.Option(help="Password (at least 10 characters). Omit to generate one.")
    ] = None,
) -> None:
    """Create a district-wide admin account."""
    from app.audit import service as audit
    from app.core.contact import normalize_email
    from app.core.security import hash_password
    from app.people.models import Staff

    try:
        address = normalize_email(email)
    except ValueError as exc:
        fail(str(exc))
    if password is not None and len(password) < 10:
        fail("the password must be at least 10 characters")
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    with session_scope() as session:
        if session.scalar(select(Staff.id).where(Staff.email == address)):
            fail(f"a staff member with email {address} already exists")
        staff = Staff(
            name=name.strip() or "Administrator",
            email=address,
            role="admin",
            password_hash=hash_password(password),
        )
        session.add(staff)
        session.flush()
        audit.record(session, "cli", "staff.create", "staff", staff.id)
        session.commit()
        typer.echo(f"created admin {address} (id {staff.id})")
    if generated:
        typer.echo(f"password: {password}")


@models_cli.command("list")
def models_list() -> None:
    """Installed language pairs, languages reachable directly or through English, and the
    families' languages that have no route."""
    from app.people import service as people
    from app.translation import packages
    from app.translation.languages import display_names

    pairs = packages.installed()
    typer.echo(f"Models in {get_settings().argos_dir}:")
    if not pairs:
        typer.echo("  none installed (hearth models install LANG, or install-file PATH)")
    for pair in pairs:
        typer.echo(f"  {pair.source} → {pair.target}   version {pair.version}")
    with session_scope() as session:
        counts = packages.by_model_language(people.language_counts(session))
    codes = sorted(set(counts) | packages.installed_languages())
    typer.echo("Languages (from English / back to English), with guardians who read them:")
    unreachable: list[str] = []
    one_way: list[str] = []

    for code in codes:
        cov = packages.coverage_for(code)
        name = display_names(code)[0]
        typer.echo(
            f"  {code:<4} {name:<24} {cov.to_family:<7}/ {cov.from_family:<7}"
            f" {counts.get(code, 0):>6} guardians"
        )
        if counts.get(code) and cov.to_family == "none":
            unreachable.append(f"{code} ({counts[code]})")
        elif counts.get(code) and cov.from_family == "none":
            one_way.append(f"{code} ({counts[code]})")
    if unreachable:
        typer.echo(
            "No route for: "
            + ", ".join(unreachable)
            + " — messages to them are marked unavailable, never sent untranslated."
        )
    if one_way:
        typer.echo("Replies cannot be translated back from: " + ", ".join(one_way))


@models_cli.command("install")
def models_install(
    languages: Annotated[list[str], typer.Argument(help="Language codes, e.g. es vi so.")],
) -> None:
    """Install models both ways with English from the Argos package index (needs internet)."""
    from app.translation import packages

    try:
        done = packages.install_languages(languages)
    except HearthError as exc:
        fail(exc.message)
    for pair in done:
        typer.echo(f"installed {pair.source} → {pair.target} (version {pair.version})")
    if not done:
        typer.echo("already installed")


@models_cli.command("install-file")
def models_install_file(
    paths: Annotated[list[Path], typer.Argument(help=".argosmodel files.")],
) -> None:
    """Install model packages from files (for air-gapped servers)."""
    from app.translation import packages

    for path in paths:
        try:
            new = packages.install_file(path)
        except HearthError as exc:
            fail(exc.message)
        names = ", ".join(f"{p.source} → {p.target}" for p in new) or "reinstalled"
        typer.echo(f"{path.name}: {names}")


@models_cli.command("import")
def models_import(
    checkpoint: Annotated[Path, typer.Argument(help="Folder of a Marian / OPUS-MT checkpoint.")],
    out: Annotated[Path | None, typer.Option(help="The .argosmodel file to write.")] = None,
    source: Annotated[str | None, typer.Option("--from", help="Source language code.")] = None,
    target: Annotated[str | None, typer.Option("--to", help="Target language code.")] = None,
) -> None:
    """Convert a Marian (OPUS-MT) checkpoint into an Argos package. Needs hearth[convert]."""
    from app.translation import importer

    try:
        package = importer.import_checkpoint(checkpoint, out, source, target)
    except HearthError as exc:
        fail(exc.message)
    licence = package.licence or "not stated: check the model card before use"
    typer.echo(f"wrote {package.path}: {package.source} → {package.target} (licence {licence})")
    if package.test_model:
        typer.echo("  this is a test model: not for families")
    typer.echo(f"  install it with: hearth models install-file {package.path}")


def _print_import(job, as_json: bool) -> None:
    """The import's report as a table (or JSON), then its rejected rows."""
    import json

    from app.roster.report import ENTITIES, OUTCOMES

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


def _run_import(run, as_json: bool) -> None:
    """Runs an import; every failure is one clear line on stderr and exit code 1."""
    import logging

    try:
        with get_sessionmaker()() as session:
            job = run(session)
    except HearthError as exc:
        fail(exc.message)
    except Exception as exc:  # never a traceback for a person at a terminal
        logging.getLogger("hearth.roster").debug("roster import failed", exc_info=True)
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
    from app.roster import service

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
    from app.roster import service

    _run_import(
        lambda session: service.import_guardians_path(
            session, path, school_id=school, dry_run=dry_run
        ),
        as_json,
    )


def _sms_sender(raw: str) -> str:
    """A Twilio phone number in E.164, or a Messaging Service SID (MG + 32 hex)."""
    import re

    from app.core.contact import normalize_phone

    text = raw.strip()
    if re.fullmatch(r"MG[0-9a-fA-F]{32}", text):
        return "MG" + text[2:].lower()
    if text[:2].upper() == "MG":
        raise ValueError(
            f"'{raw}' is not a Messaging Service SID: those are MG followed by 32 hex characters"
        )
    if not re.fullmatch(r"\+?[\d\s().-]{7,25}", text):
        raise ValueError(
            f"'{raw}' is neither a phone number (E.164, e.g. +15125550100) nor a Messaging "
            "Service SID (MG followed by 32 hex characters)"
        )
    return normalize_phone(text, get_settings().default_region)


@schools_cli.command("set-sender")
def schools_set_sender(
    school_id: Annotated[int, typer.Argument(help="The school's id.")],
    sender: Annotated[
        str, typer.Argument(help="Twilio number (+15125550100) or Messaging Service SID (MG…).")
    ],
) -> None:
    """Set the number (or Messaging Service) a school's text messages are sent from."""
    from app.audit import service as audit
    from app.schools.models import School

    try:
        value = _sms_sender(sender)
    except ValueError as exc:
        fail(str(exc))
    with session_scope() as session:
        school = session.get(School, school_id)
        if school is None:
            fail(f"no school with id {school_id}")
        previous = school.sms_sender
        school.sms_sender = value
        audit.record(
            session,
            "cli",
            "school.set_sender",
            "school",
            school.id,
            school_id=school.id,
            details={"from": previous, "to": value},
        )
        session.commit()
        typer.echo(f"school {school.id} ({school.name}) now sends text messages from {value}")


def main() -> None:
    # Whatever Hearth writes into its data dir (the database, the queue, the secret key,
    # models) is for the user it runs as, not for everyone on the machine.
    os.umask(0o077)
    try:
        cli()
    except HearthError as exc:
        typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
        sys.exit(1)
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        typer.secho(f"error: {settings_error_line(exc)}", fg=typer.colors.RED, err=True)
        sys.exit(2)
