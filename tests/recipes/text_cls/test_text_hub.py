"""text-cls with a hub model (model=hf) on a tiny BERT made here and loaded as model.name=<folder> (the real loading
path; only the download from the Hub cannot run here: no internet). Fast checks of the tokenizer, the dataset's cache
key, offline mode and the torch-free serving half; the slow end-to-end runs are in test_text_hub_pipeline.py."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from textfiles import make_rows, write_csv

from aiaas_cli import config, recipes
from aiaas_recipes.common.text import hub_tokens
from tests.recipes.common.hub_models import tiny_bert

TEXTS = [text for text, _ in make_rows(60)]


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return tiny_bert(tmp_path_factory.mktemp("bert") / "tiny", TEXTS)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return write_csv(tmp_path_factory.mktemp("texts") / "texts.csv", make_rows(60))


def test_served_tokenizer_gives_the_ids_transformers_gives(bert):
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(bert)
    hub = hub_tokens.load(auto.backend_tokenizer.to_str(), 8, auto.pad_token_id, ["input_ids", "attention_mask"])
    texts = ["the goal", TEXTS[3] + " " + TEXTS[4], "[CLS] x", "zzz qqq"]
    ours = hub_tokens.encode(hub, texts)
    theirs = auto(texts, truncation=True, max_length=8, padding="max_length", return_tensors="np")
    assert np.array_equal(ours.ids, theirs["input_ids"])
    feeds = hub_tokens.feeds(hub.inputs, ours.ids, ours.lengths, ours.types)
    assert np.array_equal(feeds["attention_mask"], theirs["attention_mask"])
    assert ours.truncated.tolist() == [False, True, False, False] and ours.full_lengths[1] > 8


def test_dataset_key_follows_the_model_and_its_tokenizer(bert, table, tmp_path):
    recipe = recipes.load("text-cls")
    other = tiny_bert(tmp_path / "cased", TEXTS, lowercase=False)  # same texts, another tokenizer

    def key(folder, *more):
        overrides = [f"data.path={table}", "model=hf", f"model.name={folder}", *more]
        return recipe.fingerprint(config.compose(recipe, overrides))

    assert key(bert) == key(bert)
    assert key(bert) != key(other)
    assert key(bert) != key(bert, "data.max_length=32")
    own = recipe.fingerprint(config.compose(recipe, [f"data.path={table}"]))
    assert own != key(bert)


def test_offline_without_the_model_in_the_cache_is_one_line(cli, table, tmp_path):
    result = cli("preprocess", "text-cls", f"data.path={table}", "model=hf", "model.name=aiaas-tests/not-cached-bert",
                 "offline=true", expect=None)  # fmt: skip
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.exit_code != 0 and len(errors) == 1, result.stderr
    assert "aiaas-tests/not-cached-bert" in errors[0] and "not in the cache" in errors[0] and "offline" in errors[0]
    assert "Traceback" not in result.stderr


SERVING_CHECK = """
import json, sys
import numpy as np
from aiaas_recipes.text_cls.serving import build_adapter
adapter = build_adapter(json.loads(sys.argv[1]))
items = [adapter.decode(text) for text in ("the striker scored", "garlic " * 50)]
feeds = adapter.batch(items)
answer = adapter.postprocess({"logits": np.zeros((2, 3), np.float32)}, items, 2)
heavy = sorted(name for name in ("torch", "transformers") if name in sys.modules)
print(json.dumps({"inputs": sorted(feeds), "shape": list(feeds["input_ids"].shape), "heavy": heavy,
                  "truncated": [a["truncated"] for a in answer]}))
"""


def test_serving_tokenizes_without_torch_or_transformers(bert):
    metadata = {
        "labels": ["food", "sports", "tech"],
        "max_length": 16,
        "tokenizer": (bert / "tokenizer.json").read_text(),
        "hub": {"pad_id": 0, "inputs": ["input_ids", "attention_mask", "token_type_ids"]},
    }
    done = subprocess.run([sys.executable, "-c", SERVING_CHECK, json.dumps(metadata)], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.splitlines()[-1])
    assert answer["heavy"] == []  # a serving process has neither loaded
    assert answer["inputs"] == ["attention_mask", "input_ids", "token_type_ids"] and answer["shape"] == [2, 16]
    assert answer["truncated"] == [False, True]
