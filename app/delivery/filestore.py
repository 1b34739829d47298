"""Where attachments' files are kept: a folder of the data dir (the default), or a bucket of
an S3-compatible object store (AWS S3, MinIO, Ceph, Garage…), chosen by
HEARTH_ATTACHMENT_STORE. Nothing else in Hearth knows which.

A file is named by the SHA-256 of its bytes and never changed, so writing one that is already
there writes nothing (it is the same file). Reading a file that is not there raises
`FileNotFoundError`, whichever the store; a store that cannot be reached or refuses raises
`StoreError` (an `OSError`, as a failing disk is), saying what failed but never a key."""

import io
import logging
import os
import tempfile
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from app.core.config import Settings, get_settings
from app.core.errors import HearthError

log = logging.getLogger("hearth.attachments")


class StoreError(HearthError, OSError):
    """The store could not do what was asked (unreachable, refused, no such bucket): a request
    that needed it is answered 503, a send that needed it is tried again later."""

    status_code = 503
    code = "store_unavailable"


class FileStore(Protocol):
    kind: str

    def put(self, sha256: str, data: bytes, content_type: str) -> None:
        """Keeps the file, unless one of this name is there already."""

    def get(self, sha256: str) -> bytes:
        """The file's bytes; `FileNotFoundError` when there is none."""
        ...

    def delete(self, sha256: str) -> None:
        """The file goes (nothing happens when it is not there)."""

    def exists(self, sha256: str) -> bool: ...


class FolderStore:
    """Files in a folder: `<data dir>/attachments/<sha256>`."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, sha256: str, data: bytes, content_type: str) -> None:
        target = self.root / sha256
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written to a temporary name, then renamed: a reader never sees half a file.
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, sha256: str) -> bytes:
        return (self.root / sha256).read_bytes()

    def delete(self, sha256: str) -> None:
        (self.root / sha256).unlink(missing_ok=True)

    def exists(self, sha256: str) -> bool:
        return (self.root / sha256).is_file()


# S3 errors that mean "no such object" (a HEAD has no body: the client names it from the 404).
MISSING = {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}


def endpoint_parts(endpoint: str, secure: bool) -> tuple[str, bool]:
    """host:port and whether to use TLS, from `host:port` or a URL (whose scheme decides)."""
    if "://" not in endpoint:
        return endpoint.strip().rstrip("/"), secure
    url = urlsplit(endpoint.strip())  # settings refuse any other scheme, and a path
    return url.netloc, url.scheme == "https"


class S3Store:
    """Files as objects `<prefix><sha256>` in one bucket of an S3-compatible store."""

    kind = "s3"

    def __init__(self, settings: Settings) -> None:
        host, secure = endpoint_parts(settings.s3_endpoint, settings.s3_secure)
        self.endpoint = host
        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix
        try:
            self.client = self._client(host, secure, settings)
        except ValueError as exc:  # an endpoint the client cannot use
            raise StoreError(f"HEARTH_S3_ENDPOINT cannot be used: {exc}") from None

    @staticmethod
    def _client(host: str, secure: bool, settings: Settings) -> Minio:
        return Minio(
            host,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            region=settings.s3_region or None,
            secure=secure,
            # Short waits, few retries: a request (a download, readiness) waits on this.
            http_client=urllib3.PoolManager(
                timeout=urllib3.Timeout(connect=5, read=60),
                retries=urllib3.Retry(
                    total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
                ),
                maxsize=10,
            ),
        )

    def key(self, sha256: str) -> str:
        return f"{self.prefix}{sha256}"

    def _failed(self, doing: str, exc: Exception) -> StoreError:
        reason = exc.code if isinstance(exc, S3Error) else exc.__class__.__name__
        log.warning(
            "attachment store (bucket %s at %s) failed to %s: %s",
            self.bucket,
            self.endpoint,
            doing,
            str(exc)[:400] or exc.__class__.__name__,
        )
        return StoreError(
            f"The attachment store (bucket {self.bucket}) failed to {doing} ({reason}): "
            "try again in a moment."
        )

    def exists(self, sha256: str) -> bool:
        try:
            self.client.stat_object(self.bucket, self.key(sha256))
        except S3Error as exc:
            if exc.code in MISSING:
                return False
            raise self._failed("look a file up", exc) from None
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._failed("look a file up", exc) from None
        return True

    def put(self, sha256: str, data: bytes, content_type: str) -> None:
        if self.exists(sha256):
            return
        try:
            self.client.put_object(
                self.bucket,
                self.key(sha256),
                io.BytesIO(data),
                len(data),
                content_type=content_type,
            )
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._failed("store a file", exc) from None

    def get(self, sha256: str) -> bytes:
        try:
            response = self.client.get_object(self.bucket, self.key(sha256))
        except S3Error as exc:
            if exc.code in MISSING:
                raise FileNotFoundError(f"no attachment file {sha256}") from None
            raise self._failed("read a file", exc) from None
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._failed("read a file", exc) from None
        try:
            return response.read()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._failed("read a file", exc) from None
        finally:
            response.close()
            response.release_conn()

    def delete(self, sha256: str) -> None:
        try:
            self.client.remove_object(self.bucket, self.key(sha256))
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._failed("delete a file", exc) from None

    def problem(self) -> str | None:
        """What keeps the store from working (no bucket, not reachable, keys refused), or
        None. Names the bucket, never the keys."""
        try:
            found = self.client.bucket_exists(self.bucket)
        except S3Error as exc:
            self._failed("answer", exc)
            return f"the attachment store refused to answer for bucket {self.bucket} ({exc.code})"
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            self._failed("answer", exc)
            return "the attachment store (S3) cannot be reached"
        if not found:
            return f"the attachment store has no bucket {self.bucket}"
        return None


_s3: dict[tuple[object, ...], S3Store] = {}


def current(settings: Settings | None = None) -> FileStore:
    """The store the settings name (one S3 client per configuration, kept: it pools its
    connections)."""
    settings = settings or get_settings()
    if settings.attachment_store == "local":
        return FolderStore(folder(settings))
    identity = (
        settings.s3_endpoint,
        settings.s3_bucket,
        settings.s3_access_key,
        settings.s3_secret_key.get_secret_value(),
        settings.s3_region,
        settings.s3_secure,
        settings.s3_prefix,
    )
    if identity not in _s3:
        _s3[identity] = S3Store(settings)
    return _s3[identity]


def folder(settings: Settings | None = None) -> Path:
    """The local store's folder (used when HEARTH_ATTACHMENT_STORE=local)."""
    return ((settings or get_settings()).data_dir / "attachments").resolve()
