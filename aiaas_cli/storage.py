"""Where Bentos come from besides `aiaas package`: the local store, `.bento` archives (checked before anything is
extracted) and S3, through the one boto3 client of aiaas (shard writing in recipes/common/data/s3.py uses it too).

S3 goes through boto3 (the same credentials and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 as the AWS CLI), so it needs
no s3fs. `stages/push.py` sends Bentos out; `stages/serve.py` brings them in with `pull_s3` and `import_archive`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from aiaas_cli import workspace
from aiaas_cli.errors import UserError


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


def s3_client() -> Any:
    """A boto3 S3 client from the environment as it is now (AWS_ENDPOINT_URL(_S3), keys or a profile, region); short
    timeouts and two retries, so that a wrong endpoint is one line after seconds, not minutes of boto3's retries."""
    import boto3
    from botocore.config import Config

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    config = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.session.Session().client("s3", region_name=region, config=config)  # a new session: current keys


def s3_error(url: str, exc: Exception) -> UserError:
    return UserError(f"S3 transfer {url} failed: {str(exc).splitlines()[0]}", "check the bucket, keys and endpoint")


def pull_s3(url: str) -> str:
    """Download a `.bento` archive from S3 into the local store; return its tag."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = url.removeprefix("s3://").partition("/")
    with tempfile.TemporaryDirectory(prefix="aiaas-pull-", dir=workspace.scratch_dir()) as temp:
        archive = Path(temp) / (Path(key).name or "bento.bento")
        try:
            s3_client().download_file(bucket, key, str(archive))
        except (BotoCoreError, ClientError) as exc:
            raise s3_error(url, exc) from None
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
