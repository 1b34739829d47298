"""The listening sockets of `hearth serve --workers N` (app/core/serving.py): several bind one
port, and the connections they accept answer at once (Nagle's algorithm off)."""

import asyncio
import os
import socket
import subprocess
import sys

import pytest
from starlette.routing import Match

from app.core.errors import HearthError
from app.core.serving import listening_socket


def test_several_processes_sockets_share_one_port():
    first = listening_socket("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = listening_socket("127.0.0.1", port)
    try:
        assert second.getsockname()[1] == port
    finally:
        first.close()
        second.close()


def test_a_port_taken_by_another_program_is_refused_in_a_sentence():
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen()
    port = other.getsockname()[1]
    try:
        with pytest.raises(HearthError, match=f"cannot listen on 127.0.0.1:{port}"):
            listening_socket("127.0.0.1", port)
    finally:
        other.close()


def test_accepted_connections_have_nagle_off():
    """Left on, each answer on a keep-alive connection waited ~40 ms for the client's ACK."""

    async def accept_one() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Record(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                conn = transport.get_extra_info("socket")
                accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        sock = listening_socket("127.0.0.1", 0)
        server = await asyncio.get_running_loop().create_server(Record, sock=sock)
        _, writer = await asyncio.open_connection(*sock.getsockname())
        try:
            return await asyncio.wait_for(accepted, 5)
        finally:
            writer.close()
            server.close()

    assert asyncio.run(accept_one()) != 0


def test_connections_wait_for_a_process_still_starting():
    """The socket listens before its server process has started: a connection made meanwhile
    waits in its queue (and is answered once the process is up) instead of being refused, so
    the kernel shares connections with processes that start late too."""
    sock = listening_socket("127.0.0.1", 0)
    try:
        with socket.create_connection(sock.getsockname(), timeout=2):
            accepted, _ = sock.accept()
            accepted.close()
    finally:
        sock.close()


def test_the_served_app_keeps_start_up_out_of_the_garbage_collectors_sight(tmp_path):
    """`hearth serve`'s app: what start-up made is frozen, so a full collection does not walk
    it (and stop every request meanwhile) again and again."""
    env = {
        **os.environ,
        "HEARTH_DATABASE_URL": f"sqlite:///{tmp_path / 'gc.db'}",
        "HEARTH_DATA_DIR": str(tmp_path),
    }
    script = (
        "import gc; from app.main import create_served_app; create_served_app(); "
        "print(gc.get_freeze_count(), len(gc.get_objects()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    frozen, tracked = map(int, done.stdout.split()[-2:])
    assert frozen > 100_000
    assert tracked < frozen / 10


def test_the_busiest_paths_are_matched_first(app):
    """A request is matched against the routes one by one: Twilio's webhooks, a broadcast's
    status callbacks and the translate API are tried before the rest (the staff pages and the
    other API routes come after them)."""
    tried: dict[str, int] = {}
    for method, path in [
        ("POST", "/webhooks/twilio/sms"),
        ("POST", "/webhooks/twilio/status"),
        ("POST", "/api/v1/translate"),
        ("GET", "/api/v1/students"),
    ]:
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        for position, route in enumerate(app.router.routes):
            if route.matches(scope)[0] == Match.FULL:
                tried[path] = position
                break
    assert (
        max(tried["/webhooks/twilio/sms"], tried["/webhooks/twilio/status"])
        < tried["/api/v1/translate"]
        < tried["/api/v1/students"]
    )
    assert tried["/api/v1/translate"] <= 6
