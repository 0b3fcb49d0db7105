"""Models saved with skops (scikit-learn, LightGBM): read back trusting only the types a recipe names, never pickled
code; any other file is one clear line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from aiaas_cli.errors import UserError


def read(path: Path, trusted: Iterable[str] = ()) -> dict:
    """The object saved in ``path`` (a dict {"aiaas": meta, "model": ...}); skops' default types and ``trusted`` are
    loaded, a file holding any other type is refused."""
    import skops.io

    trusted = sorted(set(trusted))
    try:
        unexpected = sorted(set(skops.io.get_untrusted_types(file=Path(path))) - set(trusted))
        if unexpected:
            raise UserError(f"{path} holds types aiaas does not load: {', '.join(unexpected)}")
        return skops.io.load(Path(path), trusted=trusted)
    except UserError:
        raise
    except Exception as exc:  # skops raises many types for a file that is not one of ours
        raise UserError(f"cannot load model {path}: {str(exc).splitlines()[0]}") from None
