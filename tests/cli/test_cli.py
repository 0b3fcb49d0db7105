"""The command line as a user meets it: help, JSON output, --cfg, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

AIAAS = str(Path(sys.executable).with_name("aiaas"))


def test_help_lists_every_command(cli):
    out = cli("--help").stdout
    for command in ("recipes", "preprocess", "train", "evaluate", "pipeline", "runs"):
        assert command in out


def test_command_help_ends_with_examples(cli):
    out = cli("train", "--help").stdout
    assert "aiaas train image-cls trainer.max_epochs=5" in out


def test_recipes_json_lists_image_cls(cli):
    names = [r["name"] for r in cli.json("recipes")["recipes"]]
    assert "image-cls" in names


def test_cfg_prints_composed_config_with_overrides(cli):
    out = cli("train", "image-cls", "model=resnet18", "trainer.max_epochs=7", "--cfg").stdout
    assert "name: resnet18" in out
    assert "max_epochs: 7" in out
    assert "T_max: 7" in out  # interpolations are resolved


def test_cfg_json_is_one_object(cli):
    cfg = cli.json("preprocess", "image-cls", "data.image_size=48", "--cfg")
    assert cfg["data"]["image_size"] == 48


def _error_line(result) -> str:
    assert "Traceback" not in result.output
    return result.stderr.strip()


def test_unknown_recipe_is_a_usage_error(cli):
    result = cli("train", "image-clz", expect=2)
    assert "unknown recipe 'image-clz'" in _error_line(result)
    assert "did you mean image-cls" in result.stderr


def test_mistyped_key_suggests_the_closest(cli):
    result = cli("train", "image-cls", "trainer.max_epoch=3", expect=2)
    line = _error_line(result)
    assert "unknown config key 'trainer.max_epoch'" in line
    assert "trainer.max_epochs" in line


def test_wrongly_typed_value(cli):
    result = cli("train", "image-cls", "trainer.max_epochs=many", expect=2)
    assert "trainer.max_epochs must be an integer" in _error_line(result)


def test_unknown_group_option_lists_available(cli):
    result = cli("train", "image-cls", "model=resnet19", expect=2)
    line = _error_line(result)
    assert "resnet19" in line and "resnet18" in line and "small_cnn" in line


def test_unparseable_override(cli):
    result = cli("train", "image-cls", "trainer.max_epochs=[1,", expect=2)
    assert "cannot parse override" in _error_line(result)


def test_error_in_json_mode_is_one_object(cli):
    result = cli("train", "nope", "--json", expect=2)
    payload = json.loads(result.stdout)
    assert payload["exit_code"] == 2 and "unknown recipe" in payload["error"]


def test_missing_run_id(cli):
    result = cli("evaluate", "image-cls", "run=0123456789abcdef", expect=2)
    assert "run '0123456789abcdef' does not exist" in _error_line(result)


def test_unreachable_mlflow_server(cli):
    result = cli("preprocess", "image-cls", "tracking.uri=http://127.0.0.1:9", expect=1)
    assert "MLflow tracking server http://127.0.0.1:9 is unreachable" in _error_line(result)


def test_debug_shows_the_traceback(cli):
    result = cli("--debug", "train", "image-clz", expect=None)
    assert result.exit_code != 0
    assert result.exception is not None and "unknown recipe" in str(result.exception)


def test_real_subprocess_error_is_one_line(tmp_path):
    proc = subprocess.run(
        [AIAAS, "preprocess", "image-cls", f"data.root={tmp_path / 'missing'}"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "AIAAS_HOME": str(tmp_path / "home")},
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "does not exist" in lines[0]


def _run_ids(cli) -> list[str]:
    return [row["run_id"] for row in cli.json("runs", "-n", "1000")["runs"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "image-cls", "data.batch_size=-1"], "data.batch_size=-1 must be at least 1"),
        (["train", "image-cls", "optim.lr=-5"], "optim.lr=-5 must be above 0"),
        (["train", "image-cls", "trainer.max_epochs=-1"], "trainer.max_epochs=-1 must be at least 1"),
        (["preprocess", "image-cls", "data.image_size=0"], "data.image_size=0 is not a positive number"),
        (["preprocess", "image-cls", "data.root=/nonexistent/images"], "/nonexistent/images does not exist"),
    ],
    ids=["batch_size", "lr", "max_epochs", "image_size", "missing-root"],
)
def test_bad_values_are_usage_errors_that_leave_no_run(cli, fresh_home, args, message):
    """Issue 13 #8: one line, exit 2, no traceback, and no FAILED run left behind."""
    cli("runs")  # the store exists before, so a run created by mistake would show
    result = cli(*args, expect=2)
    assert [line for line in result.stderr.splitlines() if line.strip()] == [_error_line(result)]
    assert message in _error_line(result)
    assert _run_ids(cli) == []


def test_a_usage_error_found_inside_a_run_deletes_that_run(cli, fresh_home, tmp_path):
    """A data root that exists but has one class is only found by scanning it, inside the run: no run is kept."""
    (tmp_path / "pets" / "cat").mkdir(parents=True)
    (tmp_path / "pets" / "cat" / "a.png").write_bytes(b"x")
    cli("runs")
    result = cli("preprocess", "image-cls", f"data.root={tmp_path / 'pets'}", expect=2)
    assert "single class" in _error_line(result)
    assert _run_ids(cli) == []


@pytest.mark.parametrize("limit", ["-5", "0"])
def test_runs_limit_must_be_positive(cli, limit):
    result = cli("runs", "-n", limit, expect=2)
    assert "Traceback" not in result.output and "--limit" in result.output


def test_a_sweep_with_one_bad_value_runs_nothing(cli, fresh_home):
    cli("runs")
    result = cli("train", "image-cls", "-m", "optim.lr=0.001,-1", expect=2)
    assert "optim.lr=-1 must be above 0" in _error_line(result)
    assert _run_ids(cli) == []


def test_help_shows_option_values_the_click_way_and_nothing_after_a_flag(cli):
    import typer

    from aiaas_cli.cli import app

    group = typer.main.get_command(app)
    for name in ("", *group.commands):
        shown = cli(*([name] if name else []), "--help", expect=0).stdout
        assert "<bool>" not in shown and "<str>" not in shown.split("Options")[-1], name
    predict = cli("predict", "--help").stdout
    assert "TEXT" in predict and "INTEGER RANGE" in predict
