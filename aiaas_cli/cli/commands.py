"""The `aiaas` command line: one short function per command. Heavy imports stay inside functions."""

from __future__ import annotations

from typing import Annotated

import typer

from aiaas_cli import __version__, console
from aiaas_cli.cli.common import (
    ErrorHandlingGroup,
    Json,
    Multirun,
    Overrides,
    PrintCfg,
    Recipe,
    Strict,
    finish,
    stage_command,
    stop_on_sigterm,
)
from aiaas_cli.cli.gallery import gallery_app
from aiaas_cli.cli.predict import predict
from aiaas_cli.cli.runs import runs_app

app = typer.Typer(
    cls=ErrorHandlingGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    help="From data to a served, tracked model: preprocess → train → evaluate → export → package → push → serve.",
)


def _version(value: bool) -> None:
    if value:
        console.info(f"aiaas {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks and library logs.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    console.settings.debug = debug


@app.command()
def recipes(json_mode: Json = False) -> None:
    """List the available recipes (built-in and from installed plugins).

    Example: aiaas recipes --json
    """
    from rich.table import Table

    from aiaas_cli import recipes as registry

    console.settings.json = json_mode
    found = registry.load_all()
    if json_mode:
        rows = [{"name": n, "description": r.description, "config": r.config_name} for n, r in found.items()]
        console.emit_json({"recipes": rows})
        return
    table = Table("recipe", "description", "config", title="Recipes")
    for name, recipe in found.items():
        table.add_row(name, recipe.description, f"{recipe.config_name}.yaml")
    console.show(table)


@app.command()
def preprocess(
    recipe: Recipe,
    overrides: Overrides = None,
    json_mode: Json = False,
    print_cfg: PrintCfg = False,
    strict: Strict = False,
) -> None:
    """Validate and decode the raw data once into a cached dataset dir (arrays + manifest).

    Examples:
      aiaas preprocess image-cls
      aiaas preprocess image-cls data.root=~/photos data.image_size=64 --strict
    """
    from aiaas_cli import lifecycle

    stage_command(lifecycle.preprocess, recipe, overrides, json_mode, print_cfg, strict)


@app.command()
def train(
    recipe: Recipe,
    overrides: Overrides = None,
    json_mode: Json = False,
    print_cfg: PrintCfg = False,
    strict: Strict = False,
    multirun: Multirun = False,
) -> None:
    """Train a model (preprocessing first if needed), tracked as an MLflow run.

    Examples:
      aiaas train image-cls trainer.max_epochs=5
      aiaas train image-cls model=resnet18 data.root=/path/to/images data.image_size=128
      aiaas train image-cls -m optim.lr=0.001,0.003 --json
      aiaas train image-cls -m hydra/sweeper=optuna hydra.sweeper.n_trials=20 'optim.lr=interval(1e-4,1e-2)'
      aiaas train image-cls resume=last trainer.max_epochs=30      (continue the latest run from its checkpoint)
    """
    from aiaas_cli import lifecycle

    stage_command(lifecycle.train, recipe, overrides, json_mode, print_cfg, strict, multirun)


@app.command()
def evaluate(recipe: Recipe, overrides: Overrides = None, json_mode: Json = False, print_cfg: PrintCfg = False) -> None:
    """Score a trained run on its test split: metrics.json, confusion matrix, MLflow metrics.

    Examples:
      aiaas evaluate image-cls run=<run_id>
      aiaas evaluate image-cls --json      (the latest trained run)
    """
    from aiaas_cli import lifecycle

    stage_command(lifecycle.evaluate, recipe, overrides, json_mode, print_cfg)


@app.command()
def export(recipe: Recipe, overrides: Overrides = None, json_mode: Json = False, print_cfg: PrintCfg = False) -> None:
    """Export a trained run to ONNX (metadata embedded), check it against torch, register it in MLflow.

    Examples:
      aiaas export image-cls run=<run_id>
      aiaas export image-cls export.quantize=int8 --json      (the latest trained run)
      aiaas export image-cls run=<run_id> export.quantize=int8 export.target_cpu=avx2 export.int8_even_if_slower=true
      aiaas export image-cls run=<run_id> export.register=false export.opset=17
    """
    from aiaas_cli import lifecycle

    stage_command(lifecycle.export, recipe, overrides, json_mode, print_cfg)


app.command()(predict)  # in the help's order: after export, before package


@app.command()
def package(
    recipe: Recipe,
    overrides: Overrides = None,
    containerize: Annotated[
        bool, typer.Option("--containerize", help="Also build an OCI image (needs docker, podman, buildah...).")
    ] = False,
    json_mode: Json = False,
    print_cfg: PrintCfg = False,
) -> None:
    """Package an exported run as a Bento: ONNX Runtime service with request batching, no torch.

    Examples:
      aiaas package image-cls run=<run_id>
      aiaas package image-cls serve.top_k=3 serve.max_batch_size=64 --json      (the latest exported run)
      aiaas package image-cls run=<run_id> --containerize
    """
    from functools import partial

    from aiaas_cli import lifecycle

    stage_command(partial(lifecycle.package, containerize=containerize), recipe, overrides, json_mode, print_cfg)


@app.command()
def push(
    bento: Annotated[str, typer.Argument(help="Bento tag, e.g. aiaas-image-cls:latest.", show_default=False)],
    target: Annotated[
        str, typer.Option("--target", "-t", help="local, a directory, an fsspec URL, s3://bucket/key, or bentocloud.")
    ] = "local",
    json_mode: Json = False,
) -> None:
    """Send a Bento to a store: the local one, a directory or URL (S3 with AWS_ENDPOINT_URL), or BentoCloud.

    Examples:
      aiaas push aiaas-image-cls:latest
      aiaas push aiaas-image-cls:latest --target s3://models/bentos/ --json
      BENTO_CLOUD_API_KEY=... aiaas push aiaas-image-cls:latest --target bentocloud
    """
    from aiaas_cli.stages import push as push_stage

    console.settings.json = json_mode
    finish(push_stage.push(bento, target), json_mode)


@app.command()
def serve(
    bento: Annotated[
        str, typer.Argument(help="Bento tag, Bento directory, .bento archive or s3:// URL.", show_default=False)
    ],
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="Port to listen on.")] = 3000,
    host: Annotated[str, typer.Option("--host", help="Address to bind (0.0.0.0: every interface).")] = "127.0.0.1",
) -> None:
    """Serve a Bento over HTTP with BentoML: POST /predict, /predict_batch; GET /readyz, /docs.json.

    Examples:
      aiaas serve aiaas-image-cls:latest
      aiaas serve aiaas-image-cls:latest --port 8080 --host 0.0.0.0
      aiaas serve s3://models/bentos/aiaas-image-cls-<version>.bento
    """
    from aiaas_cli.stages import serve as serve_stage

    serve_stage.serve(bento, host, port)


@app.command()
def pipeline(
    recipe: Recipe,
    overrides: Overrides = None,
    json_mode: Json = False,
    print_cfg: PrintCfg = False,
    strict: Strict = False,
    multirun: Multirun = False,
) -> None:
    """Run every stage in one MLflow run: preprocess → train → evaluate → export → package → push.

    Examples:
      aiaas pipeline image-cls
      aiaas pipeline image-cls data.root=/path/to/images trainer.max_epochs=20 --json
      aiaas pipeline image-cls export.quantize=int8 push.target=s3://models/bentos
    """
    from aiaas_cli import lifecycle

    stage_command(lifecycle.pipeline, recipe, overrides, json_mode, print_cfg, strict, multirun)


app.add_typer(runs_app, name="runs")
app.add_typer(gallery_app, name="gallery")


def main() -> None:
    stop_on_sigterm()
    app()
