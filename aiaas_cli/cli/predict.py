"""`aiaas predict`: files, lists and S3 prefixes through an exported model or a running service, one row each."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from aiaas_cli import console
from aiaas_cli.cli.common import Recipe


def predict(
    recipe: Recipe,
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Files, folders (searched recursively), @list.txt (one input per line), s3://bucket/prefix.",
            show_default=False,
        ),
    ],
    model: Annotated[
        Optional[str], typer.Option("--model", help="run=<id> (its exported model) or path/to/model.onnx.")
    ] = None,
    url: Annotated[Optional[str], typer.Option("--url", help="Send the inputs to a running service instead.")] = None,
    output: Annotated[
        Optional[str],
        typer.Option("--output", "-o", help="Write .jsonl or .csv here instead of JSONL on stdout; DIR/: --save DIR."),
    ] = None,
    save: Annotated[
        Optional[str],
        typer.Option(
            "--save",
            "--save-images",
            help="Also write what the recipe renders per input into this folder (annotated image, mask, WAV).",
        ),
    ] = None,
    top_k: Annotated[
        Optional[int],
        typer.Option(
            "--top-k",
            "-k",
            min=1,
            help="How many answers per input, best first. Default: the recipe's (5 labels; image-det: every box "
            "above the score threshold, up to the model's max_detections, 100; at most 300). See README 'Limits'.",
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Inputs per ONNX Runtime call.")] = 32,
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, help="ONNX Runtime threads.")] = None,
    json_mode: Annotated[
        bool, typer.Option("--json", help="One JSON object on stdout, predictions inside (not one line per input).")
    ] = False,
    shard: Annotated[
        Optional[str],
        typer.Option("--shard", metavar="I/N", help="Only shard I of N (0 <= I < N), by a hash of each input's name."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue --output FILE after a kill: skip what it holds, append the rest.")
    ] = False,
) -> None:
    """Predict with an exported model (ONNX Runtime, no torch) or a running service: one JSON line per input.

    Examples:
      aiaas predict image-cls photos/ --model run=<run_id>
      aiaas predict image-cls a.png b.jpg --model model.onnx --top-k 3 --output preds.csv
      aiaas predict image-cls photos/ --url http://127.0.0.1:3000
      aiaas predict text-cls reviews.csv notes.txt --model run=<run_id>   (a text per row / per line)
      aiaas predict image-cls a.png --model model.onnx --json   ({"inputs", "failed", "predictions": [...]})
      aiaas predict tts sentences.txt --model run=<run_id> --output out/   (a WAV per line + out/predictions.jsonl)
      aiaas predict image-cls @paths.txt s3://bucket/photos/ --model m.onnx --shard 0/8 --resume -o part-0.jsonl
    """
    from aiaas_cli.stages import predict as predict_stage

    console.settings.json = json_mode  # without --json, stdout carries one JSON line per input
    request = predict_stage.Request(
        recipe, inputs, model, url, output, top_k, batch_size, threads, json_mode, save, shard, resume
    )
    summary = predict_stage.predict(request)
    if json_mode:
        console.emit_json(summary)
