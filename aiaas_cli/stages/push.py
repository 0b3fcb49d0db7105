"""push: a Bento from the local store -> the store itself, a directory or fsspec URL, S3, or BentoCloud.

S3 goes through boto3 (the same credentials and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 as the AWS CLI),
so it needs no s3fs; other URLs go through BentoML's own export.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from aiaas_cli import console, workspace
from aiaas_cli.errors import ConfigError, UserError

CLOUD_KEY_ENV = "BENTO_CLOUD_API_KEY"
CLOUD_ENDPOINT_ENV = "BENTO_CLOUD_API_ENDPOINT"


def get_bento(tag: str) -> Any:
    """The Bento ``tag`` from the local store, or a clear error."""
    import bentoml
    from bentoml.exceptions import BentoMLException

    try:
        return bentoml.get(tag)
    except (BentoMLException, ValueError):
        raise UserError(
            f"no Bento '{tag}' in the local store", "build one with `aiaas package`; see `bentoml list`"
        ) from None


def push(tag: str, target: str = "local") -> dict[str, Any]:
    """Send Bento ``tag`` to ``target``; return where it is now."""
    bento = get_bento(tag)
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


def s3_client() -> Any:
    """A boto3 S3 client; boto3 itself reads AWS_ENDPOINT_URL(_S3), keys and region from the environment."""
    import boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client("s3", region_name=region)


def _s3_error(url: str, exc: Exception) -> UserError:
    return UserError(f"S3 transfer {url} failed: {str(exc).splitlines()[0]}", "check the bucket, keys and endpoint")


def push_s3(bento: Any, url: str) -> str:
    """Export to a local `.bento` archive, then upload it to s3://bucket/key."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = _s3_key(bento, url)
    uri = f"s3://{bucket}/{key}"
    console.step(f"Uploading {bento.tag} to {uri}")
    with tempfile.TemporaryDirectory(prefix="aiaas-push-", dir=workspace.scratch_dir()) as temp:
        archive = bento_export(bento, str(Path(temp) / "bento.bento"))
        try:
            s3_client().upload_file(archive, bucket, key)
        except (BotoCoreError, ClientError) as exc:
            raise _s3_error(uri, exc) from None
    return uri


def pull_s3(url: str) -> str:
    """Download a `.bento` archive from S3 into the local store; return its tag."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = url.removeprefix("s3://").partition("/")
    with tempfile.TemporaryDirectory(prefix="aiaas-pull-", dir=workspace.scratch_dir()) as temp:
        archive = Path(temp) / (Path(key).name or "bento.bento")
        try:
            s3_client().download_file(bucket, key, str(archive))
        except (BotoCoreError, ClientError) as exc:
            raise _s3_error(url, exc) from None
        return str(import_archive(archive).tag)


def archive_entries(path: Path) -> list[tuple[str, bool]]:
    """(name, is a link or special file) for every entry of a tar (any compression) or zip archive."""
    import stat
    import tarfile
    import zipfile

    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return [(i.filename, stat.S_ISLNK(i.external_attr >> 16)) for i in archive.infolist()]
    with tarfile.open(path) as archive:
        return [(m.name, not (m.isfile() or m.isdir())) for m in archive.getmembers()]


def check_archive(path: Path) -> None:
    """Refuse an archive with an entry that could land outside its folder (an absolute name, a `..` step) or is
    a link or device (a symlink can point anywhere), before anything is extracted."""
    import lzma
    import tarfile
    import zipfile

    try:
        entries = archive_entries(path)
    except (tarfile.TarError, zipfile.BadZipFile, lzma.LZMAError, EOFError, OSError) as exc:
        hint = "export one with `aiaas push TAG --target DIR`"
        raise UserError(f"{path} is not a Bento archive ({exc})", hint) from None
    for name, special in entries:
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or ".." in parts:
            raise UserError(f"{path}: entry '{name}' would land outside the Bento's folder; refusing to import it")
        if special:
            raise UserError(f"{path}: entry '{name}' is a link or special file; refusing to import it")


def import_archive(path: Path) -> Any:
    """Import a `.bento` archive into the local store (one already there is reused), after ``check_archive``."""
    import bentoml
    from bentoml.exceptions import BentoMLException, NotFound

    check_archive(path)
    try:
        bento = bentoml.Bento.import_from(str(path))
        try:
            return bentoml.get(bento.tag)
        except NotFound:
            return bento.save()
    except (BentoMLException, OSError, ValueError, KeyError) as exc:
        raise UserError(f"cannot import {path}: {exc}") from None


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
