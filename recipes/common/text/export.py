"""What the export stage needs from a network over token ids (text-cls, token-cls): a padded example, symbolic batch
and sequence axes, and the tokenizer in the metadata, so a served model needs nothing but model.onnx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiaas_cli.recipe_api import ExportSpec
from aiaas_recipes.common.text.tokenizer import read_tokenizer

INPUT_NAME, OUTPUT_NAME = "input_ids", "logits"


def ids_export_spec(meta: dict, output_axes: dict[int, str], metadata: dict) -> ExportSpec:
    """A (2, max_length) example with symbolic batch and sequence axes; ``output_axes`` names the output's symbolic
    axes and ``metadata`` holds the recipe's own keys (its labels), before the length, tokenizer and model."""
    import torch

    max_length = int(meta["max_length"])
    example = torch.ones(2, max_length, dtype=torch.long)
    example[1, max_length // 2 :] = 0  # a padded row, so the export traces the masking path with real data
    return ExportSpec(
        example_inputs=(example,),
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch", 1: "sequence"}, OUTPUT_NAME: output_axes},
        metadata={
            **metadata,
            "max_length": max_length,
            "tokenizer": meta["tokenizer"],  # the JSON string: a served model needs only model.onnx
            "model": meta.get("model", {}).get("_target_"),
        },
    )


def network_meta(manifest: dict, dataset_dir: Path, model_cfg: Any) -> dict:
    """What the network is rebuilt from, kept in the checkpoint and then the ONNX file: its sizes, the tokenizer (its
    JSON string) and the model config."""
    from omegaconf import OmegaConf

    return {
        "vocab_size": manifest["tokenizer"]["vocab_size"],
        "max_length": manifest["max_length"],
        "tokenizer": read_tokenizer(dataset_dir),  # the checkpoint, then the ONNX file, carry it
        "model": OmegaConf.to_container(model_cfg, resolve=True),
    }
