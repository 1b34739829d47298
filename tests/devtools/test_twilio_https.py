"""Twilio's API is HTTPS: the client verifies the server's certificate against the CA bundle
requests would trust (certifi's, or the file REQUESTS_CA_BUNDLE names, e.g. a TLS-inspecting
proxy's CA), over urllib3's pool."""

import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.channels.twilio_http import make_client

ACCOUNT = "AC" + "1" * 32


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key: (certificate, key) PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class HttpsMessages:
    """Messages.json over HTTPS on a free port of 127.0.0.1: records each POST's form and
    Authorization header and answers 201 with a message sid."""

    def __init__(self, cert_file: Path, key_file: Path) -> None:
        self.posts: list[tuple[str, dict[str, list[str]], str]] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                received.posts.append((self.path, form, self.headers.get("Authorization", "")))
                body = json.dumps({"sid": f"SM{len(received.posts):032d}", "status": "queued"})
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def https(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[HttpsMessages, Path]]:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    cert_file, key_file = _self_signed(tmp_path)
    server = HttpsMessages(cert_file, key_file)
    try:
        yield server, cert_file
    finally:
        server.close()


def test_a_text_goes_over_https_to_a_server_the_ca_bundle_vouches_for(
    https: tuple[HttpsMessages, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, cert_file = https
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_file))
    client = make_client(ACCOUNT, "token", server.url, timeout=5)
    sent = client.messages.create(to="+15551230001", from_="+15557650000", body="Hoy no hay clase")
    assert sent.sid == "SM" + "1".zfill(32)
    path, form, authorization = server.posts[-1]
    assert path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert form["Body"] == ["Hoy no hay clase"] and form["To"] == ["+15551230001"]
    assert authorization.startswith("Basic ")


def test_a_server_no_trusted_ca_vouches_for_is_refused(
    https: tuple[HttpsMessages, Path],
) -> None:
    server, _ = https
    client = make_client(ACCOUNT, "token", server.url, timeout=5)
    with pytest.raises(requests.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        client.messages.create(to="+15551230001", from_="+15557650000", body="x")
    assert server.posts == []  # nothing was said to it
