"""`aiaas gallery enroll|list|remove`: the persistent gallery of identities that an embedding service identifies."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from aiaas_cli import console
from aiaas_cli.cli.common import ErrorHandlingGroup, Json, Strict, finish

gallery_app = typer.Typer(
    cls=ErrorHandlingGroup,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    help="Manage a gallery of identities (SQLite + vector index in a folder) for an embedding service's /identify.",
)
Folder = Annotated[str, typer.Option("--gallery", "-g", help="The gallery's folder (created by enroll).")]


@gallery_app.command("enroll")
def gallery_enroll(
    inputs: Annotated[
        list[str],
        typer.Argument(help="A folder with a sub-folder per identity; with --name: files and folders of one identity."),
    ],
    model: Annotated[str, typer.Option("--model", help="run=<id> (its exported model) or path/to/model.onnx.")],
    gallery: Folder,
    name: Annotated[Optional[str], typer.Option("--name", help="Enrol every input as this one identity.")] = None,
    recipe: Annotated[
        Optional[str], typer.Option("--recipe", help="The recipe that exported the model (default: the model's own).")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Files per ONNX Runtime call.")] = 32,
    strict: Strict = False,
    json_mode: Json = False,
) -> None:
    """Embed files with an exported model and add them to their identities (appended when the identity exists).

    Examples:
      aiaas gallery enroll people/ --model run=<run_id> --gallery gallery/      (people/<name>/<photo>)
      aiaas gallery enroll a.jpg b.jpg --name "Ada Lovelace" --model model.onnx --gallery gallery/
      aiaas gallery enroll people/ --model model.onnx --gallery gallery/ --strict --json
    """
    from aiaas_cli.stages import gallery as stage

    console.settings.json = json_mode
    request = stage.Enrolment(gallery, inputs, model, recipe, name, batch_size, strict)
    finish(stage.enroll(request), json_mode)


@gallery_app.command("list")
def gallery_list(gallery: Folder, json_mode: Json = False) -> None:
    """The identities in a gallery with how many vectors each holds.

    Examples:
      aiaas gallery list --gallery gallery/
      aiaas gallery list --gallery gallery/ --json      ({"identities": [{"name", "vectors"}, ...]})
    """
    from rich.table import Table

    from aiaas_cli.stages import gallery as stage

    console.settings.json = json_mode
    found = stage.list_identities(gallery)
    if json_mode:
        console.emit_json(found)
        return
    table = Table("identity", "vectors", title=f"Gallery {gallery}: {len(found['identities'])} identities")
    for row in found["identities"]:
        table.add_row(row["name"], str(row["vectors"]))
    console.show(table)


@gallery_app.command("remove")
def gallery_remove(
    name: Annotated[str, typer.Argument(help="The identity to delete with all its vectors.", show_default=False)],
    gallery: Folder,
    json_mode: Json = False,
) -> None:
    """Delete an identity and its vectors from a gallery.

    Examples:
      aiaas gallery remove "Ada Lovelace" --gallery gallery/
      aiaas gallery remove ada --gallery gallery/ --json
    """
    from aiaas_cli.stages import gallery as stage

    console.settings.json = json_mode
    finish(stage.remove(gallery, name), json_mode)
