"""The listening sockets of `hearth serve --workers N` (app/core/serving.py): several bind one
port, the connections they accept answer at once (Nagle's algorithm off), and keep-alive
connections end up shared evenly by the processes."""

import asyncio
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from starlette.routing import Match

from app.core import serving
from app.core.errors import HearthError
from app.core.serving import listening_socket
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


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


async def pid_app(scope, receive, send):
    """Answers with the number of the process that answered."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(os.getpid()).encode()})


SERVE_TWO = (
    "import sys, uvicorn; from app.core.serving import serve_processes; "
    "serve_processes(uvicorn.Config('tests.core.test_serving:pid_app', host='127.0.0.1', "
    "port=int(sys.argv[1]), log_level='warning'), 2)"
)


def test_keep_alive_connections_end_up_shared_evenly_by_the_processes():
    """Eight keep-alive connections to two server processes: the kernel deals them by a hash
    (an even 4 + 4 only about one time in four). The process with more than its share closes
    one after its answer and the client connects again, until each holds four; then nothing
    more is closed."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVE_TWO, str(port)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "did not start"
                time.sleep(0.1)
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(8)]
        steady = closed = 0
        for _ in range(500):
            pids, closed_now = [], 0
            for conn in connections:
                conn.request("GET", "/")
                answer = conn.getresponse()
                pids.append(answer.read().decode())
                if answer.will_close:
                    closed_now += 1
                    conn.close()  # the next request connects again
            closed += closed_now
            steady = steady + 1 if closed_now == 0 else 0
            if steady == 20:
                break
            time.sleep(0.005)
        assert steady == 20, f"still closing connections after 500 rounds ({closed} closed)"
        assert sorted(Counter(pids).values()) == [4, 4]
        for conn in connections:
            conn.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def test_a_process_counts_its_connections_also_when_no_request_comes(monkeypatch):
    """Its clients gone, an idle process must not go on counting their connections: the others
    would then keep more than their share."""
    monkeypatch.setattr(serving, "COUNT_EVERY_SECONDS", 0.02)
    connections = {"a", "b", "c"}
    loads = [0, 5]

    async def answer(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def serve() -> list[tuple[bytes, bytes]]:
        balance = serving.Balance(answer, connections, loads, 0)
        sent = []

        async def send(message):
            sent.append(message)

        await balance({"type": "http"}, None, send)
        assert loads == [3, 5]  # 3 of 8: under its share, kept open
        connections.clear()
        await asyncio.sleep(0.1)
        assert loads == [0, 5]
        return sent[0]["headers"]

    assert asyncio.run(serve()) == []
