"""What the export stage needs from a network over token ids (text-cls, token-cls): a padded example, symbolic batch
and sequence axes, and the tokenizer in the metadata, so a served model needs nothing but model.onnx."""

from __future__ import annotations

from aiaas_cli.recipe_api import ExportSpec

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
