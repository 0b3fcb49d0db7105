"""Connection limits uvicorn lacks: a deadline for a new connection's request headers, and a cap on open ones.

uvicorn starts its keep-alive timer only after a first response, and BentoML passes it no connection limit,
so a client that opens sockets and sends its headers byte by byte holds them for ever (slowloris). ``install``
wraps the HTTP protocol classes' connection_made/connection_lost in the serving process, once.
"""

from __future__ import annotations

from typing import Any

_open: set[Any] = set()


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


def install(max_connections: int, header_timeout_s: float) -> None:
    """Close new connections beyond ``max_connections`` at once, and idle ones without headers after the timeout."""
    for cls in _protocols():
        if getattr(cls, "_aiaas_limits", None) == (max_connections, header_timeout_s):
            continue
        made, lost = getattr(cls, "_aiaas_made", cls.connection_made), getattr(cls, "_aiaas_lost", cls.connection_lost)

        def connection_made(self, transport, *args, _made=made, **kwargs):
            _made(self, transport, *args, **kwargs)
            _open.add(self)
            if len(_open) > max_connections:
                transport.close()
                return
            self._aiaas_timer = self.loop.call_later(header_timeout_s, _expire, self)

        def connection_lost(self, exc, _lost=lost):
            _open.discard(self)
            timer = getattr(self, "_aiaas_timer", None)
            if timer is not None:
                timer.cancel()
            _lost(self, exc)

        cls._aiaas_made, cls._aiaas_lost = made, lost
        cls.connection_made, cls.connection_lost = connection_made, connection_lost
        cls._aiaas_limits = (max_connections, header_timeout_s)
