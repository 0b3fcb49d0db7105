"""push: a Bento from the local store -> the store itself, a directory or fsspec URL, S3, or BentoCloud.

S3 goes through the one boto3 client of `storage` (no s3fs needed); other URLs go through BentoML's own export.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from aiaas_cli import console, storage, workspace
from aiaas_cli.errors import ConfigError, UserError

CLOUD_KEY_ENV = "BENTO_CLOUD_API_KEY"
CLOUD_ENDPOINT_ENV = "BENTO_CLOUD_API_ENDPOINT"


def push(tag: str, target: str = "local") -> dict[str, Any]:
    """Send Bento ``tag`` to ``target``; return where it is now."""
    bento = storage.get_bento(tag)
    if target == "local":
        return {"bento_tag": str(bento.tag), "uri": Path(bento.path).as_uri()}
    if target == "bentocloud":
        return {"bento_tag": str(bento.tag), "uri": push_cloud(bento)}
    if target.startswith("s3://"):
        return {"bento_tag": str(bento.tag), "uri": push_s3(bento, target)}
    return {"bento_tag": str(bento.tag), "uri": export(bento, target)}


ARCHIVES = (".bento", ".gz", ".xz", ".bz2", ".tar", ".zip")


def export(bento: Any, target: str) -> str:
    """A directory or fsspec URL: BentoML's export (a `.bento` archive unless the name says otherwise)."""
    from bentoml.exceptions import BentoMLException

    console.step(f"Exporting {bento.tag} to {target}")
    try:
        if "://" in target:
            return bento_export(bento, target)
        return Path(export_local(bento, Path(target).expanduser().resolve())).as_uri()
    except (ImportError, ValueError) as exc:
        hint = "use a directory, s3://bucket/key or an fsspec URL"
        raise ConfigError(f"cannot export to {target}: {exc}", hint) from None
    except (OSError, BentoMLException) as exc:
        raise UserError(f"export to {target} failed: {exc}") from None


def bento_export(bento: Any, target: str) -> str:
    """BentoML's export, whose whole temporary archive goes to this command's scratch folder (a killed push left it
    in the system's temporary folder for good)."""
    with workspace.library_temp_in_scratch():
        return bento.export(target)


def export_local(bento: Any, target: Path) -> str:
    """Export into a temporary folder beside the target, then rename: no half-written archive is ever seen."""
    folder = target.parent if target.suffix in ARCHIVES else target
    folder.mkdir(parents=True, exist_ok=True)
    workspace.sweep_stale(folder, recursive=False)  # what a killed push left behind
    with workspace.temp_dir(folder) as temp:
        name = target.name if target.suffix in ARCHIVES else ""
        written = Path(bento_export(bento, str(temp / name) if name else str(temp)))
        final = folder / written.name
        os.replace(written, final)
    return str(final)


def _s3_key(bento: Any, url: str) -> tuple[str, str]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise ConfigError(f"'{url}' names no bucket", "use s3://bucket/prefix/")
    if not key or key.endswith("/"):
        key += f"{bento.tag.name}-{bento.tag.version}.bento"
    return bucket, key


def push_s3(bento: Any, url: str) -> str:
    """Export to a local `.bento` archive, then upload it to s3://bucket/key."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = _s3_key(bento, url)
    uri = f"s3://{bucket}/{key}"
    console.step(f"Uploading {bento.tag} to {uri}")
    with tempfile.TemporaryDirectory(prefix="aiaas-push-", dir=workspace.scratch_dir()) as temp:
        archive = bento_export(bento, str(Path(temp) / "bento.bento"))
        try:
            storage.s3_client().upload_file(archive, bucket, key)
        except (BotoCoreError, ClientError) as exc:
            raise storage.s3_error(uri, exc) from None
    return uri


def push_cloud(bento: Any) -> str:
    """Push to BentoCloud with the API key from BENTO_CLOUD_API_KEY (or a `bentoml cloud login` context)."""
    from bentoml.cloud import BentoCloudClient
    from bentoml.exceptions import BentoMLException

    try:
        if os.environ.get(CLOUD_KEY_ENV):
            endpoint = os.environ.get(CLOUD_ENDPOINT_ENV, "https://cloud.bentoml.com")
            client = BentoCloudClient(api_key=os.environ[CLOUD_KEY_ENV], endpoint=endpoint)
        else:
            client = BentoCloudClient()
    except BentoMLException:
        raise UserError(
            "no BentoCloud API token", f"set {CLOUD_KEY_ENV} (and {CLOUD_ENDPOINT_ENV}) or run `bentoml cloud login`"
        ) from None
    console.step(f"Pushing {bento.tag} to BentoCloud ({client.bento._client.endpoint})")
    try:
        client.bento.push(bento)
    except Exception as exc:  # the cloud client raises httpx, BentoML and its own errors alike
        raise UserError(f"BentoCloud push failed: {str(exc).splitlines()[0]}", "check the token and endpoint") from None
    return f"bentocloud://{client.bento._client.endpoint.split('://')[-1]}/{bento.tag}"
