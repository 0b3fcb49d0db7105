"""Connection limits uvicorn lacks: a deadline for a new connection's request headers, and a cap on open ones.

uvicorn starts its keep-alive timer only after a first response, and BentoML passes it no connection limit,
so a client that opens sockets and sends its headers byte by byte holds them for ever (slowloris). ``install``
wraps the HTTP protocol classes' connection_made/connection_lost in the serving process, once. At the cap, a new
connection makes room by closing the oldest one that has not sent a request head yet (a slow client's, most
likely), so that a pile of stalled sockets does not lock real clients out until the header timeout.
"""

from __future__ import annotations

from typing import Any

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
            if len(_open) > max_connections and not _make_room(self):
                transport.close()
                return
            self._aiaas_timer = self.loop.call_later(header_timeout_s, _expire, self)

        def connection_lost(self, exc, _lost=lost):
            _open.pop(self, None)
            timer = getattr(self, "_aiaas_timer", None)
            if timer is not None:
                timer.cancel()
            _lost(self, exc)

        cls._aiaas_made, cls._aiaas_lost = made, lost
        cls.connection_made, cls.connection_lost = connection_made, connection_lost
        cls._aiaas_limits = (max_connections, header_timeout_s)
