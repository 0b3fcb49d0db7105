"""serve: run BentoML's HTTP server for a Bento (a tag, a Bento dir, a `.bento` archive or an s3:// URL)."""

from __future__ import annotations

import socket
from pathlib import Path

from aiaas_cli import console
from aiaas_cli.errors import UserError
from aiaas_cli.serving import connections


def check_port(host: str, port: int) -> None:
    """Fail with one line when ``host:port`` cannot be bound (in use, or not an address of this machine)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = "is in use" if exc.errno == 98 else f"cannot be bound ({exc.strerror})"
            raise UserError(f"port {port} on {host} {reason}", "pick another one with --port") from None


def resolve(ref: str) -> str:
    """What bentoml.serve takes: a store tag or a Bento dir; archives and s3:// URLs are imported first."""
    from aiaas_cli import storage

    if ref.startswith("s3://"):
        return storage.pull_s3(ref)
    path = Path(ref).expanduser()
    if path.is_dir():
        if not (path / "bento.yaml").is_file():
            raise UserError(f"{path} is not a Bento directory (no bento.yaml)")
        return str(path.resolve())
    if path.is_file():
        return str(storage.import_archive(path).tag)
    return str(storage.get_bento(ref).tag)


def serve(ref: str, host: str = "127.0.0.1", port: int = 3000) -> None:
    """Serve until interrupted."""
    import bentoml

    check_port(host, port)
    bento = resolve(ref)
    console.step(f"Serving {bento} on http://{host}:{port} (OpenAPI: /docs.json, readiness: /readyz)")
    with connections.boards_kept_tidy():
        bentoml.serve(bento, host=host, port=port, blocking=True)
