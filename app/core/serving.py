"""`hearth serve --workers N`: N server processes on one port, each listening on a socket of its
own (SO_REUSEPORT), so that the kernel spreads new connections over them. Sharing one
listening socket, the process that wakes first accepts a whole burst of keep-alive connections
and the others stay idle: two processes answered no faster than one.

The kernel deals each connection to a process by a hash of its addresses, so a few keep-alive
connections (a proxy's, or a client's pool) often land unevenly: four on two processes go all
to one of them one time in eight, three to one in half the other times, and that process does
the work of both. So a process holding more than its share of the open connections closes one
after its answer (`Connection: close`, which every HTTP client follows by connecting again),
and the kernel deals the new connection afresh, until the processes hold as many each."""

import asyncio
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import MutableSequence, Sized
from multiprocessing import get_context
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import STARTUP_FAILURE

from app.core.errors import HearthError

log = logging.getLogger("hearth.serve")
_spawn = get_context("spawn")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port that other processes of this user may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on connections
    # of such a socket; left on, each keep-alive answer waited ~40 ms for the client's ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise HearthError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    # Listening from now on: the kernel queues a connection for a process still starting up
    # instead of handing every connection to the first one ready.
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


# After telling one connection to close, a process waits this long before the next: the
# connection leaves its count only once closed, and its successor's process must count it.
SHED_PAUSE_SECONDS = 0.02
# How often a process counts its connections also when no request comes: one whose clients
# have gone must not be counted with them (the others would keep more than their share).
COUNT_EVERY_SECONDS = 1.0


class Balance:
    """Around a server process's app: keeps `loads[number]` at the number of connections this
    process holds open, and closes one after its answer while the process holds more than its
    share of all the processes' connections (see the module's docstring)."""

    def __init__(
        self, app: ASGIApp, connections: Sized, loads: MutableSequence[int], number: int
    ) -> None:
        self.app = app
        self.connections = connections
        self.loads = loads
        self.number = number
        self.paused_until = 0.0
        self.counting = False

    def count(self) -> None:
        self.loads[self.number] = len(self.connections)
        asyncio.get_running_loop().call_later(COUNT_EVERY_SECONDS, self.count)

    def over_share(self) -> bool:
        mine = len(self.connections)
        self.loads[self.number] = mine
        share = -(-sum(self.loads) // len(self.loads))  # rounded up: an odd one stays put
        now = time.monotonic()
        if mine <= share or now < self.paused_until:
            return False
        self.paused_until = now + SHED_PAUSE_SECONDS
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.counting:  # at start-up (the lifespan call), in the server's event loop
            self.counting = True
            self.count()
        if scope["type"] != "http" or not self.over_share():
            await self.app(scope, receive, send)
            return

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, closing)


def _serve_one(
    config: uvicorn.Config, sock: socket.socket, loads: MutableSequence[int], number: int
) -> None:
    server = uvicorn.Server(config)
    config.load()
    config.loaded_app = Balance(config.loaded_app, server.server_state.connections, loads, number)
    server.run(sockets=[sock])


def serve_processes(config: uvicorn.Config, processes: int) -> None:
    """Run `processes` servers of `config` until SIGINT or SIGTERM; one that ends is replaced
    (one that could not start stops them all: the next would fail alike)."""
    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    # Each process's open connections, in memory they share (plain integers: each process
    # writes only its own).
    loads = _spawn.RawArray("i", processes)

    def start(number: int) -> BaseProcess:
        sock = listening_socket(config.host, config.port)
        loads[number] = 0  # a replaced process's connections died with it
        child = _spawn.Process(
            target=_serve_one, args=(config, sock, loads, number), name=f"hearth-server-{number}"
        )
        child.start()
        sock.close()  # the child holds its own copy
        return child

    children = [start(n) for n in range(processes)]
    failed = False
    while not stopping.wait(0.5):
        for n, child in enumerate(children):
            if child.is_alive():
                continue
            if child.exitcode == STARTUP_FAILURE:
                log.error("server process %s could not start: stopping", child.pid)
                failed = True
                stopping.set()
                break
            log.warning("server process %s ended (exit code %s): starting another",
                        child.pid, child.exitcode)  # fmt: skip
            children[n] = start(n)
    for child in children:
        if child.is_alive() and child.pid is not None:
            os.kill(child.pid, signal.SIGTERM)
    for child in children:
        child.join()
    if failed:
        raise HearthError("a server process could not start (its log says why)")
