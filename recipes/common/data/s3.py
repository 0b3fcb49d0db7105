"""The few S3 calls that shard writing needs, with one-line errors instead of boto3's retries and tracebacks.

boto3 reads the endpoint and credentials the usual way (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID..., a profile). LitData's
own client retries a refused connection for a very long time, so the endpoint is tried here first, briefly.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

from aiaas_cli.errors import ConfigError, UserError
from aiaas_cli.storage import s3_client as client


def is_url(where: str) -> bool:
    return str(where).startswith("s3://")


def check_url(where: str) -> None:
    """A local folder or s3://bucket/prefix; anything else with a scheme is refused."""
    scheme = urlparse(where).scheme
    if is_url(where):
        if not urlparse(where).netloc:
            raise ConfigError(f"data.shards={where} names no bucket", "e.g. data.shards=s3://my-bucket/shards")
    elif len(scheme) > 1:  # not a Windows drive letter
        raise ConfigError(f"data.shards={where}: only a local folder or an s3:// URL", "e.g. data.shards=s3://b/shards")


def split_url(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    return parsed.netloc, parsed.path.lstrip("/")


def _explain(exc: Exception, url: str) -> UserError:
    """boto3's exception as one line: what went wrong with ``url`` and what to do."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ParamValidationError

    endpoint = os.environ.get("AWS_ENDPOINT_URL", "AWS S3")
    if isinstance(exc, NoCredentialsError):
        return ConfigError(
            f"no S3 credentials for {url}", "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
        )
    if isinstance(exc, ParamValidationError):
        return ConfigError(f"bad S3 URL {url}: {str(exc).splitlines()[-1]}", "e.g. data.shards=s3://my-bucket/shards")
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "?")
        if code in ("NoSuchBucket", "404"):
            return ConfigError(f"S3 bucket of {url} does not exist at {endpoint}", "create it or fix data.shards")
        return UserError(f"S3 refused {url} ({code})", "check the credentials and the bucket's permissions")
    if isinstance(exc, EndpointConnectionError):
        return UserError(f"cannot reach the S3 endpoint {endpoint} for {url}", "check AWS_ENDPOINT_URL and the network")
    return UserError(f"S3 error for {url}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


def exists(url: str) -> bool:
    """Whether the object ``url`` exists; its bucket must (a missing bucket is an error, not "absent")."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split_url(url)
    s3 = client()
    try:
        s3.head_bucket(Bucket=bucket)
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as exc:
        if exc.operation_name == "HeadObject" and exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
            return False
        raise _explain(exc, url) from None
    except BotoCoreError as exc:
        raise _explain(exc, url) from None


def upload_folder(folder: Path, url: str, last: str) -> None:
    """Every file of ``folder`` under ``url``, the file named ``last`` after all others (readers wait for it)."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = split_url(url)
    files = sorted(Path(folder).iterdir(), key=lambda path: path.name == last)
    s3 = client()
    try:
        for path in files:
            s3.upload_file(str(path), bucket, f"{prefix.rstrip('/')}/{path.name}")
    except (BotoCoreError, ClientError) as exc:
        raise _explain(exc, url) from None


def allow_plain_http() -> None:
    """Let LitData's obstore reader use an http:// endpoint (MinIO, moto), as boto3 does; LitData 0.2 does not."""
    if not os.environ.get("AWS_ENDPOINT_URL", "").startswith("http://"):
        return
    from litdata.streaming import downloader

    options = getattr(downloader, "_OBSTORE_CLIENT_OPTIONS", None)
    if isinstance(options, dict):
        options["allow_http"] = True
