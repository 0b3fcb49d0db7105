"""The identity split (no identity in two splits, training identities first), LFW pairs, the built-in faces, the
batch sampler and the losses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.vision.folders import scan
from aiaas_recipes.image_embed import dataset, losses, synth
from aiaas_recipes.image_embed.training import IdentitySampler


def _cfg(**data):
    base = {"image_size": 16, "split": {"val": 0.2, "test": 0.3, "seed": 0}, "pairs": None, "preprocess_workers": 1}
    return OmegaConf.create({**base, **data})


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    return synth.write_faces(tmp_path_factory.mktemp("faces"), identities=10, per_identity=4)


def test_split_is_by_identity_with_training_identities_first(faces, tmp_path):
    manifest = dataset.build(scan(faces), tmp_path, _cfg())
    labels = {split: set(np.load(tmp_path / f"{split}_y.npy").tolist()) for split in ("train", "val", "test")}
    assert not (labels["train"] & labels["val"] or labels["train"] & labels["test"] or labels["val"] & labels["test"])
    assert labels["train"] == set(range(manifest["train_identities"]))  # the margin head's rows
    assert manifest["identities"] == {"train": 5, "val": 2, "test": 3}
    files = (tmp_path / "test_files.txt").read_text().split()
    names = {manifest["classes"][i] for i in labels["test"]}
    assert {f.split("/")[0] for f in files} == names


def test_pairs_file_puts_its_identities_in_test_and_skips_bad_lines(faces, tmp_path):
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("2\nid_001 1 2\nid_001 1 id_007 3\nid_009 1 99\nnonsense line here now too\n")
    out = tmp_path / "out"
    out.mkdir()
    manifest = dataset.build(scan(faces), out, _cfg(pairs=str(pairs)))
    assert manifest["pairs"] == 2
    test_names = set(manifest["classes"][-manifest["identities"]["test"] :])
    assert {"id_001", "id_007"} <= test_names
    rows = np.load(out / "test_pairs.npy")
    assert rows[:, 2].tolist() == [1, 0]
    assert len([s for s in manifest["skipped"] if s["file"] == str(pairs)]) == 2


def test_too_few_identities_and_presplit_folders_are_refused(tmp_path):
    few = synth.write_faces(tmp_path / "few", identities=3, per_identity=2)
    with pytest.raises(ConfigError, match="too few"):
        dataset.build(scan(few), tmp_path, _cfg())
    with pytest.raises(ConfigError, match="fractions"):
        dataset.check_settings(_cfg(split={"val": 0.0, "test": 0.3, "seed": 0}))


def test_builtin_faces_are_deterministic(tmp_path):
    a = synth.write_faces(tmp_path / "a", identities=2, per_identity=2)
    b = synth.write_faces(tmp_path / "b", identities=2, per_identity=2)
    assert (a / "id_001" / "01.png").read_bytes() == (b / "id_001" / "01.png").read_bytes()


def test_sampler_gives_groups_of_one_identity():
    labels = np.repeat(np.arange(6), 4)
    order = list(IdentitySampler(labels, per_identity=2, seed=0))
    assert sorted(order) == list(range(24))
    assert all(labels[order[i]] == labels[order[i + 1]] for i in range(0, 24, 2))


@pytest.mark.parametrize("kind", losses.LOSSES)
def test_losses_fall_when_embeddings_cluster_by_identity(kind):
    torch.manual_seed(0)
    target = torch.arange(4).repeat_interleave(4)
    loss = losses.build_loss(kind, 8, 4, None, 30.0)
    if kind != "triplet":
        loss.weight.data = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
        centres = loss.weight.data
    else:
        centres = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    tight = torch.nn.functional.normalize(centres[target] + 0.01 * torch.randn(16, 8), dim=-1)
    loose = torch.nn.functional.normalize(torch.randn(16, 8), dim=-1)
    assert loss(tight, target) < loss(loose, target)
