"""A tiny timm model's weights written to a file, as a user would download or export them (no network here)."""

from __future__ import annotations

from pathlib import Path

ARCH = "test_efficientnet"  # 100k parameters; its config asks for bicubic, crop_pct 0.95 and ImageNet's mean/std


def write_weights(path: Path, arch: str = ARCH, num_classes: int = 7, seed: int = 0) -> Path:
    """``arch``'s state dict (random weights, a ``num_classes`` head) as .safetensors or .pth, by ``path``'s suffix."""
    import timm
    import torch

    torch.manual_seed(seed)
    state = timm.create_model(arch, num_classes=num_classes).state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path
