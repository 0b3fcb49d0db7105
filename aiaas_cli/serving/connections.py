"""Connection limits uvicorn lacks: a deadline for a new connection's request headers, and a cap on open ones.

uvicorn starts its keep-alive timer only after a first response, and BentoML passes it no connection limit,
so a client that opens sockets and sends its headers byte by byte holds them for ever (slowloris). ``install``
wraps the HTTP protocol classes' connection_made/connection_lost in the serving process, once. At the cap, a new
connection makes room by closing the oldest one that has not sent a request head yet (a slow client's, most
likely), so that a pile of stalled sockets does not lock real clients out until the header timeout.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiaas_cli.workspace import alive

_BOARD_PREFIX = "aiaas-connections-"
_open: dict[Any, None] = {}  # open connections, oldest first


def _protocols() -> list[type]:
    from uvicorn.protocols.http.h11_impl import H11Protocol

    found: list[type] = [H11Protocol]
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        found.append(HttpToolsProtocol)
    except ImportError:  # httptools is optional
        pass
    return found


def _expire(protocol: Any) -> None:
    """Close a connection that has not sent a whole request head in time."""
    if protocol.cycle is None and protocol.transport is not None and not protocol.transport.is_closing():
        protocol.transport.close()


def _make_room(newcomer: Any) -> bool:
    """Close the oldest open connection that has sent no request head yet; False when there is none."""
    for protocol in _open:
        transport = protocol.transport
        if protocol is not newcomer and protocol.cycle is None and transport is not None and not transport.is_closing():
            transport.close()
            return True
    return False


def install(max_connections: int, header_timeout_s: float) -> None:
    """Keep at most ``max_connections`` open (at the cap, close the oldest without a request head, else the new one),
    and close a connection that has sent no whole request head within ``header_timeout_s``."""
    for cls in _protocols():
        if getattr(cls, "_aiaas_limits", None) == (max_connections, header_timeout_s):
            continue
        made, lost = getattr(cls, "_aiaas_made", cls.connection_made), getattr(cls, "_aiaas_lost", cls.connection_lost)

        def connection_made(self, transport, *args, _made=made, **kwargs):
            _made(self, transport, *args, **kwargs)
            _open[self] = None
            if _board:
                _board[0].record(len(_open))
            if len(_open) > max_connections and not _make_room(self):
                transport.close()
                return
            self._aiaas_timer = self.loop.call_later(header_timeout_s, _expire, self)

        def connection_lost(self, exc, _lost=lost):
            _open.pop(self, None)
            if _board:
                _board[0].record(len(_open))
            timer = getattr(self, "_aiaas_timer", None)
            if timer is not None:
                timer.cancel()
            _lost(self, exc)

        cls._aiaas_made, cls._aiaas_lost = made, lost
        cls.connection_made, cls.connection_lost = connection_made, connection_lost
        cls._aiaas_limits = (max_connections, header_timeout_s)


class Board:
    """Per worker of one server: its open connections and its pid once it serves, in a small file every worker maps
    (named by the server's pid)."""

    SLOTS = 64

    def __init__(self, index: int, workers: int):
        fd = os.open(board_path(os.getppid()), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < 8 * self.SLOTS:
                os.ftruncate(fd, 8 * self.SLOTS)
            slots = memoryview(mmap.mmap(fd, 8 * self.SLOTS)).cast("i")
        finally:
            os.close(fd)
        self.counts, self.pids = slots[: self.SLOTS], slots[self.SLOTS :]
        self.index, self.workers = index % self.SLOTS, min(workers, self.SLOTS)
        self.record(0)  # a file left by an earlier server with the same pid
        self.pids[self.index] = os.getpid()

    def record(self, count: int) -> None:
        self.counts[self.index] = count

    def ahead(self) -> bool:
        """More open connections here than at the least busy worker, by two or more."""
        return self.counts[self.index] >= min(self.counts[: self.workers]) + 2

    def all_serving(self) -> bool:
        """Every worker has started serving (and is alive): until then new clients would all land on the others."""
        return all(pid > 0 and alive(pid) for pid in self.pids[: self.workers])


def board_path(server_pid: int) -> Path:
    """The board of the server whose (arbiter) process is ``server_pid``: the workers' parent."""
    return Path(tempfile.gettempdir()) / f"{_BOARD_PREFIX}{server_pid}"


def sweep_boards() -> None:
    """Remove the boards of servers that have gone without removing theirs (killed)."""
    for path in Path(tempfile.gettempdir()).glob(f"{_BOARD_PREFIX}*"):
        pid = path.name.removeprefix(_BOARD_PREFIX)
        if pid.isdigit() and not alive(int(pid)):
            with contextlib.suppress(OSError):  # another user's, in a shared temporary folder
                path.unlink(missing_ok=True)


@contextlib.contextmanager
def boards_kept_tidy() -> Iterator[None]:
    """Around a server's life, in its own process: the boards of killed servers are swept first, this server's is
    removed at the end (one small file each, which would pile up in the temporary folder)."""
    sweep_boards()
    try:
        yield
    finally:
        board_path(os.getpid()).unlink(missing_ok=True)


def all_workers_serving(_service: Any = None) -> bool:
    """`/readyz`: with workers taking turns, ready once every worker serves (a single worker: once it does)."""
    return not _board or _board[0].all_serving()


_board: list[Board] = []  # this worker's, once accept_in_turns() ran


class TakingTurns:
    """A listening socket shared by the Bento's workers, accepting one connection per loop turn, and letting a less
    busy worker go first.

    uvloop's server accepts every pending connection at once, so a burst of new clients lands on whichever worker
    woke first and stays there (keep-alive): 32/0, 28/4 and 22/10 splits of 32 clients measured, digits at 575-900
    req/s against 880-1,195 when split 16/16 (BENCHMARKS.md). A worker holding two or more connections more than
    the least busy one waits a millisecond before it takes the next, once: a worker that is busy or gone does not
    leave a client waiting.
    """

    def __init__(self, loop: Any, sock: Any, protocol_factory: Any):
        sock.setblocking(False)
        self.loop, self.sock, self.protocol_factory = loop, sock, protocol_factory
        self.tcp = sock.family in (socket.AF_INET, socket.AF_INET6)
        self.waited = False
        loop.add_reader(sock.fileno(), self._accept_one)

    def _accept_one(self) -> None:
        if not self.waited and _board and _board[0].ahead():
            self.waited = True
            self.loop.remove_reader(self.sock.fileno())
            self.loop.call_later(0.001, self.loop.add_reader, self.sock.fileno(), self._accept_one)
            return
        self.waited = False
        try:
            conn, _ = self.sock.accept()
        except OSError:  # another worker took it (EAGAIN), the client gave up, or out of descriptors: next turn
            return
        if self.tcp:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.loop.create_task(self._serve(conn))

    async def _serve(self, conn: Any) -> None:
        try:
            await self.loop.connect_accepted_socket(self.protocol_factory, conn)
        except OSError:
            conn.close()

    def close(self) -> None:
        self.loop.remove_reader(self.sock.fileno())

    async def wait_closed(self) -> None:
        return None


def accept_in_turns(workers: int) -> None:
    """Serve the sockets BentoML hands its workers through `TakingTurns` (uvicorn's startup with given sockets,
    the path BentoML's workers take; a server started otherwise is left as it is)."""
    import asyncio

    from uvicorn.server import Server

    if getattr(Server, "_aiaas_turns", False):
        return
    original = Server.startup

    async def startup(self: Any, sockets: list | None = None) -> None:
        if not sockets or self.config.ssl:
            return await original(self, sockets)
        await original(self, [])  # lifespan, state and no listener of its own
        loop = asyncio.get_running_loop()
        _board.append(Board(_worker_index(), workers))

        def factory() -> Any:
            return self.config.http_protocol_class(
                config=self.config, server_state=self.server_state, app_state=self.lifespan.state, _loop=loop
            )

        self.servers = [TakingTurns(loop, sock, factory) for sock in sockets]

    Server.startup, Server._aiaas_turns = startup, True


def _worker_index() -> int:
    from bentoml._internal.context import server_context

    return (server_context.worker_index or 1) - 1
