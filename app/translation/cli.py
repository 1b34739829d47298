"""`hearth models`: the offline translation models (Argos, multilingual) this server has."""

from pathlib import Path
from typing import Annotated

import typer

from app.core.cli import fail, session_scope
from app.core.config import get_settings
from app.core.errors import HearthError
from app.core.languages import display_names
from app.translation import packages
from app.translation.service import TEST_MODEL

models_cli = typer.Typer(
    help="Offline translation models (Argos Translate, multilingual).", no_args_is_help=True
)


@models_cli.command("list")
def models_list() -> None:
    """Installed models with their licence and quality tier; per language (those guardians
    read, and every installed one) the engine and model each way with English, and the
    families' languages that have no route."""
    from app.translation import engines, multilingual, service

    pairs = packages.installed()
    many = multilingual.installed()
    typer.echo(f"Models in {get_settings().argos_dir}:")
    if not pairs and not many:
        typer.echo("  none installed (hearth models install LANG, or install-file PATH)")
    for pair in pairs:
        hop = engines.argos_hop(pair)
        mark = f"   {TEST_MODEL}" if pair.test_model else ""
        typer.echo(
            f"  {pair.source} → {pair.target}   version {pair.version}   {hop.kind}"
            f"   licence: {hop.licence}   tier: {hop.tier}{mark}"
        )
    for model in many:
        hop = engines.multilingual_hop(model, "", "")
        typer.echo(
            f"  {model.name}   version {model.version}   multilingual ({model.family}, "
            f"{len(model.languages)} languages)   licence: {model.licence}   tier: {hop.tier}"
        )
    if warning := packages.test_models_warning():
        typer.echo(warning)
    # people.service reaches the job queues: imported when the command runs, so that other
    # commands (and a refused configuration) start without building them.
    from app.people import service as people

    with session_scope() as session:
        counts = packages.by_model_language(people.language_counts(session))
        choices = service.engine_choices(session)
    codes = sorted(set(counts) | packages.installed_languages())
    typer.echo("Languages (from English / back to English), with guardians who read them:")
    unreachable: list[str] = []
    one_way: list[str] = []

    for code in codes:
        cov = packages.coverage_for(code, choices=choices)
        name = display_names(code)[0]
        typer.echo(
            f"  {code:<4} {name:<24} {cov.to_family:<7}/ {cov.from_family:<7}"
            f" {counts.get(code, 0):>6} guardians"
            + (f"   engine chosen: {cov.choice}" if cov.choice != "auto" else "")
        )
        for label, way in (("to", cov.to), ("back", cov.back)):
            if way is not None and way.engine:
                typer.echo(
                    f"         {label:<5}{way.engine} ({', '.join(way.models)})"
                    f"   licence: {', '.join(way.licences)}   tier: {way.tier}"
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


AcceptLicence = Annotated[
    bool,
    typer.Option(
        "--accept-licence",
        help="Accept a non-commercial licence (NLLB-200: CC-BY-NC-4.0): your use complies.",
    ),
]


@models_cli.command("install")
def models_install(
    languages: Annotated[list[str], typer.Argument(help="Language codes, e.g. es vi so.")],
    accept_licence: AcceptLicence = False,
) -> None:
    """Install models both ways with English from the Argos package index (needs internet)."""
    try:
        done = packages.install_languages(languages, accept_licence=accept_licence)
    except HearthError as exc:
        fail(exc.message)
    for pair in done:
        typer.echo(f"installed {pair.source} → {pair.target} (version {pair.version})")
    if not done:
        typer.echo("already installed")


@models_cli.command("install-file")
def models_install_file(
    paths: Annotated[
        list[Path], typer.Argument(help=".argosmodel (Argos) or .hearthmodel (multilingual) files.")
    ],
    accept_licence: AcceptLicence = False,
) -> None:
    """Install model packages from files (for air-gapped servers)."""
    for path in paths:
        try:
            if packages.is_multilingual(path):
                model = packages.install_multilingual(path, accept_licence=accept_licence)
                typer.echo(
                    f"{path.name}: multilingual {model.name} ({', '.join(model.languages)}),"
                    f" licence {model.licence}"
                )
                continue
            new = packages.install_file(path, accept_licence=accept_licence)
        except HearthError as exc:
            fail(exc.message)
        names = ", ".join(f"{p.source} → {p.target}" for p in new) or "reinstalled"
        typer.echo(f"{path.name}: {names}")


@models_cli.command("engine")
def models_engine(
    language: Annotated[str, typer.Argument(help="Language code, e.g. ko.")],
    choice: Annotated[str, typer.Argument(help="auto, argos or multilingual.")],
) -> None:
    """Choose the engine for one language, district-wide (auto: Argos, then the multilingual
    model, then through English)."""
    from app.auth.models import SCOPES
    from app.auth.service import AuthSubject
    from app.translation import service

    operator = AuthSubject(role="admin", scopes=frozenset(SCOPES), school_ids=None)
    with session_scope() as session:
        code = service.set_engine_choice(session, operator, language, choice)
    typer.echo(f"{code}: engine {choice}")


@models_cli.command("import")
def models_import(
    checkpoint: Annotated[Path, typer.Argument(help="Folder of a Marian / OPUS-MT checkpoint.")],
    out: Annotated[Path | None, typer.Option(help="The .argosmodel file to write.")] = None,
    source: Annotated[str | None, typer.Option("--from", help="Source language code.")] = None,
    target: Annotated[str | None, typer.Option("--to", help="Target language code.")] = None,
) -> None:
    """Convert a Marian (OPUS-MT) checkpoint into an Argos package. Needs hearth[convert]."""
    # The converter (transformers, torch) is an optional extra: imported only here.
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
