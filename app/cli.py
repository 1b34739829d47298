"""The `hearth` command: serve, worker, and each domain's commands."""

import gc
import logging
import os
import sys
from typing import Annotated, Any

import typer
from pydantic import ValidationError

import app.models  # noqa: F401  (every table known before any query)
from app.auth.cli import keys_cli
from app.core.cli import db_cli, fail
from app.core.config import get_settings, settings_error_line
from app.core.errors import HearthError
from app.core.logging import configure_logging
from app.demo.cli import seed_demo
from app.operations import cli as operations_cli
from app.people.cli import users_cli
from app.records.cli import records_cli
from app.roster.cli import roster_cli
from app.schools.cli import schools_cli
from app.translation.cli import models_cli

cli = typer.Typer(
    help="Hearth: translated two-way messaging between schools and families.",
    no_args_is_help=True,
    add_completion=False,
    # A traceback's local variables would print settings, secrets among them.
    pretty_exceptions_show_locals=False,
)
cli.add_typer(db_cli, name="db")
cli.add_typer(keys_cli, name="apikeys")
cli.add_typer(users_cli, name="users")
cli.add_typer(models_cli, name="models")
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
        # Alembic and the engine only when a command runs: `--help` starts without them.
        from app.core import migrations
        from app.core.db import get_engine

        migrations.refuse_outdated_schema(get_engine())


@cli.command()
def serve(
    demo: Annotated[
        bool, typer.Option(help="Seed a demo district and print how to try it.")
    ] = False,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="Server processes sharing the port (default HEARTH_WEB_WORKERS, 1). The "
            "embedded job consumers run in one of them.",
        ),
    ] = None,
) -> None:
    """Run migrations, then serve the API (embedded default: SQLite in the data dir)."""
    # Only `serve` needs the web server and Alembic: other commands start without them.
    import uvicorn

    from app.core import migrations

    settings = get_settings()
    processes = workers if workers is not None else settings.web_workers
    if processes < 1:
        fail("--workers must be at least 1.")
    if "argos_inter_threads" not in settings.model_fields_set:
        # Unless set: the cores shared among the server processes, each running that many
        # translations (batches) at once (two batches in parallel on two cores measured
        # ~1.5x one). The server processes read it from the environment as they start.
        cores = len(os.sched_getaffinity(0))
        os.environ["HEARTH_ARGOS_INTER_THREADS"] = str(max(1, min(4, cores // processes)))
        get_settings.cache_clear()
        settings = get_settings()
    if "public_url" not in settings.model_fields_set:
        # Unset: links in texts and emails, and the URL webhooks are signed for, name the
        # address and port served here, not the default's 8000.
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        shown = f"[{shown}]" if ":" in shown else shown
        os.environ["HEARTH_PUBLIC_URL"] = f"http://{shown}:{port}"
        get_settings.cache_clear()
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
        seed_demo(host, port)
    if settings.dev_tools:
        _dev_tools_banner(host, port)
    _test_models_banner()
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "log_level": settings.log_level.lower(),
        "log_config": None,  # keep Hearth's JSON logging
        "access_log": False,  # Hearth writes its own access line, with the request id
    }
    if processes == 1:
        uvicorn.run("app.main:create_served_app", **options)
        return
    from app.core.serving import serve_processes

    logging.getLogger("hearth").info("%d server processes on %s:%d", processes, host, port)
    serve_processes(uvicorn.Config("app.main:create_served_app", **options), processes)


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


def _test_models_banner() -> None:
    """Said at every start while a model built for tests is installed."""
    from app.translation import packages

    if warning := packages.test_models_warning():
        logging.getLogger("hearth").warning("%s", warning)


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
    metrics_port: Annotated[
        int,
        typer.Option(help="Serve this worker's Prometheus metrics on this port (0: none)."),
    ] = 0,
    metrics_host: Annotated[
        str, typer.Option(help="The address the metrics port listens on.")
    ] = "127.0.0.1",
) -> None:
    """Run queue workers. Scale-out: HEARTH_QUEUE_URL=redis://… everywhere and
    HEARTH_EMBEDDED_WORKERS=0 on the API processes, then `hearth worker --queue send` (threads)
    and `hearth worker --queue translate --worker-type process -w 2` (one process per core)."""
    import app.tasks  # noqa: F401  (registers every job)

    # Importing the queue module builds the queues (and creates their files): workers only.
    from app.core.queue import (
        QUEUES,
        EmbeddedConsumer,
        Heartbeat,
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
    if not 0 <= metrics_port <= 65535:
        fail("--metrics-port is a TCP port (1-65535), or 0 for none")
    if metrics_port and worker_type == "process" and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        fail(
            "--metrics-port with --worker-type process needs PROMETHEUS_MULTIPROC_DIR: an empty "
            "folder the worker processes share (the jobs run in child processes)"
        )
    configure_logging(get_settings().log_level)
    if metrics_port:
        from app.core.metrics import serve_worker_metrics

        try:
            serve_worker_metrics(metrics_port, metrics_host)
        except OSError as exc:
            fail(f"cannot serve metrics on {metrics_host}:{metrics_port}: {exc.strerror}")
    get_settings().signing_key()
    app.tasks.warm_up()
    gc.collect()
    gc.freeze()  # start-up's objects out of the collector's sight, as in app/main.py
    if queue in ("send", "all"):
        # Pick up at once what a crashed worker or a flushed queue left behind.
        requeued = run_job("delivery.sweep")
        run_job("messaging.sweep")
        logging.getLogger("hearth.worker").info("outbox sweep: %s deliveries re-enqueued", requeued)
    # This process's lease: if it dies, another process recovers its work within seconds.
    heartbeat = Heartbeat().start()
    if queue != "all":
        consumer = make_consumer(QUEUES[queue], workers, worker_type)
        try:
            consumer.run()
        finally:
            heartbeat.stop(finished=consumer.finished)
        return
    # Both queues in threads of this process; the send consumer owns the signal handlers.
    translating = EmbeddedConsumer(translation_huey, workers=workers, periodic=False)
    translating.start()
    consumer = make_consumer(huey, workers, "thread")
    try:
        consumer.run()
    finally:
        translating.stop(graceful=True)
        heartbeat.stop(finished=consumer.finished and translating.finished)


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
