"""`hearth serve --workers N`: N server processes on one port, each listening on a socket of its
own (SO_REUSEPORT), so that the kernel spreads new connections over them evenly. Sharing one
listening socket, the process that wakes first accepts a whole burst of keep-alive connections
and the others stay idle: two processes answered no faster than one."""

import logging
import os
import signal
import socket
import threading
from multiprocessing import get_context
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn
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


def _serve_one(config: uvicorn.Config, sock: socket.socket) -> None:
    uvicorn.Server(config).run(sockets=[sock])


def serve_processes(config: uvicorn.Config, processes: int) -> None:
    """Run `processes` servers of `config` until SIGINT or SIGTERM; one that ends is replaced
    (one that could not start stops them all: the next would fail alike)."""
    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    def start(number: int) -> BaseProcess:
        sock = listening_socket(config.host, config.port)
        child = _spawn.Process(
            target=_serve_one, args=(config, sock), name=f"hearth-server-{number}"
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
