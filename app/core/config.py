"""Hearth's settings: one class, `HEARTH_` environment variables, working defaults."""

import hashlib
import re
import secrets
from contextlib import suppress
from functools import cached_property, lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# What S3-compatible stores take as a bucket's name (the client library's own check).
S3_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9_.:-]{1,61}[a-z0-9]$", re.IGNORECASE)
WEAK_SECRETS = {"changeme", "secret", "change-me", "hearth", "password"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEARTH_", extra="ignore")

    env: Literal["dev", "production"] = "dev"
    # Models built for tests (marked `hearth_test_model` in their metadata) turn most real
    # sentences into nonsense: in production nothing is sent to families through one unless
    # this says so.
    allow_test_models: bool = False
    data_dir: Path = Path("./var")
    database_url: str = ""  # empty: SQLite file in the data dir
    secret_key: str = ""  # empty in dev: generated into the data dir on first run
    public_url: str = "http://127.0.0.1:8000"
    # Reverse proxies whose X-Forwarded-* headers are believed (comma-separated addresses or
    # networks, e.g. "127.0.0.1,10.0.0.0/8"); empty: nobody's.
    trusted_proxies: str = ""
    default_region: str = "US"  # phone numbers without a country code are read as this region
    max_body_bytes: int = 1_000_000
    log_level: str = "INFO"
    # Bearer token that lets a scraper read /metrics outside dev (empty: /metrics is off there).
    metrics_token: str = ""
    # /docs, /redoc and /openapi.json. Unset: on in dev, off in production.
    api_docs: bool | None = None

    # Job queue: empty = SQLite file in the data dir (embedded default); redis://host:6379/0
    # for scale-out with `hearth worker` processes.
    queue_url: str = ""
    embedded_workers: int = 2  # consumer threads inside `hearth serve` (0 with workers)
    # Server processes of `hearth serve` (its --workers); the embedded consumer threads run in
    # one of them only.
    web_workers: int = Field(default=1, ge=1, le=64)

    # SMS: Twilio, or the built-in dev phone (/dev/phone) that sends nothing anywhere.
    sms_backend: Literal["dev", "twilio"] = "dev"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_api_url: str = ""  # send the SDK's requests here instead (a local Twilio double)
    sms_segments_per_second: float = 1.0  # per sender: 1 for a long code, 100 for a short code
    sms_send_timeout: float = 10.0
    # Each process running jobs renews a lease every third of this; when one stops renewing
    # (killed), another recovers its work at once: interrupted sends are settled with the
    # provider, lost jobs queued again. Longer than any pause of a live process.
    worker_lease_seconds: int = Field(default=15, ge=1)
    # A delivery still `sending` after this long was interrupted and is reconciled with the
    # provider by the sweeper (a backstop for sends stamped with no live lease).
    sending_stale_seconds: int = 300
    # A queued delivery with no progress for this long is re-enqueued by the sweeper.
    outbox_grace_seconds: int = 900
    # How often each worker sweeps the outbox and starts due scheduled broadcasts.
    outbox_sweep_seconds: int = Field(default=60, ge=1)
    # Waits before the 2nd, 3rd, ... attempt of a send that failed for a passing reason (JSON
    # list, e.g. [30, 120, 600]); after the last one the delivery fails with the reason.
    send_retry_seconds: tuple[int, ...] = (30, 120, 600)

    # Email: SMTP, or the dev outbox (/dev/mail).
    email_backend: Literal["dev", "smtp"] = "dev"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    email_from: str = "Hearth <hearth@localhost>"
    email_reply_domain: str = "localhost"  # replies go to reply+<token>@this domain
    inbound_email_secret: str = ""  # shared secret of POST /webhooks/email/inbound
    # A family's text joins their most recent thread on that school sender within this window,
    # else the school office inbox.
    reply_window_days: int = 14
    # A family's link to the family page (/f/<token>) expires after this many days; a family
    # may send this many replies an hour from the page.
    family_link_days: int = Field(default=90, ge=1, le=3650)
    family_page_replies_per_hour: int = Field(default=20, ge=1)
    # Photos and PDFs staff attach to a note or broadcast: the largest one, in megabytes.
    attachment_max_mb: int = Field(default=10, ge=1, le=100)
    # Where their files are kept: `local` (<data dir>/attachments/) or `s3`, a bucket of any
    # S3-compatible store (AWS S3, MinIO, Ceph, Garage…), for several machines serving at once.
    attachment_store: Literal["local", "s3"] = "local"
    s3_endpoint: str = ""  # host:port, or a URL (its scheme then decides TLS)
    s3_bucket: str = ""
    s3_access_key: str = ""
    s3_secret_key: SecretStr = SecretStr("")
    s3_region: str = ""  # empty: the client asks the server
    s3_secure: bool = True  # TLS; false for a store on the same private network only
    s3_prefix: str = "attachments/"  # object keys: <prefix><sha256>
    # Message bodies (originals, translations, rendered texts, families' raw replies) older than
    # this many days are erased by a daily job; who, when, status and language stay. 0: never.
    retention_days: int = Field(default=0, ge=0)
    # What one SMS segment costs, for broadcast previews (Twilio US long code, 2026).
    sms_price_per_segment: float = 0.0083
    # What one MMS costs (billed per message, whatever its length), for broadcast previews.
    mms_price_per_message: float = 0.0220
    sms_price_currency: str = "USD"
    # Voice calls: what a minute costs (for broadcast previews), when a busy or unanswered
    # call is tried once more, and the offline speech synthesizer for languages Twilio has no
    # voice for (not installed: those calls are not placed).
    voice_cost_per_minute: float = 0.014
    voice_retry_seconds: int = Field(default=900, ge=0)
    espeak_command: str = "espeak-ng"

    # Translation (Argos Translate, offline)
    argos_packages_dir: Path | None = None  # default: <data_dir>/argos-packages
    argos_inter_threads: int = 1
    argos_intra_threads: int = 1
    # Concurrent translations for one model go to CTranslate2 together, up to this many
    # sentences a call (0 or 1: every caller calls the model alone); a free model starts at
    # once, and a batch waits at most this long for requests known to be on their way.
    translate_batch_max: int = Field(default=32, ge=0)
    translate_batch_wait_ms: float = Field(default=3.0, ge=0, le=1000)
    # Recent translations kept in each process in front of the database cache (entries).
    translate_memory_entries: int = Field(default=20_000, ge=0)
    # How long one process trusts what it read of API keys, engine choices and people's
    # translations for the translate API's fast path before it reads them again (0: always
    # read). A revoked key or a new choice made through another process counts after this.
    api_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    # Database writes off the request path (translation cache rows, API key last use) are
    # gathered and committed together at most this often.
    deferred_write_ms: float = Field(default=50.0, ge=0, le=5000)

    # Roster import (OneRoster CSV from the student information system)
    roster_import_relatives: bool = False  # users with role `relative` become guardians too
    # The users.csv extension column holding a person's home language (OneRoster has none).
    roster_language_column: str = "metadata.language"
    roster_max_upload_bytes: int = 200_000_000  # zip uploads to /api/v1/roster/imports
    # A bulk import that would deactivate more than this share of a school's active
    # students or guardians is refused unless forced (a truncated SIS export looks like this).
    roster_max_deactivate_share: float = 0.25

    # Web app sign-in
    web_session_idle_minutes: int = 12 * 60  # a teacher signed in at 7:30 stays in all day
    web_session_max_days: int = 14
    sign_in_max_failures: int = 5  # per email address (and 4x that per client) per 15 minutes
    password_reset_minutes: int = 60

    @model_validator(mode="after")
    def _check_proxies(self) -> "Settings":
        try:
            _ = self.trusted_proxy_networks
        except ValueError:
            raise ValueError(
                "HEARTH_TRUSTED_PROXIES must be comma-separated IP addresses or networks "
                "(for example: 127.0.0.1,10.0.0.0/8)"
            ) from None
        return self

    @cached_property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(
            ip_network(part.strip(), strict=False)
            for part in self.trusted_proxies.split(",")
            if part.strip()
        )

    @model_validator(mode="after")
    def _check_attachment_store(self) -> "Settings":
        if self.attachment_store == "s3":
            missing = [
                f"HEARTH_S3_{name.upper()}"
                for name, value in (
                    ("endpoint", self.s3_endpoint),
                    ("bucket", self.s3_bucket),
                    ("access_key", self.s3_access_key),
                    ("secret_key", self.s3_secret_key.get_secret_value()),
                )
                if not value.strip()
            ]
            if missing:
                raise ValueError(
                    "HEARTH_ATTACHMENT_STORE=s3 needs " + ", ".join(missing) + " (the store's "
                    "address, its bucket and the keys that may read and write it)"
                )
            if not S3_BUCKET_NAME.match(self.s3_bucket) or ".." in self.s3_bucket:
                raise ValueError(
                    "HEARTH_S3_BUCKET must be a bucket's name: 3 to 63 letters, digits, dots or "
                    "hyphens, starting and ending with a letter or digit"
                )
            url = urlsplit(self.s3_endpoint.strip())
            if "://" in self.s3_endpoint and (
                url.scheme not in ("http", "https") or not url.netloc or url.path.strip("/")
            ):
                raise ValueError(
                    "HEARTH_S3_ENDPOINT must be host:port or an http(s):// URL with no path "
                    "(the bucket is HEARTH_S3_BUCKET)"
                )
        return self

    @model_validator(mode="after")
    def _default_api_docs(self) -> "Settings":
        if self.api_docs is None:
            self.api_docs = self.env == "dev"
        return self

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
            if self.sms_backend == "dev" or self.email_backend == "dev":
                raise ValueError(
                    "HEARTH_SMS_BACKEND=twilio and HEARTH_EMAIL_BACKEND=smtp are required when "
                    "HEARTH_ENV=production: the dev backends deliver nothing to families"
                )
            if not (self.twilio_account_sid and self.twilio_auth_token):
                raise ValueError(
                    "HEARTH_TWILIO_ACCOUNT_SID and HEARTH_TWILIO_AUTH_TOKEN are required "
                    "in production"
                )
        return self

    @property
    def dev_tools(self) -> bool:
        """The dev phone and dev mail (/dev/*), the demo district and keys, open /metrics: only
        while nothing real is connected. They show every family's texts and every staff email
        (password links too), so a real SMS or email backend closes them, whatever HEARTH_ENV
        says."""
        return self.env == "dev" and self.sms_backend == "dev" and self.email_backend == "dev"

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'hearth.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def argos_dir(self) -> Path:
        return (self.argos_packages_dir or self.data_dir / "argos-packages").resolve()

    def webhook_auth_token(self) -> str:
        """The token Twilio signs webhooks with; the dev phone signs with a derived one."""
        if self.twilio_auth_token:
            return self.twilio_auth_token
        return hashlib.sha256(f"dev-twilio:{self.signing_key()}".encode()).hexdigest()[:32]

    def signing_key(self) -> str:
        """The secret key; in dev, generated once into the data dir and reused."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            private_file(path).write_text(secrets.token_urlsafe(48))
        self.secret_key = path.read_text().strip()
        return self.secret_key


@lru_cache
def get_settings() -> Settings:
    return Settings()


def private_file(path: Path) -> Path:
    """Create (or tighten) a data file readable by this user only: the database and the
    queue hold every family's words. SQLite gives its -wal and -shm files the same mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    with suppress(PermissionError):  # someone else's file: theirs to protect
        path.chmod(0o600)
    return path


def settings_error_line(exc: ValidationError) -> str:
    """A refused configuration in one line that names the variables, never their values
    (one of them may be a password or the secret key)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = error.get("loc") or ()
        message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        parts.append(f"HEARTH_{str(loc[0]).upper()}: {message}" if loc else message)
    return "configuration refused: " + "; ".join(parts)
