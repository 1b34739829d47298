"""Hearth's settings: one class, `HEARTH_` environment variables, working defaults."""

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

WEAK_SECRETS = {"changeme", "secret", "change-me", "hearth", "password"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEARTH_", extra="ignore")

    env: Literal["dev", "production"] = "dev"
    data_dir: Path = Path("./var")
    database_url: str = ""  # empty: SQLite file in the data dir
    secret_key: str = ""  # empty in dev: generated into the data dir on first run
    public_url: str = "http://127.0.0.1:8000"
    default_region: str = "US"  # phone numbers without a country code are read as this region
    max_body_bytes: int = 1_000_000
    log_level: str = "INFO"

    # Job queue: empty = SQLite file in the data dir (embedded default); redis://host:6379/0
    # for scale-out with `hearth worker` processes.
    queue_url: str = ""
    embedded_workers: int = 2  # consumer threads inside `hearth serve` (0 with workers)

    # Translation (Argos Translate, offline)
    argos_packages_dir: Path | None = None  # default: <data_dir>/argos-packages
    argos_inter_threads: int = 1
    argos_intra_threads: int = 1

    @model_validator(mode="after")
    def _check_production(self) -> "Settings":
        if self.env == "production":
            key = self.secret_key
            if not key:
                raise ValueError("HEARTH_SECRET_KEY is required when HEARTH_ENV=production")
            if len(key) < 32 or key.lower() in WEAK_SECRETS or len(set(key)) < 10:
                raise ValueError(
                    "HEARTH_SECRET_KEY is too weak: use at least 32 random characters "
                    "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'hearth.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def argos_dir(self) -> Path:
        return (self.argos_packages_dir or self.data_dir / "argos-packages").resolve()

    def signing_key(self) -> str:
        """The secret key; in dev, generated once into the data dir and reused."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        self.secret_key = path.read_text().strip()
        return self.secret_key


@lru_cache
def get_settings() -> Settings:
    return Settings()
