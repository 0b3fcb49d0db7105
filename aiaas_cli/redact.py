"""Mask what looks like a credential before a value is logged, saved or shown: by its key's name, or by its form."""

from __future__ import annotations

import re
from typing import Any

MASK = "****"
# by name: the last part of a key, e.g. push.aws_secret_access_key, tracking.password, +x.api_key (not max_tokens)
_SECRET_KEY = re.compile(r"(^|[_-])(secret|password|passwd|pwd|token|credentials?|auth)($|[_-])"
                         r"|api[_-]?key|access[_-]?key|private[_-]?key", re.IGNORECASE)  # fmt: skip
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]*:)(?P<password>[^/\s@]+)(?P<tail>@)", re.IGNORECASE)
_SECRET_FORMS = re.compile(
    r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key ids
    r"|\b(ghp|gho|ghs|ghu|github_pat|glpat|xox[abpr])[-_][A-Za-z0-9_-]{16,}"  # GitHub, GitLab and Slack tokens
    r"|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"  # JWTs (bearer tokens)
)


def url(text: str) -> str:
    """``text`` with the password of any ``scheme://user:password@host`` in it masked."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['tail']}", text)


def value(key: str, raw: Any) -> Any:
    """``raw`` as it may be recorded under ``key``: masked if the key names a secret or the value looks like one."""
    if raw is None or isinstance(raw, (bool, int, float)):
        return raw
    if isinstance(raw, dict):
        return {k: value(f"{key}.{k}", v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [value(key, v) for v in raw]
    text = str(raw)
    if _SECRET_KEY.search(key.rsplit(".", 1)[-1]) and text:
        return MASK
    return _SECRET_FORMS.sub(MASK, url(text))


def config(plain: dict[str, Any]) -> dict[str, Any]:
    """A plain (resolved) config with its credentials masked."""
    return {k: value(k, v) for k, v in plain.items()}
