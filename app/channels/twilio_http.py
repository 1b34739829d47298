"""The official Twilio SDK, pointed at any base URL (a local double, a recording proxy).

The SDK builds absolute URLs from its own host names, so redirecting happens in the one place
every request passes through: the HTTP client. Only scheme and host (and a base path, if the
base URL has one) change; the SDK's paths, bodies and auth go through untouched, so whatever
answers sees exactly what Twilio would.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
import urllib3
from requests import PreparedRequest, Session
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3 import HTTPConnectionPool
from urllib3.util import Retry, Timeout, make_headers, parse_url

from app.channels import (
    BAD_NUMBER_CODES,
    OPTED_OUT_CODE,
    RETRY_CODES,
    BadNumberError,
    OptedOutError,
    PermanentError,
    TransientError,
)
from app.core.config import Settings

# As many pooled connections as delivery threads might hold at once (requests defaults to 10).
_POOL_SIZE = 32


class _EnvironmentOnce(Session):
    """A requests Session that reads the environment's proxy and CA settings (HTTPS_PROXY,
    NO_PROXY, REQUESTS_CA_BUNDLE …) once per host rather than for every request: that reading
    cost ~0.1 ms, a sixth of the SDK's CPU for each text sent."""

    def __init__(self) -> None:
        super().__init__()
        self._by_host: dict[tuple[str, str], dict[str, Any]] = {}

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        if proxies or stream is not None or verify is not None or cert is not None:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        settings = self._by_host.get(key)
        if settings is None:
            # A dict of its own: requests writes the environment's proxies into the one it is
            # given, and the SDK's (its `proxy`) would then keep them for every host after.
            settings = super().merge_environment_settings(url, {}, None, None, None)
            self._by_host[key] = settings
        return {**settings, "proxies": dict(settings["proxies"])}


class RedirectingHttpClient(TwilioHttpClient):
    """A TwilioHttpClient that sends every request to `base_url` instead (None: don't)."""

    def __init__(self, base_url: str | None, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/") if base_url else None
        session = _EnvironmentOnce()
        # TwilioHttpClient sizes only the https pool, to cores + 4; a local double is usually
        # plain http, and delivery threads can outnumber cores.
        for scheme in ("http://", "https://"):
            session.mount(scheme, HTTPAdapter(pool_maxsize=_POOL_SIZE))
        self.session = session
        self._pools: dict[tuple[str, str], tuple[HTTPConnectionPool, bool]] = {}

    def log_request(self, kwargs: dict[str, Any]) -> None:
        # The SDK formats each line (every header, the query) before its logger, set to
        # warnings only (app/core/logging.py), drops it: for every text sent.
        if self.logger.isEnabledFor(logging.INFO):
            super().log_request(kwargs)

    def log_response(self, status_code: int, response: Any) -> None:
        if self.logger.isEnabledFor(logging.INFO):
            super().log_response(status_code, response)

    def redirect(self, url: str) -> str:
        """`url` with its scheme and host replaced by the base URL's (base path prepended)."""
        if self.base_url is None:
            return url
        base = urlsplit(self.base_url)
        target = urlsplit(url)
        path = base.path.rstrip("/") + target.path
        return urlunsplit((base.scheme, base.netloc, path, target.query, target.fragment))

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """The SDK's request, straight through the urllib3 pool that requests would use for
        the host (its proxy, CA bundle and pool size, read once per host). requests' own
        preparing and sending around that pool cost ~0.35 ms of CPU a text, half of the SDK's
        call (bench/README.md). A JSON body or a redirect to follow (nothing
        Hearth sends) still goes through requests."""
        if allow_redirects or (headers or {}).get("Content-Type", "").endswith("json"):
            return super().request(
                method,
                self.redirect(url),
                params=params,
                data=data,
                headers=headers,
                auth=auth,
                timeout=timeout,
                allow_redirects=allow_redirects,
            )
        seconds = self.timeout if timeout is None else timeout
        if seconds is not None and seconds <= 0:
            raise ValueError(seconds)
        target = self.redirect(url)
        if params:
            target += ("&" if urlsplit(target).query else "?") + _form(params)
        sent = dict(headers or {})
        body = _form(data) if data else None
        if body is not None:
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if auth:
            sent.update(make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
        if self.logger.isEnabledFor(logging.INFO):
            super().log_request(
                {"method": method.upper(), "url": target, "params": None, "headers": sent}
            )
        pool, absolute = self._pool(target)
        try:
            answer = pool.urlopen(
                method.upper(),
                target if absolute else parse_url(target).request_uri,
                body=body,
                headers=sent,
                redirect=False,
                assert_same_host=False,
                preload_content=True,
                decode_content=True,
                retries=Retry(0, read=False),  # as requests: none
                timeout=Timeout(connect=seconds, read=seconds),
            )
        except urllib3.exceptions.HTTPError as exc:
            # As requests says them (both OSErrors), for the callers that catch those.
            if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
                raise requests.ReadTimeout(exc) from exc
            raise requests.ConnectionError(exc) from exc
        self.log_response(answer.status, answer)
        response = Response(answer.status, answer.data.decode("utf-8", "replace"), answer.headers)
        self._test_only_last_response = response
        return response

    def _pool(self, url: str) -> tuple[HTTPConnectionPool, bool]:
        """The pool requests would send `url` through, and whether the request line names the
        whole URL (a plain-http request through a proxy) rather than its path."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        found = self._pools.get(key)
        if found is None or found[0].pool is None:  # (None: closed, its manager let it go)
            assert self.session is not None
            settings = self.session.merge_environment_settings(url, {}, None, None, None)
            adapter = self.session.get_adapter(url)
            assert isinstance(adapter, HTTPAdapter)
            request = PreparedRequest()
            request.prepare(method="POST", url=url)
            pool = adapter.get_connection_with_tls_context(
                request, settings["verify"], settings["proxies"], settings["cert"]
            )
            proxy = select_proxy(url, settings["proxies"])
            absolute = (
                proxy is not None and parts.scheme != "https" and not proxy.startswith("socks")
            )
            found = self._pools[key] = (pool, absolute)
        return found


def _form(values: dict[str, object]) -> str:
    """Form-encoded as requests encodes a dict: a list gives its items, None nothing."""
    pairs = [
        (key, item)
        for key, value in values.items()
        for item in (value if isinstance(value, list | tuple) else [value])
        if item is not None
    ]
    return urlencode(pairs)


def make_client(
    account_sid: str, auth_token: str, api_url: str | None, timeout: float = 10.0
) -> Client:
    """A Twilio REST client; `api_url` (e.g. a TwilioDouble's .url) replaces Twilio's hosts."""
    return Client(
        account_sid, auth_token, http_client=RedirectingHttpClient(api_url, timeout=timeout)
    )


def client_for(settings: Settings) -> Client:
    """The Twilio client of a channel: the account, its base URL and the send timeout."""
    return make_client(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        settings.twilio_api_url or None,
        settings.sms_send_timeout,
    )


@contextmanager
def provider_errors(bad_number_codes: frozenset[int] = frozenset()) -> Iterator[None]:
    """Twilio's errors as the channels say them: opted out, a bad number (`bad_number_codes`
    besides the usual ones), worth retrying (busy, down, the network), or final."""
    try:
        yield
    except TwilioRestException as exc:
        code = int(exc.code) if exc.code else None
        text = (exc.msg or str(exc))[:400]
        if code == OPTED_OUT_CODE:
            raise OptedOutError(str(code), text) from None
        if code in BAD_NUMBER_CODES or code in bad_number_codes:
            raise BadNumberError(str(code), text) from None
        if code in RETRY_CODES or exc.status == 429 or exc.status >= 500:
            raise TransientError(str(code or exc.status), text) from None
        raise PermanentError(str(code or exc.status), text) from None
    except (TwilioException, OSError, ConnectionError) as exc:
        raise TransientError("network", str(exc)[:400]) from None
    except Exception as exc:  # requests' timeouts and connection errors
        if type(exc).__module__.startswith(("requests", "urllib3")):
            raise TransientError("network", str(exc)[:400]) from None
        raise


# The account a dev-mode MMS (the dev phone's) is fetched as: no Twilio account exists there.
DEV_ACCOUNT_SID = "AC" + "0" * 32


def media_credentials(settings: Settings) -> tuple[str, str]:
    """What Twilio's media URLs are fetched with (HTTP basic auth): the account SID and token;
    in dev mode, the dev phone's account and the token it signs webhooks with."""
    if settings.twilio_account_sid and settings.twilio_auth_token:
        return settings.twilio_account_sid, settings.twilio_auth_token
    return DEV_ACCOUNT_SID, settings.webhook_auth_token()


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _fetchable(settings: Settings, url: str) -> bool:
    """Only Twilio's own media URLs are fetched with the account's credentials; with a base
    URL set (a local double) or in dev mode (the dev phone's double), a loopback one too."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    local = parts.scheme in ("http", "https") and host in _LOOPBACK
    if local and (settings.twilio_api_url or settings.sms_backend == "dev"):
        return True
    if settings.twilio_api_url:
        return parts.scheme in ("http", "https")
    return parts.scheme == "https" and (host == "twilio.com" or host.endswith(".twilio.com"))


def fetch_media(settings: Settings, url: str, max_bytes: int) -> tuple[bytes, str]:
    """The bytes of an MMS's media URL (at most `max_bytes` + 1: more means too large) and
    the type the server gave, through the same HTTP client (and base URL) as the SDK's.
    TransientError when worth trying again, PermanentError when not."""
    if not _fetchable(settings, url):
        raise PermanentError("url", "Not a Twilio media URL.")
    # Twilio's URLs go where the SDK's requests go; a local double's are fetched as they are.
    local = (urlsplit(url).hostname or "").lower() in _LOOPBACK
    http = RedirectingHttpClient(
        None if local else settings.twilio_api_url or None, timeout=settings.sms_send_timeout
    )
    assert http.session is not None
    try:
        # Twilio answers with a redirect to where the file is kept; requests drops the
        # credentials when the redirect leaves Twilio's host.
        with http.session.get(
            http.redirect(url),
            auth=media_credentials(settings),
            timeout=settings.sms_send_timeout,
            stream=True,
            allow_redirects=True,
        ) as response:
            if response.status_code == 429 or response.status_code >= 500:
                raise TransientError(str(response.status_code), "The media server is busy.")
            if response.status_code >= 400:
                raise PermanentError(str(response.status_code), "The media could not be fetched.")
            data = bytearray()
            for chunk in response.iter_content(64 * 1024):
                data += chunk
                if len(data) > max_bytes:
                    break
            kind = response.headers.get("Content-Type", "")
    except (OSError, ConnectionError) as exc:
        raise TransientError("network", str(exc)[:400]) from None
    except Exception as exc:  # requests' timeouts and connection errors
        if type(exc).__module__.startswith(("requests", "urllib3")):
            raise TransientError("network", str(exc)[:400]) from None
        raise
    return bytes(data[: max_bytes + 1]), kind
