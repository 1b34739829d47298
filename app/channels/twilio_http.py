"""The official Twilio SDK, pointed at any base URL (a local double, a recording proxy).

The SDK builds absolute URLs from its own host names, so redirecting happens in the one place
every request passes through: the HTTP client. Only scheme and host (and a base path, if the
base URL has one) change; the SDK's paths, bodies and auth go through untouched, so whatever
answers sees exactly what Twilio would.
"""

from urllib.parse import urlsplit, urlunsplit

from requests.adapters import HTTPAdapter
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

# As many pooled connections as delivery threads might hold at once (requests defaults to 10).
_POOL_SIZE = 32


class RedirectingHttpClient(TwilioHttpClient):
    """A TwilioHttpClient that sends every request to `base_url` instead (None: don't)."""

    def __init__(self, base_url: str | None, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/") if base_url else None
        if self.session is not None:
            # TwilioHttpClient sizes only the https pool, to cores + 4; a local double is
            # usually plain http, and delivery threads can outnumber cores.
            for scheme in ("http://", "https://"):
                self.session.mount(scheme, HTTPAdapter(pool_maxsize=_POOL_SIZE))

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


def make_client(
    account_sid: str, auth_token: str, api_url: str | None, timeout: float = 10.0
) -> Client:
    """A Twilio REST client; `api_url` (e.g. a TwilioDouble's .url) replaces Twilio's hosts."""
    return Client(
        account_sid, auth_token, http_client=RedirectingHttpClient(api_url, timeout=timeout)
    )
