"""What a request says about where it came from, believed only from a trusted proxy.

`X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host` are headers anyone can send. They
are read only when the connection itself comes from an address in HEARTH_TRUSTED_PROXIES (the
reverse proxy in front of Hearth); from anyone else they are ignored."""

from ipaddress import ip_address

from starlette.requests import Request

from app.core.config import get_settings


def _trusted(host: str | None) -> bool:
    if not host:
        return False
    try:
        address = ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in get_settings().trusted_proxy_networks)


def from_trusted_proxy(request: Request) -> bool:
    return _trusted(request.client.host if request.client else None)


def client_address(request: Request) -> str:
    """The caller's address: the connection's, or behind a trusted proxy the nearest address
    in X-Forwarded-For that is not one of the trusted proxies."""
    peer = request.client.host if request.client else "unknown"
    if not _trusted(peer):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop):
            return hop[:64]
    return peer


def signed_urls(request: Request) -> list[str]:
    """The URLs a webhook may have been signed for: the public URL (what the provider was
    configured with) and, only behind a trusted proxy, the URL the proxy says it forwarded.
    Never the request's own Host: anyone can name any host there."""
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    urls = [get_settings().public_url.rstrip("/") + path]
    if from_trusted_proxy(request):
        proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
        host = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
        if proto in ("http", "https") and host:
            urls.append(f"{proto}://{host}{path}")
    return urls
