"""`aiaas gallery enroll|list|remove` through a tiny hand-made embedding model (ONNX, a 4 -> 3 matrix) and its
serving module, written here so that no trained model is needed: the registry lookup of the recipe's serving module
is the one part replaced (monkeypatch of `recipes.load`). The recipe comes from the model's own metadata."""

from __future__ import annotations

import json
import textwrap
from types import SimpleNamespace

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from aiaas_cli import recipes

WEIGHTS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=np.float32)
SERVING = """
import numpy as np
from aiaas_cli.serving.runtime import BadInput

class Adapter:
    def decode(self, payload):
        try:
            values = [float(v) for v in payload.decode().split()]
        except (UnicodeDecodeError, ValueError):
            raise BadInput("not four numbers") from None
        if len(values) != 4:
            raise BadInput("not four numbers")
        return np.array(values, np.float32)

    def batch(self, items):
        return {"x": np.stack(items)}

    def postprocess(self, outputs, items, k):
        return [{"embedding": row.tolist()} for row in outputs["embedding"]]

def build_adapter(metadata, **limits):
    return Adapter()
"""


@pytest.fixture()
def model(tmp_path, monkeypatch):
    """model.onnx whose metadata names the serving module above, importable from tmp_path."""
    (tmp_path / "tiny_embed_serving.py").write_text(textwrap.dedent(SERVING))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(recipes, "load", lambda name: SimpleNamespace(serving_module="tiny_embed_serving"))
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["embedding"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", 3])],
        [numpy_helper.from_array(WEIGHTS, "w")],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    meta = {"recipe": "image-embed", "serving_module": "tiny_embed_serving", "input_names": ["x"]}
    helper.set_model_props(proto, {"aiaas": json.dumps(meta)})
    path = tmp_path / "model.onnx"
    onnx.save(proto, path)
    return path


def people(root, rows: dict[str, list[str]]):
    for name, files in rows.items():
        (root / name).mkdir(parents=True)
        for i, text in enumerate(files):
            (root / name / f"{i}.txt").write_text(text)
    return root


def test_enroll_list_identify_remove(cli, tmp_path, model):
    root = people(tmp_path / "people", {"ada": ["1 0 0 0", "0.9 0.1 0 0"], "bob": ["0 1 0 0", "oops"], "eve": ["x"]})
    gallery = str(tmp_path / "gallery")
    out = cli.json("gallery", "enroll", str(root), "--model", str(model), "--gallery", gallery)
    assert out["enrolled"] == {"ada": 2, "bob": 1}
    assert {s["input"] for s in out["skipped"]} == {str(root / "bob" / "1.txt"), str(root / "eve" / "0.txt"), "eve"}
    single = tmp_path / "carol.txt"
    single.write_text("0 0 1 0")
    out = cli.json("gallery", "enroll", str(single), "--name", "carol", "--model", str(model), "-g", gallery)
    assert out["enrolled"] == {"carol": 1}
    listed = cli.json("gallery", "list", "--gallery", gallery)["identities"]
    assert listed == [{"name": "ada", "vectors": 2}, {"name": "bob", "vectors": 1}, {"name": "carol", "vectors": 1}]

    from aiaas_cli.serving.gallery import Gallery

    with Gallery(gallery, 3) as store:  # the embeddings went in: [0, 1, 0] @ WEIGHTS is bob's row
        assert store.identify(np.array([[0, 1, 0]], np.float32), k=1) == [[("bob", pytest.approx(1.0, abs=1e-5))]]
    assert cli.json("gallery", "remove", "bob", "--gallery", gallery)["vectors"] == 1
    assert [r["name"] for r in cli.json("gallery", "list", "-g", gallery)["identities"]] == ["ada", "carol"]


def test_errors_are_one_line_with_their_exit_code(cli, tmp_path, model):
    gallery = str(tmp_path / "gallery")
    root = people(tmp_path / "people", {"ada": ["1 0 0 0"], "bad": ["nope"]})
    missing = cli("gallery", "list", "--gallery", gallery, expect=2)
    assert "no gallery in" in missing.stderr and "Traceback" not in missing.stderr
    assert (
        "sub-folder per identity"
        in cli("gallery", "enroll", "a.txt", "--model", str(model), "-g", gallery, expect=2).stderr
    )
    strict = cli("gallery", "enroll", str(root), "--model", str(model), "-g", gallery, "--strict", expect=1)
    assert "not four numbers" in strict.stderr
    cli("gallery", "enroll", str(root), "--model", str(model), "-g", gallery)
    unknown = cli("gallery", "remove", "nobody", "-g", gallery, expect=1)
    assert unknown.stderr.strip().count("\n") == 0 and "no identity named 'nobody'" in unknown.stderr
    empty = cli("gallery", "enroll", str(root / "ada"), "--name", " ", "--model", str(model), "-g", gallery, expect=1)
    assert "needs a name" in empty.stderr
    assert "does not exist" in cli("gallery", "enroll", str(root), "--model", "no.onnx", "-g", gallery, expect=2).stderr
