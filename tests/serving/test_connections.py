"""Workers take turns accepting connections (serve.accept_in_turns): a burst of new clients is shared between the
Bento's workers instead of landing on whichever woke first, and a connection is never left waiting for long."""

from __future__ import annotations

import asyncio
import os
import socket

import psutil
import pytest
from conftest import Server

from aiaas_cli.serving import connections


@pytest.fixture()
def boards():
    made = [connections.Board(0, 2), connections.Board(1, 2)]  # two workers of one server: the same file here
    yield made
    connections.board_path(os.getppid()).unlink(missing_ok=True)


def test_a_worker_two_connections_ahead_of_the_least_busy_one_lets_it_go_first(boards):
    first, second = boards
    first.record(5)
    second.record(2)
    assert first.ahead() and not second.ahead()
    first.record(3)
    assert not first.ahead()


def test_ready_only_once_every_worker_serves(boards):
    first, _ = boards
    assert first.all_serving()  # both slots hold this live process
    dead = psutil.Popen(["true"])
    dead.wait()
    first.pids[1] = dead.pid  # a worker that has gone
    assert not first.all_serving()
    first.pids[1] = 0  # one that has not started
    assert not first.all_serving()


class _Made(asyncio.Protocol):
    def __init__(self, made: asyncio.Event):
        self.made = made

    def connection_made(self, transport):
        self.made.set()
        transport.close()


@pytest.mark.parametrize("ahead", [False, True])
def test_a_worker_that_is_ahead_waits_once_then_accepts(ahead, monkeypatch):
    """No other worker here: the connection must still be accepted (after one 1 ms wait when ahead)."""

    class Board:
        def ahead(self):
            return ahead

    monkeypatch.setattr(connections, "_board", [Board()])

    async def scenario():
        made = asyncio.Event()
        listener = socket.create_server(("127.0.0.1", 0))
        turns = connections.TakingTurns(asyncio.get_running_loop(), listener, lambda: _Made(made))
        _, writer = await asyncio.open_connection(*listener.getsockname())
        await asyncio.wait_for(made.wait(), 5)
        turns.close()
        writer.close()
        listener.close()
        return turns.waited

    assert asyncio.run(scenario()) is False  # accepted: the wait, if any, is over


def test_a_burst_of_new_clients_is_shared_between_the_workers(server):
    """32 keep-alive connections opened at once: without turns one worker often took 28 to 32 of them."""
    clients = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(32)]
    try:
        for sock in clients:
            sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
        for sock in clients:
            assert sock.recv(1024).startswith(b"HTTP/1.1 200")
        ours = {sock.getsockname()[1] for sock in clients}
        per_worker = {}
        for process in psutil.Process(server.process.pid).children(recursive=True):
            held = [c for c in process.net_connections("tcp") if c.raddr and c.raddr.port in ours]
            if held:
                per_worker[process.pid] = len(held)
    finally:
        for sock in clients:
            sock.close()
    assert sum(per_worker.values()) == 32
    assert len(per_worker) == 2 and min(per_worker.values()) >= 8, per_worker


def test_a_stopped_server_leaves_no_board_and_a_killed_ones_is_swept(bento, tmp_path):
    running = Server(bento["bento_tag"], tmp_path / "server.log").wait_ready()
    board = connections.board_path(running.process.pid)
    assert board.is_file()
    running.stop()  # SIGTERM, as a service manager or CI stops it
    assert not board.exists()

    gone = psutil.Popen(["true"])
    gone.wait()
    left, live = connections.board_path(gone.pid), connections.board_path(os.getpid())
    left.write_bytes(bytes(512))
    live.write_bytes(bytes(512))
    try:
        connections.sweep_boards()
        assert not left.exists() and live.exists()
    finally:
        left.unlink(missing_ok=True)
        live.unlink(missing_ok=True)
