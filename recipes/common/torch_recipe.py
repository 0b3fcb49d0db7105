"""What every recipe with a torch network does alike: load its checkpoint safely, run it on numpy feeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aiaas_cli.errors import ConfigError, UserError
from aiaas_cli.recipe_api import Recipe

_CHUNK = 64


def read_checkpoint(path: Path) -> Any:
    """A checkpoint's tensors and plain values. A file that holds anything else is refused with aiaas' own line:
    unpickling it could run code, and torch's message would advise turning its weights_only check off."""
    import pickle
    import re
    import warnings

    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about the pickle protocol of a file it then refuses
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Weights only load failed" not in str(exc):
            raise UserError(f"cannot load checkpoint {path}: {str(exc).splitlines()[0]}") from None
        code = re.search(r"GLOBAL (\S+)", str(exc))
        what = f"it refers to {code[1]}, code that unpickling would run" if code else "a pickle, or a damaged file"
        raise UserError(
            f"cannot load checkpoint {path}: it is not a plain checkpoint ({what}), so aiaas will not load it",
            "use a checkpoint written by `aiaas train`",
        ) from None
    except Exception as exc:  # torch raises many types for a damaged file
        raise UserError(f"cannot load checkpoint {path}: {str(exc).splitlines()[0]}") from None


class TorchRecipe(Recipe):
    """A Recipe whose LightningModule wraps ``net`` and writes an "aiaas" dict into every checkpoint."""

    input_names: tuple[str, ...] = ()  # the network's positional inputs, as named in ONNX
    output_names: tuple[str, ...] = ()  # its outputs (one tensor, or a tuple in this order)

    def checkpoint_suffix(self, cfg: Any) -> str:
        return ".ckpt"

    def build_network(self, model_cfg: Any, meta: dict) -> Any:
        """The bare network from its config and the checkpoint's `aiaas` metadata (sizes, classes)."""
        raise NotImplementedError

    def load_model(self, path: Path) -> tuple[Any, dict]:
        checkpoint = read_checkpoint(path)
        meta = checkpoint.get("aiaas", {}) if isinstance(checkpoint, dict) else {}
        if meta.get("recipe") != self.name:
            raise ConfigError(f"checkpoint {path} is from recipe '{meta.get('recipe')}', not '{self.name}'")
        from aiaas_recipes.common.backbones.pretrained import for_checkpoint

        net = self.build_network(for_checkpoint(meta["model"]), meta)  # the checkpoint brings every weight
        state = {k.removeprefix("net."): v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
        net.load_state_dict(state)
        return net.eval(), meta

    def reference_outputs(self, network: Any, inputs: dict) -> dict[str, np.ndarray]:
        import torch

        names = getattr(network, "names", None) or self.input_names  # a hub model names its own inputs
        rows = len(inputs[names[0]])
        parts: list[tuple] = []
        with torch.inference_mode():
            for start in range(0, rows, _CHUNK):
                # a copy: the inputs may be read-only memory-mapped splits, which torch refuses to wrap quietly
                args = [torch.from_numpy(np.array(inputs[n][start : start + _CHUNK])) for n in names]
                out = network(*args)
                parts.append(tuple(t.numpy() for t in (out if isinstance(out, tuple) else (out,))))
        return {name: np.concatenate([part[i] for part in parts]) for i, name in enumerate(self.output_names)}
