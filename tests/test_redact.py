"""Credentials in config values are masked wherever a value is recorded: MLflow params, saved configs, --cfg."""

from __future__ import annotations

import pytest

from aiaas_cli import redact, workspace

SECRETS = ["hunter2-very-secret", "AKIAIOSFODNN7EXAMPLE", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"]


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("push.aws_secret_access_key", "abc", "****"),
        ("+x.api_key", "abc", "****"),
        ("tracking.password", "abc", "****"),
        ("data.token", "abc", "****"),
        ("data.note", "AKIAIOSFODNN7EXAMPLE", "****"),
        ("data.note", "key ghp_abcdefghijklmnopqrstuvwxyz0123456789 here", "key **** here"),
        ("tracking.uri", "https://bob:hunter2@mlflow.example.com/", "https://bob:****@mlflow.example.com/"),
        ("data.max_tokens", "512", "512"),
        ("data.tokenizer.kind", "wordpiece", "wordpiece"),
        ("data.path", "/data/hf_cache/reviews.csv", "/data/hf_cache/reviews.csv"),
        ("data.root", None, None),
        ("trainer.max_epochs", 3, 3),
    ],
)
def test_values_that_look_like_credentials_are_masked(key, value, shown):
    assert redact.value(key, value) == shown


def test_nested_values_are_masked_by_their_own_key():
    assert redact.value("push", {"target": "s3://b/k", "s3": {"secret_key": "x"}}) == {
        "target": "s3://b/k",
        "s3": {"secret_key": "****"},
    }


def test_params_saved_config_and_cfg_never_hold_them(cli, fresh_home, tmp_path):
    from mlflow.tracking import MlflowClient

    from aiaas_recipes.common.smoke import colour_folders

    root = colour_folders(tmp_path / "colours")
    given = [f"+data.api_token={SECRETS[0]}", f"+data.note={SECRETS[1]}",
             f"+data.mirror=https://bob:{SECRETS[0]}@example.com/x", f"+data.pat={SECRETS[2]}"]  # fmt: skip
    args = ["image-cls", f"data.root={root}", "data.image_size=12", *given]
    printed = cli("preprocess", *args, "--cfg").stdout
    run_id = cli.json("preprocess", *args)["run_id"]
    params = MlflowClient(f"sqlite:///{fresh_home / 'mlflow.db'}").get_run(run_id).data.params
    saved = (workspace.run_dir(run_id) / "config" / "preprocess.yaml").read_text()
    assert params["api_token"] == "****" and params["mirror"] == "https://bob:****@example.com/x"
    for text in (printed, saved, repr(params)):
        assert not any(secret in text for secret in SECRETS)
        assert "****" in text
