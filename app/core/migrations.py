"""Running Alembic from code (the CLI, the server at start-up, the tests)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection


def project_root() -> Path:
    """The folder holding alembic.ini and migrations/: the source tree, else the copy an
    installed package carries in app/_bundled/ (see setup.py), else the working directory."""
    package = Path(__file__).resolve().parents[1]
    for root in (package.parent, package / "_bundled"):
        if (root / "alembic.ini").exists():
            return root
    return Path.cwd()


def alembic_config(connection: Connection | None = None) -> Config:
    root = project_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    config.attributes["quiet_logging"] = True
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection | None = None) -> None:
    command.upgrade(alembic_config(connection), "head")


def check(connection: Connection | None = None) -> None:
    """Raises if the models and the migrations disagree."""
    command.check(alembic_config(connection))
