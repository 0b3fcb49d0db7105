"""evaluate: a run whose checkpoint is only in the MLflow store is scored without leaving the download behind."""

from __future__ import annotations

import tempfile
from pathlib import Path

from aiaas_cli import workspace


def test_a_downloaded_checkpoint_leaves_no_litter(cli, fresh_home, tmp_path, monkeypatch):
    """Issue 13 #7: each evaluate that downloaded a checkpoint left a 3.5 MB /tmp/tmp…/best.ckpt behind."""
    from aiaas_recipes.common.smoke import colour_folders

    root = colour_folders(tmp_path / "colours")
    args = [f"data.root={root}", "data.image_size=12", "data.batch_size=8", "trainer.max_epochs=1"]
    trained = cli.json("train", "image-cls", *args)
    Path(trained["checkpoint"]).unlink()  # only the store's copy is left: evaluate downloads it
    system_temp = tmp_path / "system-tmp"
    system_temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_temp))
    out = cli.json("evaluate", "image-cls", f"run={trained['run_id']}")
    assert "accuracy" in out["metrics"]
    assert list(system_temp.rglob("*")) == []
    assert not (fresh_home / "tmp").exists() or list((fresh_home / "tmp").iterdir()) == []
    assert not workspace.scratch_dir().joinpath(trained["run_id"]).exists()
